"""Reducer machinery shared by the application and the enrollment domains.

Both reducers are pure functions of (state, event, now) that keep open and closed clocks, send
each reminder once by a stable key, record every event with the clocks it opened and closed, and
refuse illegal events with one exception type. This module holds that machinery once; the two
domain modules (models/application.py, models/enrollment.py) hold only their own rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from models.calendar import AnyClockKind, Clock, local_date, open_clock
from models.notices import Notice, NoticeKind
from models.rules import RuleKey

Actor = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]

ClockOutcome = Literal["satisfied", "expired", "superseded"]


class ClosedClock(BaseModel):
    clock: Clock
    closed_on: date
    outcome: ClockOutcome
    by_event_seq: int


Status = TypeVar("Status", bound=str)


class EventRecord(BaseModel, Generic[Status]):
    """One line of a record's own log, in either lifecycle (the Temporal history is the full
    audit trail). `EventRecord[str]` reads the records of any workflow."""

    seq: int
    event: str
    actor: str
    role: str | None = None
    reason: str
    event_date: date
    recorded_at: datetime
    from_status: Status | None
    to_status: Status
    clocks_opened: list[str] = Field(default_factory=list)
    clocks_closed: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class OperatorEvent(BaseModel):
    """Base of every event an operator records: who, why, and the date it happened."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    event: str
    actor: Actor
    role: str | None = None
    reason: Reason

    def event_date(self) -> date | None:
        """The date the thing happened (letter date, receipt date...), None = today."""
        return None


RefusalCode = Literal[
    "IllegalTransition", "InvalidEventData", "PresubmissionChecksFailed", "ReenrollmentBarred"
]


class EventRefused(Exception):
    """Why an event cannot be recorded. The workflow turns it into an ApplicationError whose type
    is `code`; the API into a 409 (illegal in this state) or 422 (bad data)."""

    def __init__(
        self,
        code: RefusalCode,
        message: str,
        *,
        status: str,
        allowed_events: Sequence[str],
        field: str | None = None,
        findings: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.allowed_events = list(allowed_events)
        self.field = field
        self.findings = list(findings)

    def details(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "allowed_events": self.allowed_events,
            "field": self.field,
            "findings": [f.model_dump(mode="json") for f in self.findings],
        }


class ClockedState(Protocol):
    """What the shared machinery needs of a reducer's state."""

    time_zone: str
    clocks: list[Clock]
    closed_clocks: list[ClosedClock]
    reminders_sent: list[str]


class ClockStep:
    """Mutable working copy for one event: opens and closes clocks and collects the record's
    clock ids and notes. Clock ids are `<kind>-<seq>`: unique as long as `seq` is."""

    def __init__(self, state: Any, seq: int, today: date) -> None:
        self.state = state
        self.seq = seq
        self.today = today
        self.opened: list[str] = []
        self.closed: list[str] = []
        self.notes: list[str] = []
        self.notices: list[Notice] = []

    def open(
        self,
        kind: AnyClockKind,
        rule_key: Any,
        started_on: date,
        started_by: str,
        consequence: str,
        period_start: date | None = None,
        **shape: Any,
    ) -> Clock:
        clock = open_clock(
            clock_id=f"{kind.value}-{self.seq}",
            kind=kind,
            rule_key=RuleKey(rule_key),
            started_on=started_on,
            started_by=started_by,
            time_zone=self.state.time_zone,
            consequence=consequence,
            period_start=period_start,
            **shape,
        )
        self.state.clocks.append(clock)
        self.opened.append(clock.clock_id)
        self.notes.append(clock.explanation)
        if clock.last_day < self.today:
            self.notes.append(
                f"This {clock.rule.name.lower()} already ended on {clock.last_day.isoformat()}: "
                f"{clock.consequence} now."
            )
        return clock

    def close(
        self,
        kinds: Sequence[AnyClockKind] | None,
        outcome: ClockOutcome,
        *,
        clock_ids: Sequence[str] | None = None,
    ) -> list[Clock]:
        """Close the open clocks of the given kinds (None = all), or exactly `clock_ids`."""
        keep: list[Clock] = []
        closed: list[Clock] = []
        for c in self.state.clocks:
            chosen = c.clock_id in clock_ids if clock_ids is not None else None
            if chosen is None:
                chosen = kinds is None or c.kind in kinds
            if chosen:
                self.state.closed_clocks.append(
                    ClosedClock(
                        clock=c, closed_on=self.today, outcome=outcome, by_event_seq=self.seq
                    )
                )
                self.closed.append(c.clock_id)
                closed.append(c)
            else:
                keep.append(c)
        self.state.clocks = keep
        return closed


def reminder_key(clock: Clock, days_before: int) -> str:
    return f"{clock.clock_id}:reminder:{days_before}"


def due_reminders(
    state: ClockedState, now: datetime, today: date, subject_prefix: str, status: str
) -> list[Notice]:
    """Reminders due by `now` for clocks not yet fired, each sent once (its key goes into
    `state.reminders_sent`, which this mutates). After a back-dated event or an outage only the
    latest pending reminder of a clock is sent; the earlier ones are marked as sent."""
    notices: list[Notice] = []
    for clock in sorted(state.clocks, key=lambda c: c.fires_at):
        due = [r for r in clock.reminders if r.at <= now and clock.fires_at > now]
        pending = [r for r in due if reminder_key(clock, r.days_before) not in state.reminders_sent]
        if not pending:
            continue
        latest = min(pending, key=lambda r: r.days_before)
        for r in pending:
            state.reminders_sent.append(reminder_key(clock, r.days_before))
        notices.append(
            Notice(
                key=reminder_key(clock, latest.days_before),
                kind=NoticeKind.REMINDER,
                subject=(
                    f"{subject_prefix}: {clock.rule.name} due "
                    f"{clock.last_day} ({clock.days_left(today)} days left)"
                ),
                body=clock.explanation,
                status=status,
                clock_id=clock.clock_id,
                due_date=clock.last_day,
            )
        )
    return notices


def next_wake(clocks: Sequence[Clock], reminders_sent: Sequence[str]) -> datetime | None:
    """The next instant a clock fires or one of its unsent reminders is due."""
    instants = [c.fires_at for c in clocks]
    for c in clocks:
        instants += [
            r.at for r in c.reminders if reminder_key(c, r.days_before) not in reminders_sent
        ]
    return min(instants) if instants else None


def open_clock_of(clocks: Sequence[Clock], kind: AnyClockKind) -> Clock | None:
    for c in clocks:
        if c.kind == kind:
            return c
    return None


_State = TypeVar("_State", bound=ClockedState)


def settle(
    state: _State,
    now: datetime,
    *,
    subject_prefix: Callable[[_State], str],
    status: Callable[[_State], str],
    expire: Callable[[_State, Clock, datetime], tuple[_State, Notice]],
) -> tuple[_State, list[Notice]]:
    """Send every reminder due by `now` and apply every consequence due by `now`, oldest first,
    until nothing is left: a consequence may open a clock whose reminders are already due (the
    CAP window of a denial the engine applied). Idempotent at a given instant."""
    notices: list[Notice] = []
    today = local_date(now, state.time_zone)
    while True:
        notices += due_reminders(state, now, today, subject_prefix(state), status(state))
        expired = [c for c in state.clocks if c.fires_at <= now]
        if not expired:
            return state, notices
        clock = min(expired, key=lambda c: (c.fires_at, c.clock_id))
        state, notice = expire(state, clock, now)
        notices.append(notice)


def anything_due(state: ClockedState, now: datetime) -> bool:
    """Whether `settle` at `now` would do anything: a consequence or an unsent reminder due.
    Lets callers skip copying a state that nothing has happened to."""
    for c in state.clocks:
        if c.fires_at <= now:
            return True
        for r in c.reminders:
            if r.at <= now and reminder_key(c, r.days_before) not in state.reminders_sent:
                return True
    return False


def expiry_notice(clock: Clock, subject: str, notes: Sequence[str], status: str) -> Notice:
    """What the engine tells the team when a clock's consequence takes effect."""
    return Notice(
        key=f"{clock.clock_id}:expired",
        kind=NoticeKind.CONSEQUENCE,
        subject=subject,
        body=" ".join(notes),
        status=status,
        clock_id=clock.clock_id,
        due_date=clock.last_day,
    )


def expiry_reason(clock: Clock) -> str:
    """The reason the engine records for a consequence: the rule and where it comes from."""
    return f"{clock.rule.name} expired ({clock.rule.citation})"
