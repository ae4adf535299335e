"""The application lifecycle table (models/lifecycle.py, models/application/; docs/regulation.md,
"The application")."""

import json
from collections import deque
from enum import StrEnum

import pytest

from models.application import (
    APPLICATION_LIFECYCLE,
    EVENT_MODELS,
    EXPIRY_EVENT,
    ApplicationOperatorEvent,
    ApplicationStatus,
)
from models.calendar import ClockKind
from models.lifecycle import assemble, row

L = APPLICATION_LIFECYCLE
S = ApplicationStatus
# Every event of the table by name, for readable assertions (members equal their names).
E = StrEnum("E", {name.upper(): name for name in L.event_names})  # type: ignore[misc]

OPERATOR_EVENTS = [e for e in E if e not in L.timer_events]
NON_TERMINAL = [s for s in S if s not in L.terminal]


def _reachable_from(start: S) -> set[S]:
    seen = {start}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        for t in L.transitions:
            if t.source == s and t.target not in seen:
                seen.add(t.target)
                queue.append(t.target)
    return seen


# --- shape ---------------------------------------------------------------------------------


def test_initial_state_is_draft():
    assert L.initial == S.DRAFT
    assert L.states is S
    # The operator events are exactly the event models, in the order they are declared.
    assert L.operator_events == [m.event_name() for m in ApplicationOperatorEvent.catalog]
    assert list(EVENT_MODELS) == L.operator_events


def test_terminal_states():
    assert L.terminal == {S.APPROVED, S.DENIED, S.REJECTED, S.RETURNED, S.WITHDRAWN}


def test_every_state_is_reachable_from_draft():
    assert _reachable_from(S.DRAFT) == set(S)


def test_every_state_and_event_appears_in_the_table():
    assert {t.source for t in L.transitions} | {t.target for t in L.transitions} == set(S)
    # Bookkeeping events loop on every state: looked up, never part of the course.
    assert {t.event for t in L.transitions} == set(E) - set(L.bookkeeping_events)
    for e in L.bookkeeping_events:
        assert all(L.allows(s, e) for s in S)


def test_no_duplicate_rows():
    keys = [(t.source, t.event, t.guard) for t in L.transitions]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("state", NON_TERMINAL)
def test_every_non_terminal_state_has_an_operator_event_out(state):
    out = [t for t in L.transitions if t.source == state and t.event not in L.timer_events]
    assert out, state
    # ...and a way out of the state itself, not only self-loops.
    assert any(t.target != state for t in out), state


@pytest.mark.parametrize("state", NON_TERMINAL)
def test_every_non_terminal_state_can_reach_a_terminal_state(state):
    assert _reachable_from(state) & L.terminal, state


@pytest.mark.parametrize(
    ("state", "exits"),
    [
        (S.APPROVED, set()),
        (S.REJECTED, set()),
        (S.RETURNED, set()),
        (S.WITHDRAWN, set()),
        (
            S.DENIED,
            {
                (E.RECONSIDERATION_REQUESTED, S.RECONSIDERATION_REQUESTED),
                # The MAC's own notice over a denial the engine inferred (guarded).
                (E.DENIED, S.DENIED),
                # A corrective action plan (42 CFR 405.809): accepted, the denial is reversed.
                (E.CAP_SUBMITTED, S.DENIED),
                (E.CAP_DECIDED, S.DENIED),
                (E.CAP_DECIDED, S.APPROVED),
            },
        ),
    ],
)
def test_terminal_states_have_only_the_documented_exits(state, exits):
    operator_rows = {
        (t.event, t.target)
        for t in L.transitions
        if t.source == state and t.event not in L.timer_events
    }
    assert operator_rows == exits
    # Timers may still run out in a terminal state, but they never move it.
    for t in L.transitions:
        if t.source == state and t.event in L.timer_events:
            assert t.target == state, t


def test_reconsideration_outcomes():
    rows = {
        t.guard: t.target
        for t in L.transitions
        if (t.source, t.event) == (S.RECONSIDERATION_REQUESTED, E.RECONSIDERATION_DECIDED)
    }
    assert rows == {"denial_reversed": S.APPROVED, "denial_upheld": S.DENIED}


@pytest.mark.parametrize(
    ("source", "event", "target"),
    [
        (S.DRAFT, E.UPDATE_DRAFT, S.DRAFT),
        (S.PENDING_SIGNATURE, E.SIGNATURES_COMPLETED, S.SUBMITTED),
        (S.PENDING_SIGNATURE, E.SIGNATURE_WINDOW_EXPIRED, S.REJECTED),
        (S.SUBMITTED, E.RECEIVED_BY_MAC, S.IN_REVIEW),
        (S.SUBMITTED, E.FEE_REQUESTED, S.PENDING_FEE),
        (S.IN_REVIEW, E.FEE_REQUESTED, S.PENDING_FEE),
        (S.PENDING_FEE, E.FEE_WINDOW_EXPIRED, S.REJECTED),
        (S.IN_REVIEW, E.DEVELOPMENT_REQUESTED, S.DEVELOPMENT_REQUESTED),
        (S.DEVELOPMENT_REQUESTED, E.DEVELOPMENT_REQUESTED, S.DEVELOPMENT_REQUESTED),
        (S.DEVELOPMENT_REQUESTED, E.DEVELOPMENT_WINDOW_EXPIRED, S.REJECTED),
        (S.IN_REVIEW, E.FINGERPRINTS_REQUESTED, S.SCREENING),
        (S.SCREENING, E.FINGERPRINTS_RECEIVED, S.IN_REVIEW),
        (S.SCREENING, E.FINGERPRINT_WINDOW_EXPIRED, S.DENIED),
        (S.IN_REVIEW, E.APPROVED, S.APPROVED),
        (S.IN_REVIEW, E.DENIED, S.DENIED),
        (S.DENIED, E.RECONSIDERATION_REQUESTED, S.RECONSIDERATION_REQUESTED),
        (
            S.RECONSIDERATION_REQUESTED,
            E.RECONSIDERATION_DECISION_OVERDUE,
            S.RECONSIDERATION_REQUESTED,
        ),
    ],
)
def test_documented_unguarded_rows(source, event, target):
    assert L.resolve(source, event, lambda g: pytest.fail(f"guard {g} consulted")) == target


def test_submit_depends_on_whether_every_signature_was_in():
    assert L.resolve(S.DRAFT, E.SUBMIT, lambda g: g == "signatures_outstanding") == (
        S.PENDING_SIGNATURE
    )
    assert L.resolve(S.DRAFT, E.SUBMIT, lambda g: g == "signed_at_submission") == S.SUBMITTED
    assert L.resolve(S.DRAFT, E.SUBMIT, lambda g: False) is None


def test_fee_paid_from_pending_fee_depends_on_mac_receipt():
    assert L.resolve(S.PENDING_FEE, E.FEE_PAID, lambda g: g == "received_by_mac") == S.IN_REVIEW
    assert L.resolve(S.PENDING_FEE, E.FEE_PAID, lambda g: g == "not_received_by_mac") == (
        S.SUBMITTED
    )
    assert L.resolve(S.PENDING_FEE, E.FEE_PAID, lambda g: False) is None


@pytest.mark.parametrize("state", [S.PENDING_SIGNATURE, S.SUBMITTED, S.IN_REVIEW])
def test_early_fee_payment_is_recorded_without_a_state_change(state):
    assert L.resolve(state, E.FEE_PAID, lambda g: False) == state


def test_approval_only_from_in_review():
    assert {t.source for t in L.transitions if t.event == E.APPROVED} == {S.IN_REVIEW}


@pytest.mark.parametrize("event", [E.REJECTED, E.RETURNED])
def test_mac_may_reject_or_return_any_open_application_but_not_a_draft(event):
    sources = {t.source for t in L.transitions if t.event == event}
    assert sources == {
        S.PENDING_SIGNATURE,
        S.PENDING_FEE,
        S.SUBMITTED,
        S.IN_REVIEW,
        S.DEVELOPMENT_REQUESTED,
        S.SCREENING,
    }


def test_withdrawal_from_draft_and_every_open_state():
    sources = {t.source for t in L.transitions if t.event == E.WITHDRAWN}
    assert sources == {
        S.DRAFT,
        S.PENDING_SIGNATURE,
        S.PENDING_FEE,
        S.SUBMITTED,
        S.IN_REVIEW,
        S.DEVELOPMENT_REQUESTED,
        S.SCREENING,
    }
    assert all(t.target == S.WITHDRAWN for t in L.transitions if t.event == E.WITHDRAWN)


# --- timers and clocks ----------------------------------------------------------------------


def test_every_timer_event_is_fired_by_exactly_one_clock_kind():
    assert set(EXPIRY_EVENT) == set(ClockKind)
    fired = list(EXPIRY_EVENT.values())
    assert len(fired) == len(set(fired))
    assert set(fired) == set(L.timer_events)


@pytest.mark.parametrize("kind", list(ClockKind))
def test_every_clock_kinds_expiry_event_has_a_row(kind):
    event = EXPIRY_EVENT[kind]
    assert event in L.timer_events
    assert any(t.event == event for t in L.transitions), kind


def test_timer_rows_are_unguarded():
    assert all(t.guard is None for t in L.transitions if t.event in L.timer_events)


def test_is_operator_event():
    for e in E:
        assert L.is_operator_event(e) == (e not in L.timer_events)
    assert len(L.timer_events) == 10


# --- guards ---------------------------------------------------------------------------------


def test_every_guard_used_is_described_and_every_described_guard_is_used():
    used = {t.guard for t in L.transitions if t.guard is not None}
    assert used == set(L.guards)
    assert all(text.strip() for text in L.guards.values())


def test_guarded_choices_are_exhaustive_pairs():
    by_key: dict[tuple[S, E], list[str | None]] = {}
    for t in L.transitions:
        by_key.setdefault((t.source, t.event), []).append(t.guard)
    for key, guards in by_key.items():
        if len(guards) > 1:
            assert None not in guards, key
            assert len(guards) == 2, key


class _S(StrEnum):
    A = "a"
    B = "b"


def _table(guards, operator, timers=()):
    return assemble(
        "t",
        _S,
        initial=_S.A,
        terminal={_S.B},
        guards=guards,
        operator=operator,
        timers=list(timers),
    )


def test_an_undescribed_guard_is_refused():
    with pytest.raises(ValueError, match="not described"):
        _table({}, [("go", (row(_S.A, to=_S.B, guard="mystery"),))])


def test_mixing_guarded_and_unguarded_rows_is_refused():
    with pytest.raises(ValueError, match="mixes guarded and unguarded"):
        _table({"g": "a guard"}, [("go", (row(_S.A, to=_S.B, guard="g"), row(_S.A)))])


def test_an_event_declared_twice_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        _table({}, [("go", (row(_S.A, to=_S.B),))], [("go", (row(_S.B),))])


def test_resolve_takes_the_first_row_whose_guard_holds():
    lc = _table(
        {"x": "x holds", "y": "y holds"},
        [("go", (row(_S.A, to=_S.B, guard="x"), row(_S.A, guard="y")))],
        [("tick", (row(_S.A, to=_S.B),))],
    )
    assert lc.resolve(_S.A, "go", lambda g: g == "y") == _S.A
    assert lc.resolve(_S.A, "go", lambda g: True) == _S.B
    assert lc.resolve(_S.A, "go", lambda g: False) is None
    assert lc.resolve(_S.B, "go", lambda g: True) is None
    assert lc.allowed_events(_S.A) == ["go"]
    assert lc.allowed_events(_S.A, include_timer_events=True) == ["go", "tick"]


# --- allowed events -------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(S))
def test_allowed_events_are_the_operator_rows_without_duplicates(state):
    allowed = L.allowed_events(state)
    assert len(allowed) == len(set(allowed))
    assert set(allowed) == {
        t.event for t in L.transitions if t.source == state and t.event not in L.timer_events
    }
    assert not set(allowed) & L.timer_events
    with_timers = L.allowed_events(state, include_timer_events=True)
    assert set(with_timers) == {t.event for t in L.transitions if t.source == state}
    for e in E:
        assert L.allows(state, e) == (e in with_timers or e in L.bookkeeping_allowed(state))
    assert L.bookkeeping_allowed(state) == ["assigned", "note_added"]


def test_allowed_events_examples():
    assert L.allowed_events(S.DRAFT) == [E.UPDATE_DRAFT, E.SUBMIT, E.WITHDRAWN]
    assert L.allowed_events(S.DENIED) == [
        E.DENIED,
        E.CAP_SUBMITTED,
        E.CAP_DECIDED,
        E.RECONSIDERATION_REQUESTED,
    ]
    assert L.allowed_events(S.APPROVED) == []
    assert set(L.allowed_events(S.PENDING_SIGNATURE)) == {
        E.SIGNATURES_COMPLETED,
        E.FEE_PAID,
        E.FEE_HARDSHIP_REQUESTED,
        E.REJECTED,
        E.RETURNED,
        E.WITHDRAWN,
    }
    assert E.SIGNATURE_WINDOW_EXPIRED in L.allowed_events(
        S.PENDING_SIGNATURE, include_timer_events=True
    )


# --- rendering ------------------------------------------------------------------------------


def test_to_mermaid_contains_every_transition():
    text = L.to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert lines[1] == "    [*] --> draft"
    for t in L.transitions:
        label = t.event + (f" [{t.guard}]" if t.guard else "")
        if t.event in L.timer_events:
            label = f"⏰ {label}"
        line = f"    {t.source.value} --> {t.target.value}: {label}"
        assert line in lines, line
    for s in L.terminal:
        assert f"    {s.value} --> [*]" in lines
    assert len(lines) == 2 + len(L.transitions) + len(L.terminal)


def test_describe_is_json_serialisable_and_complete():
    d = L.describe()
    round_trip = json.loads(json.dumps(d))
    assert round_trip == d
    assert d["name"] == "application"
    assert d["initial"] == "draft"
    assert d["states"] == [s.value for s in S]
    assert d["terminal"] == sorted(s.value for s in L.terminal)
    assert {e["name"]: e["source"] for e in d["events"]} == {
        e.value: ("timer" if e in L.timer_events else "operator") for e in E
    }
    assert d["guards"] == L.guards
    assert [(t["from"], t["event"], t["to"], t["guard"]) for t in d["transitions"]] == [
        (t.source.value, t.event, t.target.value, t.guard) for t in L.transitions
    ]


def test_development_response_returns_to_screening_while_fingerprints_are_owed():
    rows = {t.guard: t.target for t in L.options(S.DEVELOPMENT_REQUESTED, E.DEVELOPMENT_RESPONDED)}
    assert rows == {
        "no_fingerprints_outstanding": S.IN_REVIEW,
        "fingerprints_outstanding": S.SCREENING,
    }
    assert L.resolve(S.DEVELOPMENT_REQUESTED, E.FINGERPRINT_WINDOW_EXPIRED, lambda g: True) == (
        S.DENIED
    )
