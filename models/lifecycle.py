"""The lifecycle machinery: states, events and one transition table per workflow kind, as data.

Each lifecycle's table is assembled once from declarations that live beside what they describe:
an operator event's model declares the rows it may take (models/<lifecycle>/events.py), a clock
kind declares the timer event it fires and that event's rows (models/<lifecycle>/timers.py).
Workflows consult the table (their update validators refuse what is not in it), the API turns
its refusals into 409 answers that list the allowed events, and `describe`/`to_mermaid` render
it for GET /v1/lifecycle and the docs. Guards are named and described in words here; their
predicates live with the domain logic that owns the data they read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

S = TypeVar("S", bound=StrEnum)

EventSource = Literal["operator", "timer"]


@dataclass(frozen=True)
class Row(Generic[S]):
    """What an event declares: from any of `sources` it moves to `target` (None: it stays in
    the state it came from) when `guard` holds (None: always)."""

    sources: tuple[S, ...]
    target: S | None = None
    guard: str | None = None


def row(*sources: S, to: S | None = None, guard: str | None = None) -> Row[S]:
    return Row(tuple(sources), to, guard)


@dataclass(frozen=True)
class Transition(Generic[S]):
    source: S
    event: str
    target: S
    guard: str | None = None


@dataclass(frozen=True)
class EventSpec(Generic[S]):
    """One event of a lifecycle with the rows it may take."""

    name: str
    source: EventSource
    rows: tuple[Row[S], ...]
    # Keeps the record (an assignee, a note) without touching its course: never a next step
    # of the lifecycle, never drawn (it loops on every state it is declared in).
    bookkeeping: bool = False


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    name: str
    states: type[S]
    initial: S
    terminal: frozenset[S]
    guards: Mapping[str, str]
    events: tuple[EventSpec[S], ...]
    transitions: tuple[Transition[S], ...] = field(init=False)
    _by_key: dict[tuple[S, str], tuple[Transition[S], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        names = [e.name for e in self.events]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ValueError(f"{self.name}: events declared twice: {sorted(duplicated)}")
        transitions = [
            Transition(source, spec.name, r.target or source, r.guard)
            for spec in self.events
            for r in spec.rows
            for source in r.sources
        ]
        by_key: dict[tuple[S, str], list[Transition[S]]] = {}
        for t in transitions:
            if t.guard is not None and t.guard not in self.guards:
                raise ValueError(f"{self.name}: guard {t.guard!r} is not described")
            by_key.setdefault((t.source, t.event), []).append(t)
        for (source, event), options in by_key.items():
            if len(options) > 1 and any(o.guard is None for o in options):
                raise ValueError(f"{self.name}: {source}+{event} mixes guarded and unguarded rows")
        # The transitions are the record's course; bookkeeping loops are only looked up.
        kept = {e.name for e in self.events if e.bookkeeping}
        course = tuple(t for t in transitions if t.event not in kept)
        object.__setattr__(self, "transitions", course)
        object.__setattr__(self, "_by_key", {k: tuple(v) for k, v in by_key.items()})

    @property
    def event_names(self) -> list[str]:
        return [e.name for e in self.events]

    @property
    def timer_events(self) -> frozenset[str]:
        return frozenset(e.name for e in self.events if e.source == "timer")

    @property
    def operator_events(self) -> list[str]:
        return [e.name for e in self.events if e.source == "operator"]

    def options(self, state: S, event: str) -> tuple[Transition[S], ...]:
        return self._by_key.get((state, event), ())

    def allows(self, state: S, event: str) -> bool:
        return bool(self.options(state, event))

    @property
    def bookkeeping_events(self) -> list[str]:
        return [e.name for e in self.events if e.bookkeeping]

    def allowed_events(self, state: S, *, include_timer_events: bool = False) -> list[str]:
        """The next steps of the record's course from `state` (events with a row from it), in
        the order the events are declared; bookkeeping events are not steps."""
        return [
            spec.name
            for spec in self.events
            if (include_timer_events or spec.source == "operator")
            and not spec.bookkeeping
            and self.options(state, spec.name)
        ]

    def bookkeeping_allowed(self, state: S) -> list[str]:
        """The bookkeeping events (assignee, notes) an operator may record in `state`."""
        return [n for n in self.bookkeeping_events if self.options(state, n)]

    def is_operator_event(self, event: str) -> bool:
        return event in self.operator_events

    def resolve(self, state: S, event: str, guard_holds: Callable[[str], bool]) -> S | None:
        """Next state, or None when no row (or no row whose guard holds) matches."""
        for t in self.options(state, event):
            if t.guard is None or guard_holds(t.guard):
                return t.target
        return None

    def describe(self) -> dict[str, Any]:
        """The table as JSON-able data (served by GET /v1/lifecycle). Bookkeeping events are
        listed with the states they may be recorded in, not as transitions."""
        return {
            "name": self.name,
            "initial": self.initial.value,
            "states": [s.value for s in self.states],
            "terminal": sorted(s.value for s in self.terminal),
            "events": [
                {"name": e.name, "source": e.source}
                if not e.bookkeeping
                else {
                    "name": e.name,
                    "source": e.source,
                    "bookkeeping": True,
                    "states": [s.value for r in e.rows for s in r.sources],
                }
                for e in self.events
            ],
            "guards": dict(self.guards),
            "transitions": [
                {
                    "from": t.source.value,
                    "event": t.event,
                    "to": t.target.value,
                    "guard": t.guard,
                }
                for t in self.transitions
            ],
        }

    def to_mermaid(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        timers = self.timer_events
        for t in self.transitions:
            label = t.event + (f" [{t.guard}]" if t.guard else "")
            if t.event in timers:
                label = f"⏰ {label}"
            lines.append(f"    {t.source.value} --> {t.target.value}: {label}")
        for s in sorted(self.terminal, key=lambda x: x.value):
            lines.append(f"    {s.value} --> [*]")
        return "\n".join(lines)


def assemble(
    name: str,
    states: type[S],
    *,
    initial: S,
    terminal: Iterable[S],
    guards: Mapping[str, str],
    operator: Sequence[tuple[str, Sequence[Row[S]]]],
    timers: Sequence[tuple[str, Sequence[Row[S]]]],
    bookkeeping: Sequence[str] = (),
) -> Lifecycle[S]:
    """One lifecycle from the rows its operator events and its clocks declare; `bookkeeping`
    names the operator events that keep the record without moving it."""
    return Lifecycle(
        name=name,
        states=states,
        initial=initial,
        terminal=frozenset(terminal),
        guards=dict(guards),
        events=(
            *(EventSpec(n, "operator", tuple(rows), n in bookkeeping) for n, rows in operator),
            *(EventSpec(n, "timer", tuple(rows)) for n, rows in timers),
        ),
    )
