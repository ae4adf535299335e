"""Bookkeeping events (`assigned`, `note_added`): audited in the record's log, allowed in every
state while the workflow runs, moving nothing: no status, no clock, no engine grace ended."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from models.application import (
    APPLICATION_LIFECYCLE,
    ApplicationCreate,
    ApplicationEventRequest,
    ApplicationState,
    ApplicationStatus,
    apply_event,
    check_event,
    fire_due_clocks,
    new_application,
)
from models.enrollment import ENROLLMENT_LIFECYCLE, EnrollmentStart, EnrollmentState
from models.enrollment import apply_event as apply_enrollment_event
from models.enrollment import check_event as check_enrollment_event
from models.enrollment.cycle import new_enrollment, next_cycle_state
from models.enrollment.events import ENROLLMENT_EVENT_MODELS
from models.records import MAX_NOTES

EVENTS: TypeAdapter[ApplicationEventRequest] = TypeAdapter(ApplicationEventRequest)
NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)


def _app() -> ApplicationState:
    return new_application(
        ApplicationCreate(
            application_id="app-1",
            organization_id="org-1",
            form="CMS-855I",
            purpose="initial",
            time_zone="America/New_York",
            details={"legal_name": "Jane Q Doe", "npi": "1234567893", "state": "NY"},
            actor="ops@example.org",
        ),
        NOW,
    )


def _ev(event: str, **data: object) -> ApplicationEventRequest:
    return EVENTS.validate_python(
        {"event": event, "actor": "ana@example.org", "reason": "triage", **data}
    )


def test_assignment_and_notes_are_logged_and_move_nothing() -> None:
    state = _app()
    request = _ev("assigned", assignee="ana@example.org")
    check_event(state, request, NOW)
    out = apply_event(state, request, NOW + timedelta(minutes=1))
    s = out.state
    assert s.assignee == "ana@example.org" and s.status == ApplicationStatus.DRAFT
    assert out.notices == []
    line = s.events[-1]
    assert (line.event, line.actor, line.reason) == ("assigned", "ana@example.org", "triage")
    assert line.from_status == line.to_status == ApplicationStatus.DRAFT
    assert line.notes == ["Assigned to ana@example.org."]
    assert s.clocks == state.clocks and s.updated_at == NOW + timedelta(minutes=1)

    noted = apply_event(s, _ev("note_added", text="Called the MAC.\nCase not found yet."), NOW)
    assert [(n.text, n.actor, n.seq) for n in noted.state.notes] == [
        ("Called the MAC.\nCase not found yet.", "ana@example.org", 3)
    ]
    assert noted.state.assignee == "ana@example.org"

    cleared = apply_event(noted.state, _ev("assigned", assignee=None), NOW).state
    assert cleared.assignee is None and cleared.events[-1].notes == ["Unassigned."]


def test_bad_bookkeeping_data_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="assignee"):
        _ev("assigned")  # null unassigns; leaving it out is a mistake
    with pytest.raises(ValidationError, match="text"):
        _ev("note_added", text="")
    with pytest.raises(ValidationError, match="assignee"):
        _ev("assigned", assignee="ana\x00")


def test_notes_are_bounded_keeping_the_latest() -> None:
    state = _app()
    for i in range(MAX_NOTES + 3):
        state = apply_event(state, _ev("note_added", text=f"note {i}"), NOW).state
    assert len(state.notes) == MAX_NOTES
    assert state.notes[0].text == "note 3" and state.notes[-1].text == f"note {MAX_NOTES + 2}"
    # The log keeps every one.
    assert sum(e.event == "note_added" for e in state.events) == MAX_NOTES + 3


def test_bookkeeping_is_allowed_in_every_state_but_is_no_next_step() -> None:
    for status in ApplicationStatus:
        assert APPLICATION_LIFECYCLE.bookkeeping_allowed(status) == ["assigned", "note_added"]
        assert "assigned" not in APPLICATION_LIFECYCLE.allowed_events(status)
    described = APPLICATION_LIFECYCLE.describe()
    assert all(t["event"] not in ("assigned", "note_added") for t in described["transitions"])
    (assigned,) = [e for e in described["events"] if e["name"] == "assigned"]
    assert assigned["source"] == "operator" and assigned["bookkeeping"] is True
    assert assigned["states"] == [s.value for s in ApplicationStatus]
    assert "assigned" not in APPLICATION_LIFECYCLE.to_mermaid()


def test_a_final_application_with_a_clock_open_can_still_be_assigned() -> None:
    """A withdrawn application is final; assigning it is recorded, its status unchanged."""
    state = apply_event(_app(), _ev("withdrawn"), NOW).state
    assert state.status == ApplicationStatus.WITHDRAWN
    request = _ev("assigned", assignee="ana")
    check_event(state, request, NOW)
    assert apply_event(state, request, NOW).state.status == ApplicationStatus.WITHDRAWN


def test_an_assignment_leaves_an_engine_consequence_withdrawable() -> None:
    """Unlike an outcome, an assignment does not end the late-recording grace: an on-time
    response recorded after it still withdraws the engine's rejection."""
    s = _app()
    for ev in (
        _ev("submit", web_tracking_id="WT-1", submitted_on="2026-01-05", signed_on="2026-01-05"),
        _ev("received_by_mac", case_number="C-1", receipt_date="2026-01-06"),
        _ev("development_requested", request_date="2026-01-07", items=["license"]),
    ):
        s = apply_event(s, ev, datetime(2026, 1, 8, 15, tzinfo=UTC)).state
    late = datetime(2026, 3, 2, 15, tzinfo=UTC)  # past the 30 days: the engine rejects
    s = fire_due_clocks(s, late).state
    assert s.status == ApplicationStatus.REJECTED and s.before_consequence is not None
    s = apply_event(s, _ev("assigned", assignee="ana"), late).state
    assert s.before_consequence is not None
    respond = _ev("development_responded", responded_on="2026-01-20")
    check_event(s, respond, late)
    after = apply_event(s, respond, late).state
    assert after.status != ApplicationStatus.REJECTED and after.assignee == "ana"


def _enrollment() -> EnrollmentState:
    return new_enrollment(
        EnrollmentStart(
            enrollment_id="I20031103000001",
            organization_id="org-1",
            npi="1234567893",
            ptan="PTAN1",
            form="CMS-855I",
            state="NY",
            effective_date=date(2025, 1, 1),
            time_zone="America/New_York",
            actor="ops@example.org",
            reason="imported",
            source="import",
        ),
        NOW,
    )


def test_an_enrollment_carries_its_assignee_and_notes_into_the_next_cycle() -> None:
    models = ENROLLMENT_EVENT_MODELS
    s = _enrollment()
    for request in (
        models["assigned"](actor="ana", reason="owner", assignee="ana@example.org"),
        models["note_added"](actor="ana", reason="call", text="PTAN confirmed by phone"),
    ):
        check_enrollment_event(s, request, NOW)
        s = apply_enrollment_event(s, request, NOW).state
    assert s.status == ENROLLMENT_LIFECYCLE.initial and s.seq == 3
    assert s.events[-1].event == "note_added" and s.events[-1].seq == 3
    nxt = new_enrollment(next_cycle_state(s), NOW)
    assert nxt.assignee == "ana@example.org"
    assert [n.text for n in nxt.notes] == ["PTAN confirmed by phone"]
    assert nxt.seq > 3  # the next run's log goes on after this one's
    for status in ENROLLMENT_LIFECYCLE.states:
        assert ENROLLMENT_LIFECYCLE.bookkeeping_allowed(status) == ["assigned", "note_added"]


def test_the_read_model_row_carries_assignee_and_status_since() -> None:
    from models.read_model import application_projection, enrollment_projection, parse_billing_gaps

    s = _app()
    assert application_projection(s).row.status_since == NOW.date()  # created: draft since
    day = datetime(2026, 3, 5, 15, tzinfo=UTC)
    s = apply_event(s, _ev("submit", web_tracking_id="WT-1", signed_on="2026-03-05"), day).state
    s = apply_event(s, _ev("assigned", assignee="ana"), day + timedelta(days=3)).state
    row = application_projection(s).row
    # The assignment (three days later) does not restart the age in the status.
    assert (row.assignee, row.status, row.status_since) == ("ana", "submitted", day.date())

    e = _enrollment()
    erow = enrollment_projection(e).row
    assert erow.status_since == date(2025, 1, 1) and erow.billing_gaps is None
    assert parse_billing_gaps("2025-01-01/2025-02-14 2026-03-01/2026-03-02") == [
        (date(2025, 1, 1), date(2025, 2, 14)),
        (date(2026, 3, 1), date(2026, 3, 2)),
    ]


def test_the_web_assign_form_left_empty_unassigns() -> None:
    from api.web.event_forms import event_data, event_fields
    from models.application import EVENT_MODELS

    fields = event_fields(EVENT_MODELS["assigned"])
    assert event_data(fields, {"data.assignee": "  "}) == {"assignee": None}
    assert event_data(fields, {"data.assignee": "bea"}) == {"assignee": "bea"}
    # A field that is optional (not required) stays out when empty, as before.
    submit = event_fields(EVENT_MODELS["submit"])
    assert "signed_on" not in event_data(submit, {"data.signed_on": ""})
