"""The application reducer (models/application/; docs/regulation.md, "The application").

Every test passes a fixed, aware UTC `now`; nothing here reads the wall clock.
"""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from pydantic import TypeAdapter, ValidationError

from models.application import (
    APPLICATION_LIFECYCLE,
    EVENT_MODELS,
    ApplicationCreate,
    ApplicationEventRequest,
    ApplicationState,
    ApplicationStatus,
    EventRefused,
    Outcome,
    allowed_events,
    apply_event,
    check_event,
    fire_due_clocks,
    new_application,
)
from models.calendar import ClockKind, start_of_day
from models.notices import NoticeKind
from models.rules import RuleKey
from tests.event_names import ApplicationEvent

S = ApplicationStatus
NY = "America/New_York"
LA = "America/Los_Angeles"
EVENTS = TypeAdapter(ApplicationEventRequest)

COMPLETE_855I = {
    "legal_name": "Jane Q Doe",
    "npi": "1234567893",
    "ssn": "123-45-6789",
    "state": "NY",
    "first_service_date": "2025-01-15",
}

# The reference timeline (New York).
CREATED = date(2025, 1, 6)
SUBMITTED_ON = date(2025, 2, 3)
SIGNED_ON = date(2025, 2, 5)
RECEIVED_ON = date(2025, 2, 10)


def at(day: date, hours: float = 12, tz: str = NY) -> datetime:
    """An aware UTC instant `hours` after the start of `day` in `tz`."""
    return start_of_day(day, tz).astimezone(UTC) + timedelta(hours=hours)


def start(day: date, tz: str = NY) -> datetime:
    return start_of_day(day, tz).astimezone(UTC)


def ev(event: str, **data: Any):
    payload = {"event": event, "actor": "ops@example.org", "reason": "from the MAC letter"}
    payload.update({k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()})
    return EVENTS.validate_python(payload)


def plausible(event: str, on: date):
    """A valid request for `event` dated `on`."""
    data: dict[str, Any] = {
        "update_draft": {"changes": {"legal_name": "Jane Q Doe"}},
        "submit": {"web_tracking_id": "WTID-1", "submitted_on": on},
        "signatures_completed": {"signed_on": on},
        "fee_requested": {"letter_date": on},
        "fee_paid": {"paid_on": on},
        "fee_hardship_requested": {"requested_on": on},
        "fee_hardship_approved": {"decision_date": on},
        "fee_hardship_denied": {"decision_date": on},
        "cap_submitted": {"filed_on": on},
        "cap_decided": {"decision_date": on, "outcome": "not_accepted"},
        "received_by_mac": {"case_number": "CASE-1", "receipt_date": on},
        "development_requested": {"request_date": on, "items": ["CMS-588 bank letter"]},
        "development_responded": {"responded_on": on},
        "site_visit_completed": {"visit_date": on},
        "fingerprints_requested": {"letter_date": on},
        "fingerprints_received": {"received_on": on},
        "approved": {"ptan": "PTAN123", "approval_date": on},
        "denied": {"notice_date": on, "grounds": "424.530(a)(1)"},
        "reconsideration_requested": {"filed_on": on},
        "reconsideration_decided": {"decision_date": on, "outcome": "upheld"},
        "rejected": {"notice_date": on, "grounds": "incomplete"},
        "returned": {"notice_date": on, "grounds": "sent too early"},
        "withdrawn": {"requested_on": on},
    }[event]
    return ev(event, **data)


def create(
    *,
    form: str = "CMS-855I",
    purpose: str = "initial",
    details: dict[str, Any] | None = None,
    tz: str = NY,
    on: date = CREATED,
) -> ApplicationState:
    return new_application(
        ApplicationCreate(
            application_id="app-1",
            organization_id="org-1",
            form=form,
            purpose=purpose,
            time_zone=tz,
            details=COMPLETE_855I if details is None else details,
            actor="ops@example.org",
        ),
        at(on, tz=tz),
    )


def run(state: ApplicationState, request, now: datetime) -> Outcome:
    check_event(state, request, now)
    return apply_event(state, request, now)


def refused(state: ApplicationState, request, now: datetime) -> EventRefused:
    with pytest.raises(EventRefused) as info:
        check_event(state, request, now)
    return info.value


def submitted(tz: str = NY, details: dict[str, Any] | None = None) -> ApplicationState:
    s = create(tz=tz, details=details)
    s = run(
        s,
        ev("submit", web_tracking_id="WTID-1", submitted_on=SUBMITTED_ON),
        at(SUBMITTED_ON, tz=tz),
    ).state
    s = run(s, ev("signatures_completed", signed_on=SIGNED_ON), at(SIGNED_ON, tz=tz)).state
    assert s.status == S.SUBMITTED
    return s


def in_review(tz: str = NY, details: dict[str, Any] | None = None) -> ApplicationState:
    s = submitted(tz, details)
    s = run(
        s,
        ev("received_by_mac", case_number="CASE-1", receipt_date=RECEIVED_ON),
        at(RECEIVED_ON, tz=tz),
    ).state
    assert s.status == S.IN_REVIEW
    return s


def clock(state: ApplicationState, kind: ClockKind):
    found = [c for c in state.clocks if c.kind == kind]
    assert len(found) == 1, (kind, state.clocks)
    return found[0]


def dump(state: ApplicationState) -> dict:
    return state.model_dump(mode="json")


# --- creation ----------------------------------------------------------------------------------


def test_new_application_is_a_draft_with_one_created_record():
    s = create()
    assert s.status == S.DRAFT
    assert s.time_zone == NY
    assert [(e.seq, e.event, e.from_status, e.to_status) for e in s.events] == [
        (1, "created", None, S.DRAFT)
    ]
    assert s.events[0].event_date == CREATED
    assert s.created_at == s.updated_at == at(CREATED)
    assert s.clocks == []
    assert s.findings == []  # complete 855I, no fee
    assert s.workflow_id == "application-app-1"
    assert allowed_events(s) == ["update_draft", "submit", "withdrawn"]


def test_new_incomplete_application_carries_its_findings():
    s = create(details={})
    assert {f.field for f in s.findings} == {"legal_name", "npi", "state", "ssn"}


def test_create_refuses_an_unknown_time_zone_and_a_bad_form_purpose():
    with pytest.raises(ValidationError, match="IANA"):
        ApplicationCreate(
            application_id="a",
            organization_id="o",
            form="CMS-855I",
            purpose="initial",
            time_zone="Mars/Olympus",
            actor="x",
        )
    with pytest.raises(ValidationError):
        ApplicationCreate(
            application_id="a",
            organization_id="o",
            form="CMS-855O",
            purpose="revalidation",
            actor="x",
        )


def test_event_models_cover_every_operator_event():
    operator = {e for e in ApplicationEvent if APPLICATION_LIFECYCLE.is_operator_event(e)}
    assert set(EVENT_MODELS) == operator


def test_event_union_is_discriminated_and_strict():
    with pytest.raises(ValidationError):
        EVENTS.validate_python({"event": "no_such_event", "actor": "a", "reason": "r"})
    with pytest.raises(ValidationError):
        EVENTS.validate_python(
            {"event": "submit", "actor": "a", "reason": "r", "web_tracking_id": "W", "extra": 1}
        )
    with pytest.raises(ValidationError):  # a reversal approves: it needs the PTAN
        ev("reconsideration_decided", decision_date=date(2025, 1, 1), outcome="reversed")
    with pytest.raises(ValidationError):
        ev("development_requested", request_date=date(2025, 1, 1), items=[])


# --- the happy path ------------------------------------------------------------------------------


def test_happy_path_to_approval_with_effective_date_and_retro_billing():
    s = create()
    steps = [
        (
            ev("submit", web_tracking_id="WTID-1", submitted_on=SUBMITTED_ON),
            at(SUBMITTED_ON),
            S.PENDING_SIGNATURE,
        ),
        (ev("signatures_completed", signed_on=SIGNED_ON), at(SIGNED_ON), S.SUBMITTED),
        (
            ev("received_by_mac", case_number="CASE-1", receipt_date=RECEIVED_ON),
            at(date(2025, 2, 11)),
            S.IN_REVIEW,
        ),
        (
            ev("development_requested", request_date=date(2025, 2, 20), items=["bank letter"]),
            at(date(2025, 2, 21)),
            S.DEVELOPMENT_REQUESTED,
        ),
        (
            ev("development_responded", responded_on=date(2025, 3, 1)),
            at(date(2025, 3, 1)),
            S.IN_REVIEW,
        ),
        (
            ev(
                "approved",
                ptan="PTAN123",
                approval_date=date(2025, 3, 20),
                enrollment_id="I20250320000001",
            ),
            at(date(2025, 3, 21)),
            S.APPROVED,
        ),
    ]
    for i, (request, now, status) in enumerate(steps, start=2):
        out = run(s, request, now)
        s = out.state
        assert s.status == status
        assert s.events[-1].seq == i
        assert s.events[-1].to_status == status
        assert s.events[-1].recorded_at == now
        assert s.updated_at == now
        assert [n.kind for n in out.notices] == [NoticeKind.EVENT]
        assert out.notices[0].key == f"event-{i}"
        assert out.notices[0].status == status.value

    assert [e.seq for e in s.events] == list(range(1, 8))
    assert s.web_tracking_id == "WTID-1"
    assert s.submitted_on == SUBMITTED_ON
    assert s.signatures_completed_on == SIGNED_ON
    assert s.case_number == "CASE-1"
    assert s.receipt_date == RECEIVED_ON
    assert s.filing_date == RECEIVED_ON
    assert s.ptan == "PTAN123"
    assert s.enrollment_id == "I20250320000001"
    assert s.approval_date == date(2025, 3, 20)
    # Later of filing (receipt 2025-02-10) and first service (2025-01-15); 30 days of retro billing.
    assert s.effective_date == date(2025, 2, 10)
    assert s.retrospective_billing_from == date(2025, 1, 11)
    notes = " ".join(s.events[-1].notes)
    assert "2025-02-10" in notes and "424.520(d)" in notes
    assert "2025-01-11" in notes and "424.521" in notes
    assert s.development_requests[0].responded_on == date(2025, 3, 1)
    assert s.clocks == []
    assert {(c.clock.kind, c.outcome) for c in s.closed_clocks} == {
        (ClockKind.SIGNATURES, "satisfied"),
        (ClockKind.DEVELOPMENT_RESPONSE, "satisfied"),
    }
    assert s.is_final and s.is_closed
    assert allowed_events(s) == []
    assert s.decision is None
    assert s.fee is not None and s.fee.required is False


def test_approval_effective_date_is_first_service_when_later():
    s = in_review(details={**COMPLETE_855I, "first_service_date": "2025-03-01"})
    out = run(s, ev("approved", ptan="P1", approval_date=date(2025, 3, 5)), at(date(2025, 3, 5)))
    assert out.state.effective_date == date(2025, 3, 1)
    assert out.state.retrospective_billing_from == date(2025, 1, 30)


def test_approval_letter_effective_date_wins_and_is_flagged():
    s = in_review()
    out = run(
        s,
        ev("approved", ptan="P1", approval_date=date(2025, 3, 5), effective_date=date(2025, 2, 20)),
        at(date(2025, 3, 5)),
    )
    assert out.state.effective_date == date(2025, 2, 20)
    assert out.state.retrospective_billing_from == date(2025, 1, 21)
    assert any(
        "as the approval letter gives it" in n and "2025-02-10" in n
        for n in out.state.events[-1].notes
    )


def test_declared_disaster_allows_90_days_of_retro_billing():
    s = in_review(details={**COMPLETE_855I, "declared_disaster": True})
    out = run(s, ev("approved", ptan="P1", approval_date=date(2025, 3, 5)), at(date(2025, 3, 5)))
    assert out.state.retrospective_billing_from == date(2024, 11, 12)


def test_dab_cr6067_through_the_reducer():
    s = create(details={**COMPLETE_855I, "first_service_date": "2019-09-01"}, on=date(2019, 11, 1))
    s = run(
        s, ev("submit", web_tracking_id="W", submitted_on=date(2019, 11, 4)), at(date(2019, 11, 4))
    ).state
    s = run(s, ev("signatures_completed", signed_on=date(2019, 11, 5)), at(date(2019, 11, 5))).state
    s = run(
        s,
        ev("received_by_mac", case_number="C", receipt_date=date(2019, 11, 6)),
        at(date(2019, 11, 7)),
    ).state
    s = run(
        s, ev("approved", ptan="P", approval_date=date(2019, 12, 20)), at(date(2019, 12, 20))
    ).state
    assert s.effective_date == date(2019, 11, 6)
    assert s.retrospective_billing_from == date(2019, 10, 7)


# --- refusals ------------------------------------------------------------------------------------


def _states() -> dict[str, ApplicationState]:
    draft = create()
    pending_sig = run(draft, plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON)).state
    sub = submitted()
    rev = in_review()
    dev = run(
        rev, plausible("development_requested", date(2025, 2, 20)), at(date(2025, 2, 20))
    ).state
    approved = run(rev, plausible("approved", date(2025, 2, 20)), at(date(2025, 2, 20))).state
    withdrawn = run(draft, plausible("withdrawn", CREATED), at(CREATED)).state
    rejected = run(rev, plausible("rejected", date(2025, 2, 20)), at(date(2025, 2, 20))).state
    denied = run(rev, plausible("denied", date(2025, 2, 20)), at(date(2025, 2, 20))).state
    return {
        "draft": draft,
        "pending_signature": pending_sig,
        "submitted": sub,
        "in_review": rev,
        "development_requested": dev,
        "approved": approved,
        "withdrawn": withdrawn,
        "rejected": rejected,
        "denied": denied,
    }


STATES = _states()
OPERATOR_EVENTS = [e.value for e in ApplicationEvent if APPLICATION_LIFECYCLE.is_operator_event(e)]


@pytest.mark.parametrize(
    ("name", "event"),
    [
        (name, e)
        for name, st in STATES.items()
        for e in OPERATOR_EVENTS
        if not APPLICATION_LIFECYCLE.allows(st.status, ApplicationEvent(e))
    ],
)
def test_illegal_event_is_refused_listing_the_allowed_events(name, event):
    s = STATES[name]
    # Inside every window the fixture states opened (the signature clock ends 2025-02-23):
    # the reducer settles clocks as of the event's date before judging it.
    now = at(date(2025, 2, 22))
    request = plausible(event, date(2025, 2, 21))
    err = refused(s, request, now)
    assert err.code == "IllegalTransition"
    assert err.status == s.status.value
    by_table = list(APPLICATION_LIFECYCLE.allowed_events(s.status))
    if s.decision is not None and s.decision.kind == "denied" and not s.decision.by_engine:
        # Denied-over-denied is only for the MAC's notice over a denial the engine inferred.
        by_table.remove("denied")
    assert err.allowed_events == by_table
    assert f"'{event}'" in err.message and f"'{s.status.value}'" in err.message
    for allowed in err.allowed_events:
        assert allowed in err.message
    if not err.allowed_events:
        assert "closed" in err.message and "nothing" in err.message
    # apply_event refuses it too rather than inventing a transition.
    before = dump(s)
    with pytest.raises(EventRefused) as info:
        apply_event(s, request, now)
    assert info.value.code == "IllegalTransition"
    assert dump(s) == before


def test_refusal_details_are_json():
    err = refused(STATES["approved"], plausible("submit", date(2025, 2, 25)), at(date(2025, 3, 1)))
    d = json.loads(json.dumps(err.details()))
    assert d["code"] == "IllegalTransition"
    assert d["status"] == "approved"
    assert d["allowed_events"] == []
    assert d["field"] is None and d["findings"] == []


@pytest.mark.parametrize(
    ("name", "event", "field"),
    [
        ("draft", "submit", "submitted_on"),
        ("pending_signature", "signatures_completed", "signed_on"),
        ("pending_signature", "withdrawn", "requested_on"),
        ("submitted", "received_by_mac", "receipt_date"),
        ("submitted", "fee_requested", "letter_date"),
        ("in_review", "development_requested", "request_date"),
        ("in_review", "fingerprints_requested", "letter_date"),
        ("in_review", "site_visit_completed", "visit_date"),
        ("in_review", "approved", "approval_date"),
        ("in_review", "denied", "notice_date"),
        ("in_review", "rejected", "notice_date"),
        ("in_review", "returned", "notice_date"),
        ("in_review", "fee_paid", "paid_on"),
        ("development_requested", "development_responded", "responded_on"),
        ("denied", "reconsideration_requested", "filed_on"),
    ],
)
def test_future_date_is_refused_naming_the_field(name, event, field):
    s = STATES[name]
    # Inside every fixture window (the signature clock ends 2025-02-23).
    now = at(date(2025, 2, 22), hours=23.5)
    err = refused(s, plausible(event, date(2025, 2, 23)), now)
    assert err.code == "InvalidEventData"
    assert err.field == field
    assert field in err.message and "future" in err.message and "2025-02-22" in err.message
    assert err.allowed_events == allowed_events(s)
    # The same event dated today is fine (reconsideration needs its window: still open).
    check_event(s, plausible(event, date(2025, 2, 22)), now)


def test_today_is_the_organisations_date():
    # 2025-03-01 06:00 UTC is 01:00 on 1 March in New York but 22:00 on 28 Feb in Los Angeles.
    now = datetime(2025, 3, 1, 6, tzinfo=UTC)
    request = plausible("development_requested", date(2025, 3, 1))
    check_event(in_review(NY), request, now)
    err = refused(in_review(LA), request, now)
    assert err.code == "InvalidEventData" and err.field == "request_date"
    assert LA in err.message


@pytest.mark.parametrize(
    ("name", "event", "field"),
    [
        ("pending_signature", "signatures_completed", "signed_on"),
        ("pending_signature", "fee_paid", "paid_on"),
        ("pending_signature", "withdrawn", "requested_on"),
        ("submitted", "received_by_mac", "receipt_date"),
        ("submitted", "fee_requested", "letter_date"),
        ("in_review", "development_requested", "request_date"),
        ("in_review", "fingerprints_requested", "letter_date"),
        ("in_review", "rejected", "notice_date"),
        ("in_review", "returned", "notice_date"),
    ],
)
def test_date_before_submission_is_refused(name, event, field):
    err = refused(
        STATES[name], plausible(event, SUBMITTED_ON - timedelta(days=1)), at(date(2025, 3, 1))
    )
    assert err.code == "InvalidEventData"
    assert err.field == field
    assert "submission date" in err.message and SUBMITTED_ON.isoformat() in err.message
    check_event(STATES[name], plausible(event, SUBMITTED_ON), at(date(2025, 3, 1)))


def test_submission_may_predate_the_draft():
    s = create(on=date(2025, 3, 1))
    check_event(s, plausible("submit", date(2025, 2, 25)), at(date(2025, 3, 1)))


@pytest.mark.parametrize(
    ("name", "req", "field", "what"),
    [
        ("in_review", plausible("approved", date(2025, 2, 9)), "approval_date", "MAC receipt"),
        ("in_review", plausible("denied", date(2025, 2, 9)), "notice_date", "MAC receipt"),
        (
            "in_review",
            ev("denied", notice_date=date(2025, 2, 20), grounds="g", received_on=date(2025, 2, 19)),
            "received_on",
            "notice date",
        ),
        (
            "development_requested",
            plausible("development_responded", date(2025, 2, 19)),
            "responded_on",
            "development request",
        ),
        (
            "denied",
            plausible("reconsideration_requested", date(2025, 2, 19)),
            "filed_on",
            "denial notice",
        ),
    ],
)
def test_dates_before_the_thing_they_answer_are_refused(name, req, field, what):
    err = refused(STATES[name], req, at(date(2025, 3, 1)))
    assert err.code == "InvalidEventData"
    assert err.field == field
    assert what in err.message


def test_fingerprints_received_before_the_letter_is_refused():
    s = run(
        in_review(), plausible("fingerprints_requested", date(2025, 2, 20)), at(date(2025, 2, 20))
    ).state
    err = refused(s, plausible("fingerprints_received", date(2025, 2, 19)), at(date(2025, 3, 1)))
    assert (err.code, err.field) == ("InvalidEventData", "received_on")


def test_reconsideration_decided_before_the_request_is_refused():
    s = STATES["denied"]
    s = run(
        s, plausible("reconsideration_requested", date(2025, 2, 25)), at(date(2025, 2, 25))
    ).state
    err = refused(s, plausible("reconsideration_decided", date(2025, 2, 24)), at(date(2025, 3, 1)))
    assert (err.code, err.field) == ("InvalidEventData", "decision_date")


def test_submit_with_missing_fields_is_refused_with_findings():
    s = create(details={"legal_name": "Jane Q Doe"})
    err = refused(s, plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON))
    assert err.code == "PresubmissionChecksFailed"
    assert {f.field for f in err.findings} == {"npi", "state", "ssn"}
    assert all(f.code == "missing_field" and f.severity == "error" for f in err.findings)
    assert err.field == err.findings[0].field
    for f in err.findings:
        assert f"[{f.field}]" in err.message
    assert err.allowed_events == ["update_draft", "submit", "withdrawn"]
    assert json.loads(json.dumps(err.details()))["findings"][0]["code"] == "missing_field"
    # apply_event is not reached: the state is still a draft without clocks.
    assert s.status == S.DRAFT and s.clocks == []


def test_update_draft_then_submit():
    s = create(details={"legal_name": "Jane Q Doe"})
    out = run(
        s,
        ev("update_draft", changes={"npi": "1234567893", "ssn": "123456789", "state": "ny"}),
        at(date(2025, 1, 7)),
    )
    s = out.state
    assert s.status == S.DRAFT
    assert (s.details.npi, s.details.ssn, s.details.state) == ("1234567893", "123-45-6789", "NY")
    assert s.details.legal_name == "Jane Q Doe"  # untouched
    assert s.findings == []
    assert s.events[-1].event == "update_draft" and s.events[-1].event_date == date(2025, 1, 7)
    run(s, plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON))
    # Clearing a field with null brings the finding back.
    s2 = run(s, ev("update_draft", changes={"legal_name": None}), at(date(2025, 1, 8))).state
    assert s2.details.legal_name is None
    assert [f.field for f in s2.findings] == ["legal_name"]
    err = refused(s2, plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON))
    assert [f.field for f in err.findings] == ["legal_name"]


@pytest.mark.parametrize(
    ("days_ahead", "ok"),
    [(60, True), (61, False)],
)
def test_part_b_initial_more_than_60_days_early_is_refused(days_ahead, ok):
    s = create(
        details={
            **COMPLETE_855I,
            "requested_effective_date": (SUBMITTED_ON + timedelta(days=days_ahead)).isoformat(),
        }
    )
    request = plausible("submit", SUBMITTED_ON)
    if ok:
        check_event(s, request, at(SUBMITTED_ON))
        return
    err = refused(s, request, at(SUBMITTED_ON))
    assert err.code == "PresubmissionChecksFailed"
    assert [(f.code, f.field) for f in err.findings] == [
        ("early_initial", "requested_effective_date")
    ]
    assert err.findings[0].citation
    assert (SUBMITTED_ON + timedelta(days=1)).isoformat() in err.findings[0].message


@pytest.mark.parametrize(("days_ahead", "ok"), [(180, True), (181, False)])
def test_855a_initial_more_than_180_days_early_is_refused(days_ahead, ok):
    details = {
        "legal_name": "General Hospital",
        "npi": "1234567893",
        "ein": "12-3456789",
        "state": "NY",
        "requested_effective_date": (SUBMITTED_ON + timedelta(days=days_ahead)).isoformat(),
    }
    s = create(form="CMS-855A", details=details)
    if ok:
        check_event(s, plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON))
    else:
        err = refused(s, plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON))
        assert [f.code for f in err.findings] == ["early_initial"]


@pytest.mark.parametrize(
    ("submit_on", "ok"),
    [(date(2025, 2, 27), False), (date(2025, 2, 28), True)],
)
def test_revalidation_more_than_7_months_early_is_refused(submit_on, ok):
    details = {
        **COMPLETE_855I,
        "enrollment_id": "I20031103000001",
        "revalidation_due_date": "2025-09-30",
    }
    s = create(purpose="revalidation", details=details, on=date(2025, 2, 1))
    request = plausible("submit", submit_on)
    now = at(date(2025, 3, 1))
    if ok:
        check_event(s, request, now)
        return
    err = refused(s, request, now)
    assert err.code == "PresubmissionChecksFailed"
    assert [(f.code, f.field) for f in err.findings] == [
        ("early_revalidation", "revalidation_due_date")
    ]
    assert "2025-02-28" in err.findings[0].message


def test_submit_with_every_signature_in_opens_no_signature_clock():
    s = create()
    signed = SUBMITTED_ON + timedelta(days=1)
    request = ev("submit", web_tracking_id="WTID-1", submitted_on=SUBMITTED_ON, signed_on=signed)
    out = run(s, request, at(signed))
    st = out.state
    assert st.status == S.SUBMITTED
    assert st.events[-1].to_status == S.SUBMITTED
    assert st.clocks == [] and st.events[-1].clocks_opened == []
    assert st.signatures_completed_on == signed
    assert st.submitted_on == SUBMITTED_ON
    assert st.filing_date == signed
    # Without signed_on the same submission waits for signatures.
    assert run(s, plausible("submit", SUBMITTED_ON), at(signed)).state.status == (
        S.PENDING_SIGNATURE
    )


@pytest.mark.parametrize(
    ("signed", "now_day"),
    [
        (SUBMITTED_ON + timedelta(days=1), SUBMITTED_ON),  # in the future
        (SUBMITTED_ON - timedelta(days=1), SUBMITTED_ON),  # before the submission
    ],
)
def test_submit_signed_on_must_be_between_submission_and_today(signed, now_day):
    request = ev("submit", web_tracking_id="WTID-1", submitted_on=SUBMITTED_ON, signed_on=signed)
    err = refused(create(), request, at(now_day))
    assert (err.code, err.field) == ("InvalidEventData", "signed_on")


def test_fee_warning_does_not_block_and_fee_is_decided_at_submission():
    details = {"legal_name": "Clinic LLC", "npi": "1234567893", "ein": "12-3456789", "state": "NY"}
    s = create(form="CMS-855B", details=details)
    assert [f.code for f in s.findings] == ["fee_due"]
    s = run(s, plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON)).state
    assert s.status == S.PENDING_SIGNATURE
    assert (
        s.fee is not None and s.fee.required and s.fee.amount == 730 and s.fee.calendar_year == 2025
    )


# --- clocks on both sides of their deadline ---------------------------------------------------

DEV_REQ = date(2025, 2, 20)  # development request date -> last day 2025-03-22


def _dev_requested(tz: str = NY) -> ApplicationState:
    return run(in_review(tz), plausible("development_requested", DEV_REQ), at(DEV_REQ, tz=tz)).state


def test_development_clock_is_thirty_days_from_the_request():
    s = _dev_requested()
    c = clock(s, ClockKind.DEVELOPMENT_RESPONSE)
    assert c.started_on == DEV_REQ
    assert c.last_day == date(2025, 3, 22)
    assert c.fires_at == start(date(2025, 3, 23))
    assert c.rule.key == RuleKey.DEVELOPMENT_RESPONSE
    assert s.events[-1].clocks_opened == [c.clock_id]
    assert c.explanation in s.events[-1].notes
    assert s.development_requests[-1].clock_id == c.clock_id
    assert s.next_wake() == c.reminders[0].at


@pytest.mark.parametrize("day", [29, 30])
def test_development_response_on_day_29_and_30_is_accepted(day):
    s = _dev_requested()
    responded = DEV_REQ + timedelta(days=day)
    # Recorded late on its own day, after an (idle) wake-up at noon.
    s = fire_due_clocks(s, at(responded)).state
    assert s.status == S.DEVELOPMENT_REQUESTED
    out = run(s, plausible("development_responded", responded), at(responded, hours=23))
    assert out.state.status == S.IN_REVIEW
    assert out.state.clocks == []
    closed = out.state.closed_clocks[-1]
    assert (closed.clock.kind, closed.outcome, closed.by_event_seq) == (
        ClockKind.DEVELOPMENT_RESPONSE,
        "satisfied",
        out.state.events[-1].seq,
    )
    # Nothing happens later.
    later = fire_due_clocks(out.state, at(date(2025, 6, 1)))
    assert later.notices == [] and later.state.status == S.IN_REVIEW


def test_development_unanswered_rejects_at_the_start_of_day_31():
    s = _dev_requested()
    last = date(2025, 3, 22)
    noon_last = fire_due_clocks(s, at(last))
    assert noon_last.state.status == S.DEVELOPMENT_REQUESTED
    assert all(n.kind == NoticeKind.REMINDER for n in noon_last.notices)
    just_before = fire_due_clocks(s, start(last + timedelta(days=1)) - timedelta(microseconds=1))
    assert just_before.state.status == S.DEVELOPMENT_REQUESTED
    assert just_before.state.clocks != []

    out = fire_due_clocks(s, start(last + timedelta(days=1)))
    st = out.state
    assert st.status == S.REJECTED
    # Only the late-recording grace is left open (an on-time response recorded late).
    assert [c.kind for c in st.clocks] == [ClockKind.LATE_RECORDING]
    assert st.decision is not None
    assert (st.decision.kind, st.decision.on, st.decision.by_engine) == (
        "rejected",
        date(2025, 3, 23),
        True,
    )
    rec = st.events[-1]
    assert (rec.event, rec.actor, rec.from_status, rec.to_status, rec.event_date) == (
        "development_window_expired",
        "engine",
        S.DEVELOPMENT_REQUESTED,
        S.REJECTED,
        date(2025, 3, 23),
    )
    assert rec.seq == len(st.events)
    c = clock(s, ClockKind.DEVELOPMENT_RESPONSE)
    consequences = [n for n in out.notices if n.kind == NoticeKind.CONSEQUENCE]
    assert [n.key for n in consequences] == [f"{c.clock_id}:expired"]
    assert consequences[0].due_date == last and consequences[0].status == "rejected"
    assert "2025-03-22" in consequences[0].body
    assert st.closed_clocks[-1].outcome == "expired"
    # A response after that is illegal: the application is closed.
    err = refused(st, plausible("development_responded", date(2025, 3, 23)), at(date(2025, 3, 23)))
    assert err.code == "IllegalTransition" and err.allowed_events == []


def test_development_clock_in_a_non_default_zone():
    s = _dev_requested(LA)
    c = clock(s, ClockKind.DEVELOPMENT_RESPONSE)
    assert c.fires_at == datetime(2025, 3, 23, 7, tzinfo=UTC)  # midnight PDT
    # 06:59 UTC on the 23rd is still the 22nd in Los Angeles (but the 23rd in New York).
    assert (
        fire_due_clocks(s, datetime(2025, 3, 23, 6, 59, tzinfo=UTC)).state.status
        == S.DEVELOPMENT_REQUESTED
    )
    assert fire_due_clocks(s, datetime(2025, 3, 23, 7, tzinfo=UTC)).state.status == S.REJECTED


def test_clock_across_the_dst_change_fires_at_local_midnight():
    # Request 2024-02-08 -> last day 2024-03-09 -> fires 2024-03-10 00:00 EST (05:00 UTC);
    # request 2024-02-09 -> last day 2024-03-10 -> fires 2024-03-11 00:00 EDT (04:00 UTC).
    s = create(on=date(2024, 1, 2))
    s = run(s, plausible("submit", date(2024, 1, 8)), at(date(2024, 1, 8))).state
    s = run(s, plausible("signatures_completed", date(2024, 1, 9)), at(date(2024, 1, 9))).state
    s = run(s, plausible("received_by_mac", date(2024, 1, 10)), at(date(2024, 1, 10))).state
    a = run(s, plausible("development_requested", date(2024, 2, 8)), at(date(2024, 2, 8))).state
    b = run(s, plausible("development_requested", date(2024, 2, 9)), at(date(2024, 2, 9))).state
    assert clock(a, ClockKind.DEVELOPMENT_RESPONSE).fires_at == datetime(2024, 3, 10, 5, tzinfo=UTC)
    assert clock(b, ClockKind.DEVELOPMENT_RESPONSE).fires_at == datetime(2024, 3, 11, 4, tzinfo=UTC)
    assert (
        fire_due_clocks(a, datetime(2024, 3, 10, 4, 59, tzinfo=UTC)).state.status
        == S.DEVELOPMENT_REQUESTED
    )
    assert fire_due_clocks(a, datetime(2024, 3, 10, 5, tzinfo=UTC)).state.status == S.REJECTED
    assert (
        fire_due_clocks(b, datetime(2024, 3, 11, 3, 59, tzinfo=UTC)).state.status
        == S.DEVELOPMENT_REQUESTED
    )
    assert fire_due_clocks(b, datetime(2024, 3, 11, 4, tzinfo=UTC)).state.status == S.REJECTED


def _pending_signature() -> ApplicationState:
    return run(create(), plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON)).state


def test_signature_clock_twenty_days():
    s = _pending_signature()
    c = clock(s, ClockKind.SIGNATURES)
    last = SUBMITTED_ON + timedelta(days=20)
    assert c.last_day == last == date(2025, 2, 23)
    assert fire_due_clocks(s, at(last)).state.status == S.PENDING_SIGNATURE
    on_time = run(s, plausible("signatures_completed", last), at(last))
    assert on_time.state.status == S.SUBMITTED and on_time.state.clocks == []
    out = fire_due_clocks(s, start(last + timedelta(days=1)))
    assert out.state.status == S.REJECTED
    assert out.state.events[-1].event == "signature_window_expired"
    assert out.state.decision.kind == "rejected" and out.state.decision.by_engine


def _pending_fee(received: bool) -> ApplicationState:
    s = in_review() if received else submitted()
    return run(s, plausible("fee_requested", date(2025, 2, 20)), at(date(2025, 2, 20))).state


def test_fee_clock_thirty_days():
    s = _pending_fee(received=False)
    assert s.status == S.PENDING_FEE
    c = clock(s, ClockKind.FEE_PAYMENT)
    last = date(2025, 3, 22)
    assert c.last_day == last
    assert fire_due_clocks(s, at(last)).state.status == S.PENDING_FEE
    paid = run(s, plausible("fee_paid", last), at(last))
    assert paid.state.clocks == [] and paid.state.fee_paid_on == last
    out = fire_due_clocks(s, start(last + timedelta(days=1)))
    assert out.state.status == S.REJECTED
    assert out.state.events[-1].event == "fee_window_expired"


@pytest.mark.parametrize(("received", "target"), [(True, S.IN_REVIEW), (False, S.SUBMITTED)])
def test_fee_paid_from_pending_fee_returns_to_where_the_application_was(received, target):
    s = _pending_fee(received)
    out = run(s, plausible("fee_paid", date(2025, 2, 25)), at(date(2025, 2, 25)))
    assert out.state.status == target
    assert out.state.events[-1].to_status == target


def test_fee_paid_before_any_letter_changes_nothing_but_the_record():
    s = _pending_signature()
    out = run(s, plausible("fee_paid", SUBMITTED_ON), at(SUBMITTED_ON))
    assert out.state.status == S.PENDING_SIGNATURE
    assert out.state.fee_paid_on == SUBMITTED_ON
    assert [c.kind for c in out.state.clocks] == [ClockKind.SIGNATURES]


FP_LETTER = date(2025, 2, 20)


def _screening() -> ApplicationState:
    return run(in_review(), plausible("fingerprints_requested", FP_LETTER), at(FP_LETTER)).state


def test_fingerprint_clock_thirty_days_then_denial_opens_cap_and_reconsideration():
    s = _screening()
    assert s.status == S.SCREENING
    last = date(2025, 3, 22)
    assert clock(s, ClockKind.FINGERPRINTS).last_day == last
    assert fire_due_clocks(s, at(last)).state.status == S.SCREENING
    received = run(s, plausible("fingerprints_received", last), at(last))
    assert received.state.status == S.IN_REVIEW and received.state.clocks == []

    out = fire_due_clocks(s, start(last + timedelta(days=1)))
    st = out.state
    fired_on = date(2025, 3, 23)
    assert st.status == S.DENIED
    assert st.decision.kind == "denied" and st.decision.by_engine and st.decision.on == fired_on
    assert {c.kind for c in st.clocks} == {
        ClockKind.CORRECTIVE_ACTION_PLAN,
        ClockKind.RECONSIDERATION_REQUEST,
        ClockKind.LATE_RECORDING,
    }
    # The MAC still mails the denial: CAP 30 and reconsideration 60 days from presumed receipt.
    assert clock(st, ClockKind.CORRECTIVE_ACTION_PLAN).last_day == fired_on + timedelta(days=35)
    assert clock(st, ClockKind.RECONSIDERATION_REQUEST).last_day == fired_on + timedelta(days=65)
    rec = st.events[-1]
    assert rec.event == "fingerprint_window_expired" and rec.to_status == S.DENIED
    assert len(rec.clocks_opened) == 3
    # The MAC's own denial notice may still be recorded over the engine's inference.
    assert allowed_events(st) == [
        "denied",
        "cap_submitted",
        "cap_decided",
        "reconsideration_requested",
    ]
    # No clock left that is already due.
    assert all(c.fires_at > start(last + timedelta(days=1)) for c in st.clocks)


def test_the_macs_denial_over_the_engines_supersedes_a_cap_filed_against_it():
    """Found by the lifecycle property test: a CAP filed against the engine's inferred denial
    was still 'pending' after the MAC's own notice replaced that denial, so a decision on it
    was accepted although its clock had been superseded."""
    fired_on = date(2025, 3, 23)
    st = fire_due_clocks(_screening(), start(fired_on)).state
    st = run(st, plausible("cap_submitted", fired_on), at(fired_on)).state
    assert st.cap_filed_on == fired_on
    notice = fired_on + timedelta(days=2)
    st = run(st, plausible("denied", notice), at(notice)).state
    assert st.cap_filed_on is None and not st.decision.by_engine
    assert clock(st, ClockKind.CORRECTIVE_ACTION_PLAN).started_on == notice
    with pytest.raises(EventRefused):
        run(st, plausible("cap_decided", notice), at(notice))


def _development_during_screening() -> ApplicationState:
    s = run(
        _screening(), plausible("development_requested", date(2025, 2, 24)), at(date(2025, 2, 24))
    )
    assert s.state.status == S.DEVELOPMENT_REQUESTED
    assert {c.kind for c in s.state.clocks} == {
        ClockKind.FINGERPRINTS,
        ClockKind.DEVELOPMENT_RESPONSE,
    }
    return s.state


def test_fingerprints_stay_owed_through_a_development_request():
    s = _development_during_screening()
    out = run(s, plausible("development_responded", date(2025, 2, 27)), at(date(2025, 2, 27)))
    assert out.state.status == S.SCREENING
    assert [c.kind for c in out.state.clocks] == [ClockKind.FINGERPRINTS]
    assert clock(out.state, ClockKind.FINGERPRINTS).last_day == date(2025, 3, 22)


def test_fingerprints_received_during_a_development_request():
    s = _development_during_screening()
    s = run(s, plausible("fingerprints_received", date(2025, 2, 25)), at(date(2025, 2, 25))).state
    assert s.status == S.DEVELOPMENT_REQUESTED
    assert [c.kind for c in s.clocks] == [ClockKind.DEVELOPMENT_RESPONSE]
    out = run(s, plausible("development_responded", date(2025, 2, 27)), at(date(2025, 2, 27)))
    assert out.state.status == S.IN_REVIEW and out.state.clocks == []


def test_fingerprint_window_ending_during_a_development_request_denies():
    s = run(
        _screening(), plausible("development_requested", date(2025, 3, 10)), at(date(2025, 3, 10))
    ).state
    out = fire_due_clocks(s, start(date(2025, 3, 23)))  # fingerprints 03-22, development 04-09
    st = out.state
    assert st.status == S.DENIED
    assert st.events[-1].event == "fingerprint_window_expired"
    assert ClockKind.DEVELOPMENT_RESPONSE not in {c.kind for c in st.clocks}


NOTICE = date(2025, 2, 20)  # operator-recorded denial notice date


def _denied() -> ApplicationState:
    return run(in_review(), plausible("denied", NOTICE), at(NOTICE)).state


def test_operator_denial_opens_cap_35_and_reconsideration_65_days_from_the_notice():
    s = _denied()
    assert s.status == S.DENIED
    assert s.decision.kind == "denied" and not s.decision.by_engine
    cap = clock(s, ClockKind.CORRECTIVE_ACTION_PLAN)
    recon = clock(s, ClockKind.RECONSIDERATION_REQUEST)
    assert cap.started_on == recon.started_on == NOTICE
    assert cap.last_day == NOTICE + timedelta(days=35)
    assert recon.last_day == NOTICE + timedelta(days=65)
    assert "presumed receipt on 2025-02-25" in recon.period


def test_a_cap_filed_is_still_decided_after_a_reconsideration_upholds_the_denial():
    # CAP and reconsideration are separate tracks (domain: a CAP does not toll the
    # reconsideration deadline); an upheld reconsideration leaves the CAP to be decided, and a
    # second reconsideration is refused as one already filed, not as a window that closed.
    s = _denied()
    for name, on in [
        ("cap_submitted", date(2025, 2, 24)),
        ("reconsideration_requested", date(2025, 2, 25)),
        ("reconsideration_decided", date(2025, 3, 10)),
    ]:
        s = run(s, plausible(name, on), at(on)).state
    assert s.status == S.DENIED
    err = refused(
        s, plausible("reconsideration_requested", date(2025, 3, 11)), at(date(2025, 3, 11))
    )
    assert (err.code, err.field) == ("InvalidEventData", "filed_on")
    assert "already filed on 2025-02-25" in err.message and "closed" not in err.message
    decided = run(s, plausible("cap_decided", date(2025, 3, 12)), at(date(2025, 3, 12))).state
    assert decided.events[-1].event == "cap_decided"


def test_denial_with_a_known_receipt_date_counts_from_it():
    s = run(
        in_review(),
        ev("denied", notice_date=NOTICE, grounds="g", received_on=date(2025, 2, 22)),
        at(date(2025, 2, 23)),
    ).state
    assert clock(s, ClockKind.CORRECTIVE_ACTION_PLAN).last_day == date(2025, 3, 24)
    assert clock(s, ClockKind.RECONSIDERATION_REQUEST).last_day == date(2025, 4, 23)


def test_operator_denial_closes_open_clocks():
    s = _dev_requested()
    out = run(s, plausible("denied", date(2025, 2, 25)), at(date(2025, 2, 25)))
    kinds = {c.kind for c in out.state.clocks}
    assert ClockKind.DEVELOPMENT_RESPONSE not in kinds
    dev = [c for c in out.state.closed_clocks if c.clock.kind == ClockKind.DEVELOPMENT_RESPONSE]
    assert [c.outcome for c in dev] == ["superseded"]


def test_cap_window_expiry_leaves_the_denial_and_the_reconsideration_window():
    s = _denied()
    cap_last = NOTICE + timedelta(days=35)
    assert len(fire_due_clocks(s, at(cap_last)).state.clocks) == 2
    out = fire_due_clocks(s, start(cap_last + timedelta(days=1)))
    assert out.state.status == S.DENIED
    assert [c.kind for c in out.state.clocks] == [ClockKind.RECONSIDERATION_REQUEST]
    assert out.state.events[-1].event == "cap_window_expired"
    assert out.state.closed_clocks[-1].outcome == "expired"


def test_reconsideration_window_sixty_five_days_from_the_notice():
    s = _denied()
    last = NOTICE + timedelta(days=65)
    s_noon = fire_due_clocks(s, at(last)).state
    assert clock(s_noon, ClockKind.RECONSIDERATION_REQUEST).last_day == last
    ok = run(s_noon, plausible("reconsideration_requested", last), at(last))
    assert ok.state.status == S.RECONSIDERATION_REQUESTED
    assert ok.state.reconsideration_filed_on == last
    assert [c.kind for c in ok.state.clocks] == [ClockKind.RECONSIDERATION_DECISION]

    out = fire_due_clocks(s, start(last + timedelta(days=1)))
    assert out.state.status == S.DENIED
    assert [c.kind for c in out.state.clocks] == [ClockKind.LATE_RECORDING]
    assert not out.state.is_closed
    assert out.state.events[-1].event == "reconsideration_window_expired"
    assert fire_due_clocks(out.state, start(last + timedelta(days=16))).state.is_closed
    late = last + timedelta(days=1)
    err = refused(out.state, plausible("reconsideration_requested", late), at(late))
    assert err.code == "InvalidEventData" and err.field == "filed_on"
    assert "closed" in err.message


def test_reconsideration_filed_after_the_last_day_is_refused_even_before_the_timer_fires():
    s = _denied()
    last = NOTICE + timedelta(days=65)
    late = last + timedelta(days=1)
    # The workflow has not woken yet: the clock is still in the state.
    err = refused(s, plausible("reconsideration_requested", late), at(late))
    assert err.code == "InvalidEventData" and err.field == "filed_on"
    assert last.isoformat() in err.message


def test_reconsideration_decision_overdue_is_a_reminder_not_a_consequence():
    s = run(
        _denied(), plausible("reconsideration_requested", date(2025, 3, 1)), at(date(2025, 3, 1))
    ).state
    c = clock(s, ClockKind.RECONSIDERATION_DECISION)
    assert c.last_day == date(2025, 5, 30)
    out = fire_due_clocks(s, start(date(2025, 5, 31)))
    assert out.state.status == S.RECONSIDERATION_REQUESTED
    assert out.state.clocks == []
    assert out.state.events[-1].event == "reconsideration_decision_overdue"
    decided = run(
        out.state, plausible("reconsideration_decided", date(2025, 6, 2)), at(date(2025, 6, 2))
    )
    assert decided.state.status == S.DENIED


def test_reconsideration_reversed_approves():
    s = run(
        _denied(), plausible("reconsideration_requested", date(2025, 3, 1)), at(date(2025, 3, 1))
    ).state
    out = run(
        s,
        ev(
            "reconsideration_decided",
            decision_date=date(2025, 4, 1),
            outcome="reversed",
            ptan="PTAN9",
            enrollment_id="I20250401000001",
        ),
        at(date(2025, 4, 1)),
    )
    st = out.state
    assert st.status == S.APPROVED
    assert st.decision is None
    assert st.reconsideration_outcome == "reversed"
    assert st.ptan == "PTAN9" and st.enrollment_id == "I20250401000001"
    assert st.approval_date == date(2025, 4, 1)
    assert st.effective_date == RECEIVED_ON  # still 424.520(d) from the original filing
    assert st.retrospective_billing_from == date(2025, 1, 11)
    assert st.clocks == [] and st.is_closed


def test_reconsideration_upheld_keeps_the_denial_and_closes():
    s = run(
        _denied(), plausible("reconsideration_requested", date(2025, 3, 1)), at(date(2025, 3, 1))
    ).state
    out = run(s, plausible("reconsideration_decided", date(2025, 4, 1)), at(date(2025, 4, 1)))
    st = out.state
    assert st.status == S.DENIED
    assert st.reconsideration_outcome == "upheld"
    assert st.decision is not None and st.decision.kind == "denied"
    assert st.clocks == [] and st.is_closed
    # A second reconsideration of the same denial is refused: there is no window any more.
    err = refused(
        st, plausible("reconsideration_requested", date(2025, 4, 2)), at(date(2025, 4, 2))
    )
    assert err.code == "InvalidEventData" and err.field == "filed_on"


def test_reconsideration_request_closes_the_cap_and_reconsideration_windows():
    s = _denied()
    out = run(s, plausible("reconsideration_requested", date(2025, 3, 1)), at(date(2025, 3, 1)))
    closed = {c.clock.kind: c.outcome for c in out.state.closed_clocks}
    assert closed[ClockKind.RECONSIDERATION_REQUEST] == "satisfied"
    assert ClockKind.CORRECTIVE_ACTION_PLAN in closed


# --- reminders ------------------------------------------------------------------------------


def test_development_reminders_7_and_1_days_before_each_sent_once():
    s = _dev_requested()
    c = clock(s, ClockKind.DEVELOPMENT_RESPONSE)
    assert [(r.days_before, r.on) for r in c.reminders] == [
        (7, date(2025, 3, 15)),
        (1, date(2025, 3, 21)),
    ]

    assert fire_due_clocks(s, start(date(2025, 3, 15)) - timedelta(microseconds=1)).notices == []
    first = fire_due_clocks(s, at(date(2025, 3, 15)))
    assert [(n.kind, n.key) for n in first.notices] == [
        (NoticeKind.REMINDER, f"{c.clock_id}:reminder:7")
    ]
    n = first.notices[0]
    assert n.due_date == date(2025, 3, 22) and n.clock_id == c.clock_id
    assert n.body == c.explanation
    assert "2025-03-22" in n.subject and "7 days left" in n.subject
    assert first.state.status == S.DEVELOPMENT_REQUESTED

    again = fire_due_clocks(first.state, at(date(2025, 3, 15)))
    assert again.notices == []
    assert dump(again.state) == dump(first.state)
    assert fire_due_clocks(first.state, at(date(2025, 3, 20))).notices == []

    second = fire_due_clocks(first.state, at(date(2025, 3, 21)))
    assert [n.key for n in second.notices] == [f"{c.clock_id}:reminder:1"]
    assert fire_due_clocks(second.state, at(date(2025, 3, 21), hours=20)).notices == []
    assert second.state.next_wake() == c.fires_at
    assert sorted(second.state.reminders_sent) == sorted(
        [f"{c.clock_id}:reminder:7", f"{c.clock_id}:reminder:1"]
    )


def test_after_an_outage_only_the_latest_reminder_is_sent():
    s = _dev_requested()
    c = clock(s, ClockKind.DEVELOPMENT_RESPONSE)
    out = fire_due_clocks(s, at(date(2025, 3, 21)))
    assert [n.key for n in out.notices] == [f"{c.clock_id}:reminder:1"]
    assert set(out.state.reminders_sent) == {
        f"{c.clock_id}:reminder:7",
        f"{c.clock_id}:reminder:1",
    }
    assert fire_due_clocks(out.state, at(date(2025, 3, 21), hours=13)).notices == []


def test_no_reminder_once_the_deadline_has_passed():
    s = _dev_requested()
    out = fire_due_clocks(s, start(date(2025, 3, 23)))
    assert [n.kind for n in out.notices] == [NoticeKind.CONSEQUENCE]
    assert out.state.reminders_sent == []


def test_fire_due_clocks_is_idempotent_at_the_same_instant():
    s = _dev_requested()
    now = start(date(2025, 3, 23))
    once = fire_due_clocks(s, now)
    twice = fire_due_clocks(once.state, now)
    assert twice.notices == []
    assert dump(twice.state) == dump(once.state)


# --- back-dated events ------------------------------------------------------------------------


def test_back_dated_development_request_whose_period_ended_rejects_at_once():
    s = in_review()
    now = at(date(2025, 4, 10))
    request = plausible("development_requested", date(2025, 3, 1))  # last day 2025-03-31
    check_event(s, request, now)
    out = apply_event(s, request, now)
    st = out.state
    assert st.status == S.REJECTED
    dev_rec, expiry_rec = st.events[-2], st.events[-1]
    assert dev_rec.event == "development_requested"
    assert dev_rec.to_status == S.DEVELOPMENT_REQUESTED
    assert any("already ended on 2025-03-31" in note for note in dev_rec.notes)
    assert expiry_rec.event == "development_window_expired"
    assert expiry_rec.event_date == date(2025, 4, 1)
    assert expiry_rec.recorded_at == now
    assert expiry_rec.seq == dev_rec.seq + 1
    assert [n.kind for n in out.notices] == [NoticeKind.EVENT, NoticeKind.CONSEQUENCE]
    assert "already ended" in out.notices[0].body
    assert st.decision.kind == "rejected" and st.decision.on == date(2025, 4, 1)
    # Only the late-recording grace stays open: an on-time response recorded late may still
    # withdraw the engine's rejection.
    assert [c.kind for c in st.clocks] == [ClockKind.LATE_RECORDING]


def test_back_dated_submission_past_its_signature_window_rejects_at_once():
    s = create(on=date(2025, 3, 1))
    out = run(s, plausible("submit", date(2025, 2, 1)), at(date(2025, 3, 1)))
    assert out.state.status == S.REJECTED
    assert any("already ended on 2025-02-21" in n for n in out.state.events[-2].notes)


def test_back_dated_development_request_with_time_left_sends_the_latest_due_reminder():
    s = in_review()
    now = at(date(2025, 3, 27))
    out = run(s, plausible("development_requested", date(2025, 2, 27)), now)  # last day 03-29
    c = clock(out.state, ClockKind.DEVELOPMENT_RESPONSE)
    assert out.state.status == S.DEVELOPMENT_REQUESTED
    assert [n.kind for n in out.notices] == [NoticeKind.EVENT, NoticeKind.REMINDER]
    assert out.notices[1].key == f"{c.clock_id}:reminder:7"


def test_second_development_request_supersedes_the_first_clock():
    s = _dev_requested()
    first = clock(s, ClockKind.DEVELOPMENT_RESPONSE)
    out = run(s, plausible("development_requested", date(2025, 3, 5)), at(date(2025, 3, 5)))
    second = clock(out.state, ClockKind.DEVELOPMENT_RESPONSE)
    assert second.clock_id != first.clock_id
    assert second.last_day == date(2025, 4, 4)
    assert [(c.clock.clock_id, c.outcome) for c in out.state.closed_clocks][-1] == (
        first.clock_id,
        "superseded",
    )
    assert len(out.state.development_requests) == 2
    # The first deadline no longer rejects.
    assert (
        fire_due_clocks(out.state, start(date(2025, 3, 23))).state.status == S.DEVELOPMENT_REQUESTED
    )


# --- closing events ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [_pending_signature, lambda: _pending_fee(True), _dev_requested, _screening],
    ids=["pending_signature", "pending_fee", "development_requested", "screening"],
)
@pytest.mark.parametrize(
    ("event", "status"),
    [("withdrawn", S.WITHDRAWN), ("rejected", S.REJECTED), ("returned", S.RETURNED)],
)
def test_closing_events_close_every_clock(make, event, status):
    s = make()
    open_ids = {c.clock_id for c in s.clocks}
    assert open_ids
    on = date(2025, 2, 22)  # inside every fixture window (the signature clock ends 02-23)
    out = run(s, plausible(event, on), at(on))
    st = out.state
    assert st.status == status
    assert st.clocks == []
    seq = st.events[-1].seq
    closed_now = {c.clock.clock_id for c in st.closed_clocks if c.by_event_seq == seq}
    assert closed_now == open_ids
    assert all(c.outcome == "superseded" for c in st.closed_clocks if c.by_event_seq == seq)
    assert set(st.events[-1].clocks_closed) == open_ids
    assert st.decision is not None and st.decision.kind == event and st.decision.on == on
    assert st.is_closed
    later = fire_due_clocks(st, at(date(2026, 1, 1)))
    assert later.notices == [] and len(later.state.events) == len(st.events)


def test_withdrawal_grounds_are_the_reason_given():
    s = run(
        _pending_signature(), plausible("withdrawn", date(2025, 2, 4)), at(date(2025, 2, 4))
    ).state
    assert s.decision.grounds == "from the MAC letter"


def test_site_visit_is_recorded_and_a_failure_is_flagged():
    s = in_review()
    out = run(
        s,
        ev("site_visit_completed", visit_date=date(2025, 2, 20), result="not_operational"),
        at(date(2025, 2, 20)),
    )
    assert out.state.status == S.IN_REVIEW
    assert out.state.site_visits == [(date(2025, 2, 20), "not_operational")]
    assert any("424.530(a)(5)" in n for n in out.state.events[-1].notes)


# --- purity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "req", "now"),
    [
        (create, plausible("submit", SUBMITTED_ON), at(SUBMITTED_ON)),
        (in_review, plausible("development_requested", date(2025, 3, 1)), at(date(2025, 4, 10))),
        (
            _dev_requested,
            plausible("development_responded", date(2025, 3, 1)),
            at(date(2025, 3, 1)),
        ),
        (_denied, plausible("reconsideration_requested", date(2025, 3, 1)), at(date(2025, 3, 1))),
    ],
)
def test_check_and_apply_do_not_mutate_their_input(make, req, now):
    s = make()
    before = dump(s)
    check_event(s, req, now)
    assert dump(s) == before
    out = apply_event(s, req, now)
    assert out.state is not s
    assert dump(s) == before
    assert dump(out.state) != before


def test_fire_due_clocks_does_not_mutate_its_input():
    s = _dev_requested()
    before = dump(s)
    out = fire_due_clocks(s, start(date(2025, 3, 23)))
    assert dump(s) == before
    assert out.state.status == S.REJECTED and s.status == S.DEVELOPMENT_REQUESTED


@freeze_time("2031-07-01 12:00:00")
def test_the_reducer_uses_the_given_now_not_the_wall_clock():
    s = in_review()
    now = at(date(2025, 3, 1))
    err = refused(s, plausible("development_requested", date(2025, 3, 2)), now)
    assert err.code == "InvalidEventData"
    out = run(s, plausible("development_requested", date(2025, 3, 1)), now)
    assert out.state.status == S.DEVELOPMENT_REQUESTED
    assert out.state.events[-1].recorded_at == now
    assert fire_due_clocks(out.state, now).notices == []


# --- once bugs, kept as regressions ---------------------------------------------------------------


def test_fingerprint_deadline_survives_a_development_request_during_screening():
    s = _screening()
    s = run(s, plausible("development_requested", date(2025, 2, 24)), at(date(2025, 2, 24))).state
    s = run(s, plausible("development_responded", date(2025, 2, 27)), at(date(2025, 2, 27))).state
    out = fire_due_clocks(s, start(date(2025, 3, 23)))  # fingerprint last day was 2025-03-22
    assert out.state.status == S.DENIED


def _open_clock_cases():
    def dev():
        return _dev_requested(), "development_responded", ClockKind.DEVELOPMENT_RESPONSE

    def sig():
        return _pending_signature(), "signatures_completed", ClockKind.SIGNATURES

    def fee():
        return _pending_fee(True), "fee_paid", ClockKind.FEE_PAYMENT

    def fp():
        return _screening(), "fingerprints_received", ClockKind.FINGERPRINTS

    return [dev, sig, fee, fp]


@pytest.mark.parametrize(
    "case", _open_clock_cases(), ids=["development", "signatures", "fee", "fingerprints"]
)
def test_an_event_dated_after_the_last_day_does_not_beat_the_clock(case):
    s, event, kind = case()
    last = clock(s, kind).last_day
    late = last + timedelta(days=1)
    request = plausible(event, late)
    now = at(late)
    try:
        check_event(s, request, now)
    except EventRefused:
        return
    out = apply_event(s, request, now)
    expected = {ClockKind.FINGERPRINTS: S.DENIED}.get(kind, S.REJECTED)
    assert out.state.status == expected


def test_denial_receipt_date_in_the_future_is_refused():
    s = in_review()
    request = ev("denied", notice_date=date(2025, 2, 20), grounds="g", received_on=date(2025, 4, 1))
    err = refused(s, request, at(date(2025, 2, 21)))
    assert err.code == "InvalidEventData" and err.field == "received_on"


def test_reconsideration_filed_in_time_but_recorded_late_is_accepted():
    s = _denied()
    last = NOTICE + timedelta(days=65)
    s = fire_due_clocks(s, start(last + timedelta(days=3))).state
    assert [c.kind for c in s.clocks] == [ClockKind.LATE_RECORDING]
    check_event(s, plausible("reconsideration_requested", last), at(last + timedelta(days=3)))


# --- late recording (docs/regulation.md, "Counting days": clocks run from the event's date) -------

DEV_LAST = date(2025, 3, 22)  # last day of the development request of 2025-02-20


def _rejected_by_engine() -> ApplicationState:
    return fire_due_clocks(_dev_requested(), start(DEV_LAST + timedelta(days=1))).state


def test_engine_consequence_opens_a_14_day_grace():
    st = _rejected_by_engine()
    grace = clock(st, ClockKind.LATE_RECORDING)
    assert grace.started_on == date(2025, 3, 23)
    assert grace.last_day == date(2025, 4, 6)
    assert grace.rule.key == RuleKey.LATE_RECORDING_GRACE
    assert grace.reminders == ()
    assert st.before_consequence is not None
    assert st.before_consequence.status == S.DEVELOPMENT_REQUESTED
    out = fire_due_clocks(st, start(date(2025, 4, 7)))
    assert out.state.status == S.REJECTED
    assert out.state.clocks == [] and out.state.is_closed
    # The record closes; the consequence stays withdrawable (through an admin's correction).
    assert out.state.before_consequence is not None
    assert out.state.events[-1].event == "late_recording_window_closed"
    assert out.state.events[-1].to_status == S.REJECTED


@pytest.mark.parametrize("recorded", [date(2025, 3, 23), date(2025, 4, 6)])
def test_on_time_response_recorded_after_the_rejection_withdraws_it(recorded):
    st = fire_due_clocks(_rejected_by_engine(), at(recorded)).state
    out = run(st, plausible("development_responded", DEV_LAST), at(recorded))
    new = out.state
    assert new.status == S.IN_REVIEW
    assert new.decision is None
    assert new.clocks == [] and new.before_consequence is None
    rec = new.events[-1]
    assert (rec.event, rec.event_date, rec.to_status) == (
        "development_responded",
        DEV_LAST,
        S.IN_REVIEW,
    )
    assert any("withdrawn" in n for n in rec.notes)
    assert "withdrawn" in out.notices[0].body
    assert [e.seq for e in new.events] == list(range(1, len(new.events) + 1))
    assert new.development_requests[-1].responded_on == DEV_LAST
    # It does not come back later.
    assert fire_due_clocks(new, at(date(2025, 6, 1))).state.status == S.IN_REVIEW


def test_response_dated_after_the_last_day_cannot_withdraw_the_rejection():
    st = _rejected_by_engine()
    err = refused(
        st, plausible("development_responded", DEV_LAST + timedelta(days=1)), at(date(2025, 3, 25))
    )
    assert err.code == "IllegalTransition" and err.status == "rejected"


def test_after_the_grace_an_on_time_response_still_withdraws_the_rejection():
    # Issue 15 item 13: the record closed after the grace, but the truth may still be told.
    st = fire_due_clocks(_rejected_by_engine(), start(date(2025, 4, 7))).state
    out = run(st, plausible("development_responded", DEV_LAST), at(date(2025, 4, 7)))
    assert out.state.status == S.IN_REVIEW


def test_without_the_grace_flag_the_rejection_is_final():
    s = _dev_requested()
    s.late_recording_grace = False  # a workflow started before the grace existed
    st = fire_due_clocks(s, start(DEV_LAST + timedelta(days=1))).state
    assert st.status == S.REJECTED and st.clocks == [] and st.before_consequence is None
    err = refused(st, plausible("development_responded", DEV_LAST), at(date(2025, 3, 25)))
    assert err.code == "IllegalTransition"


def test_on_time_fingerprints_recorded_after_the_engine_denial_withdraw_it():
    denied = fire_due_clocks(_screening(), at(date(2025, 3, 25))).state  # fp last day 03-22
    assert denied.status == S.DENIED
    out = run(denied, plausible("fingerprints_received", date(2025, 3, 22)), at(date(2025, 3, 25)))
    new = out.state
    assert new.status == S.IN_REVIEW
    assert new.decision is None
    assert new.clocks == []  # no CAP or reconsideration window for a withdrawn denial
    assert new.fingerprints_received_on == date(2025, 3, 22)


def test_an_operator_event_ends_the_grace():
    denied = fire_due_clocks(_screening(), at(date(2025, 3, 25))).state
    out = run(
        denied, plausible("reconsideration_requested", date(2025, 3, 25)), at(date(2025, 3, 25))
    )
    new = out.state
    assert new.status == S.RECONSIDERATION_REQUESTED
    assert [c.kind for c in new.clocks] == [ClockKind.RECONSIDERATION_DECISION]
    assert new.before_consequence is None
    assert "late_recording-" in " ".join(new.events[-1].clocks_closed)
    # The fingerprints can no longer withdraw the denial.
    err = refused(new, plausible("fingerprints_received", date(2025, 3, 22)), at(date(2025, 3, 26)))
    assert err.code == "IllegalTransition"


def test_reconsideration_recorded_late_is_applied():
    s = _denied()
    last = NOTICE + timedelta(days=65)
    st = fire_due_clocks(s, start(last + timedelta(days=3))).state
    out = run(st, plausible("reconsideration_requested", last), at(last + timedelta(days=3)))
    assert out.state.status == S.RECONSIDERATION_REQUESTED
    assert out.state.reconsideration_filed_on == last
    assert clock(out.state, ClockKind.RECONSIDERATION_DECISION).last_day == last + timedelta(
        days=90
    )


def test_an_event_dated_after_a_last_day_settles_the_clock_first():
    # The workflow has not woken yet: the state still shows the open development clock.
    s = _dev_requested()
    late = DEV_LAST + timedelta(days=1)
    err = refused(s, plausible("development_responded", late), at(late))
    assert err.code == "IllegalTransition" and err.status == "rejected"
    # A closing event dated after the last day applies to the rejected application: refused too.
    err = refused(s, plausible("withdrawn", late), at(late))
    assert err.code == "IllegalTransition"


# --- known bugs ---------------------------------------------------------------------------------


def test_fire_due_clocks_is_idempotent_when_an_expiry_opens_a_clock_with_a_due_reminder():
    s = _screening()  # fingerprint letter 2025-02-20: last day 03-22, denial on 03-23
    now = at(date(2025, 4, 21))  # CAP last day 04-27: its 7-day reminder (04-20) is due
    once = fire_due_clocks(s, now)
    assert once.state.status == S.DENIED
    assert once.state.next_wake() > now
    again = fire_due_clocks(once.state, now)
    assert again.notices == []


def test_an_on_time_event_recorded_after_the_grace_is_not_refused_as_closed():
    st = _rejected_by_engine()  # grace ends 2025-04-06; the workflow has not woken since
    now = at(date(2025, 4, 20))
    request = plausible("development_responded", DEV_LAST)
    check_event(st, request, now)
    assert apply_event(st, request, now).state.status == S.IN_REVIEW


@pytest.mark.parametrize("case", ["development", "fingerprints"])
def test_every_clock_ever_opened_is_open_or_closed_after_a_withdrawal(case):
    if case == "development":
        st = _rejected_by_engine()
        out = run(st, plausible("development_responded", DEV_LAST), at(date(2025, 3, 25)))
    else:
        st = fire_due_clocks(_screening(), at(date(2025, 3, 25))).state
        out = run(st, plausible("fingerprints_received", date(2025, 3, 22)), at(date(2025, 3, 25)))
    new = out.state
    opened = {cid for rec in new.events for cid in rec.clocks_opened}
    known = {c.clock_id for c in new.clocks} | {c.clock.clock_id for c in new.closed_clocks}
    assert opened <= known, opened - known


def test_the_macs_later_denial_notice_sets_the_reconsideration_window():
    denied = fire_due_clocks(_screening(), at(date(2025, 3, 25))).state  # engine: 03-23
    notice = date(2025, 4, 2)  # the MAC's letter
    out = run(denied, plausible("denied", notice), at(notice))
    assert clock(out.state, ClockKind.RECONSIDERATION_REQUEST).last_day == notice + timedelta(
        days=65
    )
    filed = notice + timedelta(days=64)
    st = fire_due_clocks(out.state, at(filed)).state
    check_event(st, plausible("reconsideration_requested", filed), at(filed))


# --- Issue 15: the adverse paths (both sides of every date) ---------------------------------
# Each test names the item of issue 15 it covers.

APPROVED_ON = date(2025, 3, 3)


def test_item3_an_approval_without_an_enrollment_id_gives_a_provisional_one():
    out = run(in_review(), ev("approved", ptan="PTAN1", approval_date=APPROVED_ON), at(APPROVED_ON))
    st = out.state
    assert st.enrollment_id is not None and st.enrollment_id.startswith("P")
    assert st.enrollment_id_provisional
    assert any("provisional id" in n for n in st.events[-1].notes)
    again = run(
        in_review(), ev("approved", ptan="PTAN1", approval_date=APPROVED_ON), at(APPROVED_ON)
    )
    assert again.state.enrollment_id == st.enrollment_id  # the same record on a repeat
    given = run(
        in_review(),
        ev("approved", ptan="PTAN1", approval_date=APPROVED_ON, enrollment_id="I20250303000001"),
        at(APPROVED_ON),
    ).state
    assert given.enrollment_id == "I20250303000001" and not given.enrollment_id_provisional


@pytest.mark.parametrize(
    ("form", "details", "look_back"),
    [
        ("CMS-855I", {}, 30),
        ("CMS-855B", {"ein": "12-3456789"}, 30),
        ("CMS-855B", {"ein": "12-3456789", "idtf": True}, 0),
        ("CMS-855B", {"ein": "12-3456789", "asc_or_portable_xray": True}, 0),
        ("CMS-855A", {"ein": "12-3456789"}, 0),
        ("CMS-855S", {"ein": "12-3456789"}, 0),
    ],
)
def test_item5_retrospective_billing_only_for_the_424_520d_types(form, details, look_back):
    base = {k: v for k, v in COMPLETE_855I.items() if not (form != "CMS-855I" and k == "ssn")}
    s = create(form=form, details={**base, **details})
    s = run(
        s,
        ev("submit", web_tracking_id="W1", submitted_on=SUBMITTED_ON, signed_on=SUBMITTED_ON),
        at(SUBMITTED_ON),
    ).state
    if s.status == S.PENDING_FEE:  # pragma: no cover - no fee letter is recorded here
        raise AssertionError(s.status)
    s = run(
        s, ev("received_by_mac", case_number="C1", receipt_date=RECEIVED_ON), at(RECEIVED_ON)
    ).state
    st = run(s, ev("approved", ptan="P1", approval_date=APPROVED_ON), at(APPROVED_ON)).state
    assert st.effective_date == RECEIVED_ON
    # The first billable day: day `look_back` before the effective date is billable, the day
    # before it is not.
    assert st.retrospective_billing_from == RECEIVED_ON - timedelta(days=look_back)


def test_item7_a_felony_denial_opens_no_cap_window():
    s = run(
        in_review(),
        ev("denied", notice_date=NOTICE, grounds="424.530(a)(3)", ground="felony"),
        at(NOTICE),
    ).state
    assert {c.kind for c in s.clocks} == {ClockKind.RECONSIDERATION_REQUEST}
    err = refused(s, plausible("cap_submitted", NOTICE), at(NOTICE))
    assert err.field == "filed_on" and "felony" in err.message and "405.809" in err.message


def test_item7_a_noncompliance_denial_takes_a_cap_within_35_days_of_the_notice():
    s = run(
        in_review(),
        ev("denied", notice_date=NOTICE, grounds="424.530(a)(1)", ground="noncompliance"),
        at(NOTICE),
    ).state
    last = NOTICE + timedelta(days=35)
    assert clock(s, ClockKind.CORRECTIVE_ACTION_PLAN).last_day == last
    late = fire_due_clocks(s, at(last + timedelta(days=1))).state
    err = refused(
        late, plausible("cap_submitted", last + timedelta(days=1)), at(last + timedelta(days=1))
    )
    assert err.field == "filed_on"
    filed = run(s, plausible("cap_submitted", last), at(last)).state
    assert filed.cap_filed_on == last
    decision = clock(filed, ClockKind.CORRECTIVE_ACTION_PLAN_DECISION)
    assert decision.last_day == last + timedelta(days=60)
    # The reconsideration window runs on regardless (a CAP does not toll it).
    assert clock(filed, ClockKind.RECONSIDERATION_REQUEST).last_day == NOTICE + timedelta(days=65)
    overdue = fire_due_clocks(filed, start(decision.last_day + timedelta(days=1))).state
    assert overdue.status == S.DENIED
    decided_on = last + timedelta(days=20)
    accepted = run(
        filed,
        ev("cap_decided", decision_date=decided_on, outcome="accepted", ptan="PTAN9"),
        at(decided_on),
    ).state
    assert accepted.status == S.APPROVED and accepted.ptan == "PTAN9"
    not_accepted = run(
        filed, ev("cap_decided", decision_date=decided_on, outcome="not_accepted"), at(decided_on)
    ).state
    assert not_accepted.status == S.DENIED
    with pytest.raises(ValidationError, match="PTAN"):
        ev("cap_decided", decision_date=decided_on, outcome="accepted")


HARDSHIP_ON = date(2025, 2, 12)


def _hardship() -> ApplicationState:
    return run(
        in_review(), ev("fee_hardship_requested", requested_on=HARDSHIP_ON), at(HARDSHIP_ON)
    ).state


def test_item9_a_hardship_request_is_not_a_payment():
    s = _hardship()
    assert s.status == S.IN_REVIEW and s.fee_paid_on is None
    decision = clock(s, ClockKind.FEE_HARDSHIP_DECISION)
    assert decision.last_day == HARDSHIP_ON + timedelta(days=60)
    # Overdue: a follow-up, nothing changes.
    after = fire_due_clocks(s, start(decision.last_day + timedelta(days=1))).state
    assert after.status == S.IN_REVIEW
    assert after.events[-1].event == "fee_hardship_decision_overdue"
    # A fee letter while CMS decides: its 30 days do not run.
    letter = run(s, ev("fee_requested", letter_date=date(2025, 2, 20)), at(date(2025, 2, 20))).state
    assert letter.status == S.PENDING_FEE
    assert not [c for c in letter.clocks if c.kind == ClockKind.FEE_PAYMENT]
    assert fire_due_clocks(letter, start(date(2025, 3, 24))).state.status == S.PENDING_FEE


def test_item9_a_denied_hardship_request_gives_30_days_to_pay():
    denied_on = date(2025, 3, 10)
    s = run(_hardship(), ev("fee_hardship_denied", decision_date=denied_on), at(denied_on)).state
    assert s.status == S.PENDING_FEE
    last = denied_on + timedelta(days=30)
    assert clock(s, ClockKind.FEE_PAYMENT).last_day == last
    paid = run(s, ev("fee_paid", paid_on=last), at(last)).state
    assert paid.status == S.IN_REVIEW and paid.clocks == []
    assert fire_due_clocks(s, at(last)).state.status == S.PENDING_FEE
    assert fire_due_clocks(s, start(last + timedelta(days=1))).state.status == S.REJECTED


def test_item9_a_new_hardship_request_after_a_denial_awaits_its_own_decision():
    """Found by the lifecycle property test: a second request after a denial kept the first
    one's 'denied', so nothing was pending although the fee clock was stopped for it."""
    denied_on = date(2025, 3, 10)
    s = run(_hardship(), ev("fee_hardship_denied", decision_date=denied_on), at(denied_on)).state
    again_on = denied_on + timedelta(days=3)
    again = run(s, ev("fee_hardship_requested", requested_on=again_on), at(again_on)).state
    assert again.fee_hardship_requested_on == again_on and again.fee_hardship_outcome is None
    assert [c.kind for c in again.clocks] == [ClockKind.FEE_HARDSHIP_DECISION]
    decided = run(again, ev("fee_hardship_approved", decision_date=again_on), at(again_on)).state
    assert decided.fee_hardship_outcome == "approved" and decided.clocks == []


def test_item9_an_approved_hardship_request_waives_the_fee():
    approved_on = date(2025, 3, 10)
    s = run(_hardship(), ev("fee_hardship_approved", decision_date=approved_on), at(approved_on))
    assert s.state.status == S.IN_REVIEW and s.state.fee_hardship_outcome == "approved"
    assert s.state.clocks == []
    err = refused(s.state, ev("fee_hardship_denied", decision_date=approved_on), at(approved_on))
    assert "No hardship request" in err.message


def test_item12_an_initial_application_under_a_bar_is_refused_until_it_ends():
    from models.checks import KnownEnrollment

    barred_through = date(2025, 2, 3)
    known = KnownEnrollment(
        enrollment_id="I20200101000001",
        form="CMS-855I",
        state="NY",
        status="revoked",
        revoked_effective=date(2022, 2, 4),
        barred_through=barred_through,
    )
    s = create()
    s.known_enrollments = (known,)
    for submit_on, ok in ((barred_through, False), (barred_through + timedelta(days=1), True)):
        request = ev("submit", web_tracking_id="W1", submitted_on=submit_on)
        if ok:
            check_event(s, request, at(submit_on))
            continue
        err = refused(s, request, at(submit_on))
        assert err.code == "PresubmissionChecksFailed"
        assert "I20200101000001" in err.message and str(barred_through) in err.message


def test_one_provider_one_enrollment_per_line_of_business_is_flagged():
    from models.checks import KnownEnrollment, Severity

    active = KnownEnrollment(
        enrollment_id="I20200101000002", form="CMS-855I", state="NY", status="active"
    )
    elsewhere = KnownEnrollment(
        enrollment_id="I20200101000003", form="CMS-855I", state="NJ", status="active"
    )
    s = new_application(
        ApplicationCreate(
            application_id="app-2",
            organization_id="org-1",
            form="CMS-855I",
            purpose="initial",
            details=COMPLETE_855I,
            actor="ops@example.org",
            known_enrollments=(active, elsewhere),
        ),
        at(CREATED),
    )
    (found,) = [f for f in s.findings if f.code == "already_enrolled"]
    assert found.severity == Severity.WARNING and "I20200101000002" in found.message


def test_item13_a_response_dated_day_30_typed_in_on_day_50_withdraws_the_rejection():
    st = fire_due_clocks(_rejected_by_engine(), start(date(2025, 4, 7))).state  # closed
    day50 = DEV_REQ + timedelta(days=50)
    out = run(st, plausible("development_responded", DEV_LAST), at(day50))
    rec = out.state.events[-1]
    assert out.state.status == S.IN_REVIEW
    assert rec.event_date == DEV_LAST and rec.recorded_at == at(day50)  # both dates on record
    assert any(str(day50) in n for n in rec.notes)
    # Dated day 31: after the window, the rejection stands.
    err = refused(st, plausible("development_responded", DEV_LAST + timedelta(days=1)), at(day50))
    assert err.code == "IllegalTransition"


def test_item13_a_mac_outcome_recorded_in_between_keeps_the_consequence():
    denied = fire_due_clocks(_screening(), at(date(2025, 3, 25))).state  # engine: 03-23
    macs = run(denied, plausible("denied", date(2025, 4, 2)), at(date(2025, 4, 2))).state
    assert macs.before_consequence is None
    err = refused(macs, plausible("fingerprints_received", date(2025, 3, 22)), at(date(2025, 5, 1)))
    assert err.code == "IllegalTransition"


def test_item13_reopening_a_closed_application_for_a_correction():
    from models.application import ApplicationReopen, reopened_application

    closed = fire_due_clocks(_rejected_by_engine(), start(date(2025, 4, 7))).state
    assert closed.is_closed
    reopen_on = date(2025, 5, 12)
    state = reopened_application(
        ApplicationCreate(
            application_id=closed.application_id,
            organization_id=closed.organization_id,
            form=closed.form,
            purpose=closed.purpose,
            actor="admin@example.org",
            role="admin",
            reason="MAC confirmed the response of 2025-03-22",
            reopen=ApplicationReopen(state=closed, previous_run_id="run-1"),
        ),
        at(reopen_on),
    )
    assert not state.is_closed and state.events[-1].event == "reopened"
    assert state.events[-1].role == "admin"
    grace = clock(state, ClockKind.LATE_RECORDING)
    assert grace.started_on == reopen_on
    out = run(state, plausible("development_responded", DEV_LAST), at(reopen_on))
    assert out.state.status == S.IN_REVIEW and out.state.clocks == []
