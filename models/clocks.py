"""Clock machinery shared by the application and the enrollment reducers.

Both keep open and closed clocks, send each reminder once by a stable key, apply a clock's
consequence when its time comes, and record every event with the clocks it opened and closed.
This module holds that once; models/application/ and models/enrollment/ hold their own rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol, Self, TypeVar, cast

from pydantic import BaseModel

from models.calendar import AnyClockKind, Clock, local_date, open_clock
from models.notices import Notice, NoticeKind
from models.records import EventRecord, Outcome, record_line, working_copy
from models.rules import RuleKey

ClockOutcome = Literal["satisfied", "expired", "superseded"]


class ClosedClock(BaseModel):
    clock: Clock
    closed_on: date
    outcome: ClockOutcome
    by_event_seq: int


class ClockedState(Protocol):
    """What the shared machinery needs of a reducer's state."""

    time_zone: str
    clocks: list[Clock]
    closed_clocks: list[ClosedClock]
    reminders_sent: list[str]

    @property
    def status(self) -> StrEnum: ...

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self: ...


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

    def record(
        self,
        line: type[EventRecord[Any]],
        event: str,
        actor: str,
        role: str | None,
        reason: str,
        when: date,
        now: datetime,
        before: StrEnum | None,
    ) -> None:
        """Append this step's line (clocks opened and closed, notes) to the record's log."""
        record_line(
            self.state.events,
            line,
            seq=self.seq,
            event=event,
            actor=actor,
            role=role,
            reason=reason,
            when=when,
            now=now,
            before=before,
            after=self.state.status,
            opened=self.opened,
            closed=self.closed,
            notes=self.notes,
        )
        self.state.updated_at = now

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
                rule=clock.rule,
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


def fire_due(
    state: _State,
    now: datetime,
    *,
    subject_prefix: Callable[[_State], str],
    expire: Callable[[_State, Clock, datetime], tuple[_State, Notice]],
) -> Outcome[_State]:
    """Send due reminders and apply the consequence of every clock whose time has come, on a
    copy of `state`. Idempotent: a second call at the same instant changes nothing."""
    if not anything_due(state, now):
        return Outcome(state=state)
    settled, notices = settle(
        # Both record states are pydantic models with an append-only `events` log.
        cast(_State, working_copy(cast(BaseModel, state))),
        now,
        subject_prefix=subject_prefix,
        status=lambda st: st.status.value,
        expire=expire,
    )
    return Outcome(state=settled, notices=notices)


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
        rule=clock.rule,
    )


def expiry_reason(clock: Clock) -> str:
    """The reason the engine records for a consequence: the rule and where it comes from."""
    return f"{clock.rule.name} expired ({clock.rule.citation})"
