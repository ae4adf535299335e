"""The record machinery both lifecycles share: operator events, refusals, the record's own log.

An application and an enrollment are each a pure reducer over a state: `check_event` refuses
what the lifecycle table or the data do not allow (one exception type, safe in an update
validator), `apply_event` returns the next state and the notices to send. What they do the same
way lives here once; models/application/ and models/enrollment/ hold only their own rules.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum, StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from models.lifecycle import Lifecycle, Row
from models.notices import Notice, NoticeKind
from models.text import Line, Paragraph

Actor = Annotated[Line, Field(min_length=1, max_length=200)]
Reason = Annotated[Paragraph, Field(min_length=1, max_length=2000)]
# Who works on a record: a short free-text name or email (the team's own convention).
Assignee = Annotated[Line, Field(min_length=1, max_length=200)]
NoteText = Annotated[Paragraph, Field(min_length=1, max_length=2000)]
# A record keeps its latest notes; older ones stay in its log and the audit trail. Bounded so
# a decades-long enrollment's state (carried across continue-as-new) does not grow forever.
MAX_NOTES = 50

Status = TypeVar("Status", bound=str)
S = TypeVar("S", bound=StrEnum)


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
    """Base of every event an operator records: who, why, and the date it happened.

    A concrete event declares, beside its fields, everything the engine needs to know of it:
    `date_field` names the field holding the date it happened (None: the day it is recorded) and
    `rows` the lifecycle rows it may take. Each lifecycle's base class collects its events as
    they are defined (`catalog`), so adding an event is writing its class, and nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    date_field: ClassVar[str | None] = None
    rows: ClassVar[tuple[Row[Any], ...]] = ()
    # Keeps the record (who works on it, notes) without moving it: see BookkeepingEvent.
    bookkeeping: ClassVar[bool] = False
    catalog: ClassVar[list[type[OperatorEvent]]]

    event: str
    actor: Actor
    role: Annotated[Line, Field(max_length=100)] | None = None
    reason: Reason

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "catalog" in cls.__dict__:  # a lifecycle's base: starts its own catalog
            return
        if "event" in inspect.get_annotations(cls):
            cls.catalog.append(cls)

    @classmethod
    def event_name(cls) -> str:
        name = cls.model_fields["event"].default
        assert isinstance(name, str), f"{cls.__name__} declares no event name"
        return name

    def event_date(self) -> date | None:
        """The date the thing happened (letter date, receipt date...), None = today."""
        if self.date_field is None:
            return None
        value = getattr(self, self.date_field)
        assert value is None or isinstance(value, date)
        return value


def operator_rows(catalog: Sequence[type[OperatorEvent]]) -> list[tuple[str, Sequence[Row[Any]]]]:
    """The operator half of a lifecycle table, from the events' own declarations."""
    return [(m.event_name(), m.rows) for m in catalog]


def bookkeeping_events(catalog: Sequence[type[OperatorEvent]]) -> list[str]:
    """The names of the catalog's bookkeeping events (models/lifecycle.py `assemble`)."""
    return [m.event_name() for m in catalog if m.bookkeeping]


def event_models(catalog: Sequence[type[OperatorEvent]]) -> dict[str, type[OperatorEvent]]:
    """Event name -> its payload model (the API validates and documents `data` with it)."""
    return {m.event_name(): m for m in catalog}


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
        findings: Sequence[BaseModel] = (),
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


class Refusals:
    """The refusals of one record as it is now: each names the state and the events allowed."""

    def __init__(self, status: StrEnum, allowed: Sequence[str], time_zone: str) -> None:
        self.status = status.value
        self.allowed = list(allowed)
        self.time_zone = time_zone

    def data(
        self, message: str, field: str | None, findings: Sequence[BaseModel] = ()
    ) -> EventRefused:
        code: RefusalCode = "PresubmissionChecksFailed" if findings else "InvalidEventData"
        return EventRefused(
            code,
            message,
            status=self.status,
            allowed_events=self.allowed,
            field=field,
            findings=findings,
        )

    def barred(self, message: str, field: str) -> EventRefused:
        return EventRefused(
            "ReenrollmentBarred",
            message,
            status=self.status,
            allowed_events=self.allowed,
            field=field,
        )

    def illegal(self, event: str, record: str, ended: str = "") -> EventRefused:
        return EventRefused(
            "IllegalTransition",
            f"'{event}' is not allowed while the {record} is '{self.status}'.{ended} "
            f"Allowed now: {', '.join(self.allowed) or 'nothing'}.",
            status=self.status,
            allowed_events=self.allowed,
        )

    def not_before(self, when: date, earliest: date | None, what: str, field: str) -> None:
        if earliest is not None and when < earliest:
            raise self.data(
                f"{field} {when.isoformat()} is before {what} ({earliest.isoformat()}); "
                "check the date on the letter or in PECOS.",
                field,
            )

    def after_recorded(
        self, when: date, earlier: date | None, what: str, first: str, field: str
    ) -> None:
        """`when` answers something recorded earlier (a decision on a request): refused when
        that was never recorded, or when `when` predates it."""
        if earlier is None:
            raise self.data(f"No {what} was recorded: record {first} first.", field)
        self.not_before(when, earlier, f"the {what}", field)

    def not_future(self, when: date, today: date, field: str | None) -> None:
        """A date in the future is refused (docs/regulation.md, "Counting days")."""
        if when > today:
            raise self.data(
                f"{field} {when.isoformat()} is in the future (today is {today.isoformat()} in "
                f"{self.time_zone}); record events on or after the day they happen.",
                field,
            )


def check_allowed(
    lifecycle: Lifecycle[S], allowed: Sequence[str], refuse: Refusals, event: str, ended: str
) -> None:
    """Refuse an event the table does not allow now (`allowed` already leaves out rows whose
    guard cannot hold)."""
    if event not in allowed:
        raise refuse.illegal(event, lifecycle.name, ended)


StateT = TypeVar("StateT")
LoggedState = TypeVar("LoggedState", bound=BaseModel)
_V = TypeVar("_V")


def working_copy(state: LoggedState) -> LoggedState:
    """A copy of a record's state for a reducer to change: what the reducer may change in place is
    copied, what it cannot is shared.

    Shared: values that cannot change (dates, strings, numbers, enums), frozen models (the clocks,
    their reminders and rules: a reducer replaces them, and none holds a mutable container, which
    tests/unit/test_working_copy.py checks for every model a state can hold), and the lines of
    the record's own log (records only append; a line is never changed once written). Copied:
    lists, dicts and the other models. `model_copy(deep=True)` copied all of it, through the
    generic `deepcopy`, for every event and every due clock: 6% of the sandbox's time in an
    8-year simulation, growing with the record's age (issue 22)."""
    copied = _copied(state, keep="events")
    copied.__dict__["events"] = list(state.__dict__["events"])
    return copied


_IMMUTABLE = (str, int, float, bool, type(None), date, timedelta, Enum)


def _copied(value: _V, keep: str | None = None) -> _V:
    """`value` copied as working_copy says; a model's field named `keep` is left to the caller."""
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, BaseModel):
        if value.model_config.get("frozen"):
            return value
        copy = value.model_copy()  # its own __dict__, fields-set and private attributes
        for name, item in value.__dict__.items():
            if name != keep:
                copy.__dict__[name] = _copied(item)
        if value.__pydantic_private__:
            object.__setattr__(copy, "__pydantic_private__", deepcopy(value.__pydantic_private__))
        return copy
    if isinstance(value, list):
        return cast(_V, [_copied(item) for item in value])
    if isinstance(value, dict):
        return cast(_V, {key: _copied(item) for key, item in value.items()})
    if isinstance(value, tuple) and all(isinstance(i, _IMMUTABLE) for i in value):
        return value
    return deepcopy(value)


@dataclass
class Outcome(Generic[StateT]):
    """The next state of a record and what to tell people about the step that made it."""

    state: StateT
    notices: list[Notice] = field(default_factory=list)


def record_line(
    events: list[Any],
    line: type[EventRecord[Any]],
    *,
    seq: int,
    event: str,
    actor: str,
    role: str | None,
    reason: str,
    when: date,
    now: datetime,
    before: StrEnum | None,
    after: StrEnum,
    opened: Sequence[str] = (),
    closed: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> None:
    """Append one line (of the record's own `line` type) to a record's own log."""
    events.append(
        line(
            seq=seq,
            event=event,
            actor=actor,
            role=role,
            reason=reason,
            event_date=when,
            recorded_at=now,
            from_status=before,
            to_status=after,
            clocks_opened=list(opened),
            clocks_closed=list(closed),
            notes=list(notes),
        )
    )


def event_notice(
    seq: int, prefix: str, event: str, before: StrEnum, after: StrEnum, notes: Sequence[str]
) -> Notice:
    """What the engine tells the team about an event it recorded."""
    return Notice(
        key=f"event-{seq}",
        kind=NoticeKind.EVENT,
        subject=f"{prefix}: {event} ({before} -> {after})",
        body=" ".join(notes) or f"{event} recorded.",
        status=after.value,
    )


class RecordNote(BaseModel):
    """A note an operator left on a record: free text, with who wrote it and when."""

    seq: int
    text: str
    actor: str
    role: str | None = None
    recorded_at: datetime


class KeptRecord(Protocol):
    """What bookkeeping events change on a record's state (both lifecycles have it)."""

    assignee: str | None
    notes: list[RecordNote]


class BookkeepingEvent(OperatorEvent):
    """An event that keeps the record without moving it: it changes no status, opens and
    closes no clock, and leaves an engine consequence's late-recording grace running (it is
    not an outcome). Audited like any event: who, when and why are in the record's log and in
    the workflow history. A lifecycle's concrete event mixes one of these into its own base."""

    bookkeeping: ClassVar[bool] = True

    def keep(self, state: KeptRecord, seq: int, now: datetime) -> str:
        """Change `state` (a copy) and say what changed, for the record's log."""
        raise NotImplementedError


class Assignment(BookkeepingEvent):
    """Who works on the record now; null unassigns it."""

    assignee: Assignee | None

    def keep(self, state: KeptRecord, seq: int, now: datetime) -> str:
        state.assignee = self.assignee
        return f"Assigned to {self.assignee}." if self.assignee else "Unassigned."


class NoteAddition(BookkeepingEvent):
    """A free-text note on the record (what was said on a call, where a document is)."""

    text: NoteText

    def keep(self, state: KeptRecord, seq: int, now: datetime) -> str:
        note = RecordNote(
            seq=seq, text=self.text, actor=self.actor, role=self.role, recorded_at=now
        )
        state.notes = [*state.notes, note][-MAX_NOTES:]
        return "Note added."


KeptT = TypeVar("KeptT", bound=BaseModel)


def keep_record(
    state: KeptT,
    request: OperatorEvent,
    now: datetime,
    *,
    seq: int,
    status: StrEnum,
    today: date,
    line: type[EventRecord[Any]],
    events: list[Any],
) -> None:
    """Apply a bookkeeping event to `state` (already a copy) and log it at `seq`; the status
    stays as it is."""
    assert isinstance(request, BookkeepingEvent)
    said = request.keep(state, seq, now)  # type: ignore[arg-type]
    state.updated_at = now  # type: ignore[attr-defined]
    record_line(
        events,
        line,
        seq=seq,
        event=request.event,
        actor=request.actor,
        role=request.role,
        reason=request.reason,
        when=today,
        now=now,
        before=status,
        after=status,
        notes=[said],
    )


def check_bookkeeping(
    lifecycle: Lifecycle[S], status: S, refuse: Refusals, event: str, ended: str
) -> None:
    """Refuse a bookkeeping event in a state its rows leave out."""
    if not lifecycle.allows(status, event):
        raise refuse.illegal(event, lifecycle.name, ended)
