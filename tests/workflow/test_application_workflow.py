"""ApplicationWorkflow on the real time-skipping test server: transitions, refusals, clocks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from models.application import (
    APPLICATION_LIFECYCLE,
    ApplicationCreate,
    ApplicationEventRequest,
    ApplicationState,
    ApplicationStatus,
    EventRefused,
    apply_event,
    check_event,
    fire_due_clocks,
    new_application,
)
from models.calendar import ClockKind, add_days
from models.lifecycle import Transition
from tests.workflow.harness import (
    INDIVIDUAL,
    ZONE,
    ApplicationDriver,
    event_data,
    settled,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = ApplicationStatus


async def _to_review(driver: ApplicationDriver):  # type: ignore[no-untyped-def]
    handle = await driver.create()
    for event in ("submit", "signatures_completed", "received_by_mac"):
        await driver.record(handle, event)
    return handle


async def test_approval_path_computes_effective_date_and_projects(
    driver: ApplicationDriver,
) -> None:
    handle = await driver.create()
    today = await driver.today()
    state = await driver.state(handle)
    assert state.status == S.DRAFT
    for event in ("submit", "signatures_completed", "received_by_mac"):
        state = await driver.record(handle, event)
    assert state.status == S.IN_REVIEW
    state = await driver.record(handle, "development_requested")
    assert state.status == S.DEVELOPMENT_REQUESTED
    assert [c.kind.value for c in state.clocks] == ["development_response"]
    assert state.clocks[0].last_day == add_days(today, 30)
    state = await driver.record(handle, "development_responded")
    state = await driver.record(handle, "approved")
    assert state.status == S.APPROVED
    assert state.ptan == "PT123456"
    assert state.effective_date == today  # filing = MAC receipt date (424.520(d))
    assert state.retrospective_billing_from == add_days(today, -30)  # 424.521(a)
    assert state.clocks == []
    final = await handle.result()
    assert final.status == S.APPROVED
    assert [e.event for e in final.events] == [
        "created",
        "submit",
        "signatures_completed",
        "received_by_mac",
        "development_requested",
        "development_responded",
        "approved",
    ]
    assert all(e.actor for e in final.events) and all(e.reason for e in final.events)
    row = driver.row(state.application_id)
    assert row is not None and row.status == "approved" and row.ptan == "PT123456"
    assert row.mac_jurisdiction == "JN"
    kinds = [n.kind for n in driver.notifications(handle.id)]
    assert kinds.count("event") == 6


Plan = list[tuple[str, str | None]]
ADVANCE = "<let the earliest clock run out>"


def _paths_to_every_transition() -> list[tuple[Transition[S], Plan]]:
    """For every operator row of the table, the shortest sequence of operator events that reaches
    its source state with its guard holding, found with the pure reducer."""
    now = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
    today = now.date()
    adapter: TypeAdapter[object] = TypeAdapter(ApplicationEventRequest)
    start = new_application(
        ApplicationCreate(
            application_id="plan",
            organization_id="o",
            form="CMS-855I",  # type: ignore[arg-type]
            purpose="initial",  # type: ignore[arg-type]
            time_zone=ZONE,
            details=INDIVIDUAL,  # type: ignore[arg-type]
            actor="a",
        ),
        now,
    )
    variants: dict[str, list[str | None]] = {
        "reconsideration_decided": ["upheld", "reversed"],
        "cap_decided": ["not_accepted", "accepted"],
        "submit": [None, "signed"],
    }
    frontier: list[tuple[ApplicationState, Plan, datetime]] = [(start, [], now)]
    seen: set[tuple[str, bool, tuple[str, ...], bool]] = set()
    found: dict[tuple[str, str, str], Plan] = {}
    while frontier:
        nxt = []
        for state, path, at in frontier:
            key = (
                state.status.value,
                state.case_number is not None,
                tuple(sorted(c.kind.value for c in state.clocks)),
                bool(state.decision and state.decision.by_engine),
            )
            if key in seen:
                continue
            seen.add(key)
            today = state.today(at)
            for event in APPLICATION_LIFECYCLE.allowed_events(state.status):
                for variant in variants.get(event, [None]):
                    data = event_data(event, today, variant)
                    req = adapter.validate_python(
                        {"event": event, "actor": "a", "reason": "r", **data}
                    )
                    try:
                        check_event(state, req, at)  # type: ignore[arg-type]
                    except EventRefused:
                        continue
                    after = apply_event(state, req, at).state  # type: ignore[arg-type]
                    step = [*path, (event, variant)]
                    found.setdefault((state.status.value, event, after.status.value), step)
                    nxt.append((after, step, at))
            # Or let the earliest regulatory clock run out (the engine's own consequences lead
            # to rows such as the MAC's notice over an inferred denial).
            deadlines = [c for c in state.clocks if c.kind != ClockKind.LATE_RECORDING]
            if deadlines:
                later = min(c.fires_at for c in deadlines) + timedelta(hours=1)
                nxt.append((fire_due_clocks(state, later).state, [*path, (ADVANCE, None)], later))
        frontier = nxt
    result = []
    for t in APPLICATION_LIFECYCLE.transitions:
        if not APPLICATION_LIFECYCLE.is_operator_event(t.event):
            continue
        key = (t.source.value, t.event, t.target.value)
        assert key in found, f"no path exercises {key}"
        result.append((t, found[key]))
    return result


async def test_every_operator_transition_of_the_table(driver: ApplicationDriver) -> None:
    plans = _paths_to_every_transition()
    assert len(plans) >= 40
    for transition, path in plans:
        handle = await driver.create()
        state = await driver.state(handle)
        for event, variant in path:
            before = state.status
            if event == ADVANCE:
                soonest = min(
                    c.fires_at for c in state.clocks if c.kind != ClockKind.LATE_RECORDING
                )
                await driver.env.sleep(soonest + timedelta(hours=1) - await driver.now())
                state = await driver.state(handle)
                continue
            state = await driver.record(handle, event, variant)
        assert before == transition.source
        assert state.status == transition.target, (transition, path)


async def test_every_illegal_event_is_refused_naming_state_and_allowed_events(
    driver: ApplicationDriver,
) -> None:
    handle = await _to_review(driver)
    today = await driver.today()
    allowed = APPLICATION_LIFECYCLE.allowed_events(S.IN_REVIEW)
    for event in APPLICATION_LIFECYCLE.events:
        if event in allowed or not APPLICATION_LIFECYCLE.is_operator_event(event):
            continue
        err = await driver.refused(handle, event.value, **event_data(event.value, today))
        assert err.type == "IllegalTransition"
        assert "'in_review'" in err.message and event.value in err.message
        details = err.details[0]
        assert details["status"] == "in_review"
        assert set(details["allowed_events"]) == {e.value for e in allowed}
    assert (await driver.state(handle)).status == S.IN_REVIEW


async def test_refused_update_writes_no_update_events(driver: ApplicationDriver) -> None:
    handle = await _to_review(driver)
    await driver.state(handle)  # its side effects done: they add history events
    before = [e.event_type for e in (await handle.fetch_history()).events]
    await driver.refused(handle, "submit", web_tracking_id="WT-9")
    after = [e.event_type for e in (await handle.fetch_history()).events]
    # The Java test server adds 3 workflow-task events for a rejected update (the real server
    # adds none; see test_dev_server.py); no update is ever accepted or completed.
    added = after[len(before) :]
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED not in added
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED not in added
    assert len(added) <= 3


async def test_bad_dates_are_refused_with_the_field(driver: ApplicationDriver) -> None:
    handle = await _to_review(driver)
    today = await driver.today()
    err = await driver.refused(
        handle,
        "development_requested",
        request_date=add_days(today, 1).isoformat(),
        items=["x"],
    )
    assert err.type == "InvalidEventData"
    assert err.details[0]["field"] == "request_date"
    assert "future" in err.message
    err = await driver.refused(
        handle, "approved", ptan="P1", approval_date=add_days(today, -400).isoformat()
    )
    assert err.type == "InvalidEventData" and "before" in err.message


async def test_submit_refused_while_presubmission_checks_fail(driver: ApplicationDriver) -> None:
    handle = await driver.create(details={"legal_name": "Jane Doe"})
    err = await driver.refused(handle, "submit", web_tracking_id="WT-1")
    assert err.type == "PresubmissionChecksFailed"
    fields = {f["field"] for f in err.details[0]["findings"]}
    assert {"npi", "state", "ssn"} <= fields
    state = await driver.record(
        handle, "update_draft"
    )  # findings refreshed by the check activity after each change
    assert {f.field for f in state.findings} >= {"npi", "state", "ssn"}
    await driver.send(
        handle,
        "update_draft",
        changes={"npi": "1234567893", "ssn": "123-45-6789", "state": "TX"},
    )
    state = await driver.record(handle, "submit")
    assert state.status == S.PENDING_SIGNATURE


async def test_development_response_on_day_30_is_on_time(driver: ApplicationDriver) -> None:
    handle = await _to_review(driver)
    state = await driver.record(handle, "development_requested")
    request_date = state.development_requests[-1].request_date
    await driver.sleep_until_local(add_days(request_date, 29), 12)
    assert (await driver.state(handle)).status == S.DEVELOPMENT_REQUESTED
    await driver.sleep_until_local(add_days(request_date, 30), 23)
    assert (await driver.state(handle)).status == S.DEVELOPMENT_REQUESTED
    state = await driver.record(handle, "development_responded")
    assert state.status == S.IN_REVIEW
    assert state.development_requests[-1].responded_on == add_days(request_date, 30)


async def test_development_unanswered_after_day_30_rejects(driver: ApplicationDriver) -> None:
    handle = await _to_review(driver)
    state = await driver.record(handle, "development_requested")
    request_date = state.development_requests[-1].request_date
    await driver.sleep_until_local(add_days(request_date, 31), 1)
    state = await driver.state(handle)
    assert state.status == S.REJECTED
    assert state.decision is not None and state.decision.by_engine
    assert state.events[-1].event == "development_window_expired"
    assert state.events[-1].actor == "engine"
    final = await handle.result()
    assert final.status == S.REJECTED
    notices = driver.notifications(handle.id)
    keys = [n.idempotency_key.split("/", 1)[1] for n in notices]
    clock = state.closed_clocks[-1].clock.clock_id if state.closed_clocks else ""
    assert f"{clock}:reminder:7" in keys and f"{clock}:reminder:1" in keys
    assert f"{clock}:expired" in keys
    assert len(keys) == len(set(keys))
    row = driver.row(state.application_id)
    assert row is not None and row.status == "rejected" and row.next_deadline is None


async def test_signature_window_20_days_both_sides(driver: ApplicationDriver) -> None:
    on_time = await driver.create()
    late = await driver.create()
    s1 = await driver.record(on_time, "submit")
    await driver.record(late, "submit")
    submitted = s1.submitted_on
    assert submitted is not None and s1.clocks[0].last_day == add_days(submitted, 20)
    await driver.sleep_until_local(add_days(submitted, 20), 20)
    assert (await driver.record(on_time, "signatures_completed")).status == S.SUBMITTED
    assert (await driver.state(late)).status == S.PENDING_SIGNATURE
    await driver.sleep_until_local(add_days(submitted, 21), 0)
    await driver.env.sleep(timedelta(minutes=1))
    assert (await driver.state(late)).status == S.REJECTED
    assert (await driver.state(on_time)).status == S.SUBMITTED


async def test_fee_window_30_days_both_sides(driver: ApplicationDriver) -> None:
    paid = await _to_review(driver)
    unpaid = await _to_review(driver)
    state = await driver.record(paid, "fee_requested")
    await driver.record(unpaid, "fee_requested")
    letter = state.fee_requested_on
    assert letter is not None
    await driver.sleep_until_local(add_days(letter, 30), 18)
    state = await driver.record(paid, "fee_paid")
    assert state.status == S.IN_REVIEW  # the MAC had acknowledged receipt
    await driver.sleep_until_local(add_days(letter, 31), 9)
    assert (await driver.state(unpaid)).status == S.REJECTED


async def test_fingerprints_30_days_both_sides_and_denial_windows(
    driver: ApplicationDriver,
) -> None:
    on_time = await _to_review(driver)
    late = await _to_review(driver)
    state = await driver.record(on_time, "fingerprints_requested")
    await driver.record(late, "fingerprints_requested")
    letter = state.fingerprints_requested_on
    assert letter is not None and state.status == S.SCREENING
    await driver.sleep_until_local(add_days(letter, 30), 12)
    assert (await driver.record(on_time, "fingerprints_received")).status == S.IN_REVIEW
    await driver.sleep_until_local(add_days(letter, 31), 6)
    state = await driver.state(late)
    assert state.status == S.DENIED
    kinds = {c.kind.value: c for c in state.clocks}
    assert set(kinds) == {"corrective_action_plan", "reconsideration_request", "late_recording"}
    denied_on = add_days(letter, 31)
    # 30 / 60 days from presumed receipt, 5 days after the notice (docs/regulation.md,
    # "Counting days")
    assert kinds["corrective_action_plan"].last_day == add_days(denied_on, 35)
    assert kinds["reconsideration_request"].last_day == add_days(denied_on, 65)


async def test_reconsideration_window_closes_the_denial(driver: ApplicationDriver) -> None:
    handle = await _to_review(driver)
    state = await driver.record(handle, "denied")
    notice = state.decision.on if state.decision else None
    assert notice is not None
    await driver.sleep_until_local(add_days(notice, 65), 12)
    state = await driver.state(handle)
    assert state.status == S.DENIED and [c.kind.value for c in state.clocks] == [
        "reconsideration_request"
    ]
    await driver.sleep_until_local(add_days(notice, 66), 1)
    final = await handle.result()
    assert final.status == S.DENIED and final.clocks == []
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_reconsideration_reversal_approves(driver: ApplicationDriver) -> None:
    handle = await _to_review(driver)
    await driver.record(handle, "denied")
    state = await driver.record(handle, "reconsideration_requested")
    assert state.status == S.RECONSIDERATION_REQUESTED
    assert [c.kind.value for c in state.clocks] == ["reconsideration_decision"]
    state = await driver.record(handle, "reconsideration_decided", "reversed")
    assert state.status == S.APPROVED and state.ptan == "PT999"
    assert (await handle.result()).status == S.APPROVED


async def test_back_dated_request_past_its_window_rejects_at_once(
    driver: ApplicationDriver,
) -> None:
    handle = await driver.create()
    today = await driver.today()
    old = add_days(today, -40)
    await driver.send(
        handle,
        "submit",
        web_tracking_id="WT-1",
        submitted_on=old.isoformat(),
        signed_on=old.isoformat(),
    )
    await driver.send(handle, "received_by_mac", case_number="C", receipt_date=old.isoformat())
    state = await driver.send(
        handle,
        "development_requested",
        request_date=add_days(old, 1).isoformat(),
        items=["license"],
    )
    assert state.status == S.REJECTED
    record = next(e for e in state.events if e.event == "development_requested")
    assert any("already ended" in n for n in record.notes)


async def test_approval_starts_the_enrollment_and_revalidation_reports_to_it(
    driver: ApplicationDriver,
) -> None:
    from models.enrollment import enrollment_workflow_id
    from workflows.enrollment import EnrollmentWorkflow

    today = await driver.today()
    enrollment_id = f"I{today:%Y%m%d}{uuid.uuid4().int % 1_000_000:06d}"
    handle = await _to_review(driver)
    await driver.send(
        handle,
        "approved",
        ptan="PT-55",
        approval_date=today.isoformat(),
        enrollment_id=enrollment_id,
    )
    await driver.state(handle)  # the approval's side effects include starting the enrollment
    enrollment = driver.client.get_workflow_handle(enrollment_workflow_id(enrollment_id))
    state = await enrollment.query(EnrollmentWorkflow.state)
    assert state.status.value == "active" and state.ptan == "PT-55"
    assert state.effective_date == today and state.npi == "1234567893"
    due = state.revalidation_due_date
    assert due is not None and state.revalidation_window_opens is not None

    # The provider bills (else 12 months without a claim deactivate the enrollment) ...
    from pydantic import TypeAdapter

    from models.enrollment import EnrollmentEventRequest

    claims: TypeAdapter[object] = TypeAdapter(EnrollmentEventRequest)
    day = today
    while add_days(day, 300) < state.revalidation_window_opens:
        day = add_days(day, 300)
        await driver.sleep_until_local(day, 10)
        claim = claims.validate_python(
            {
                "event": "claim_activity",
                "latest_claim_date": day.isoformat(),
                "actor": "a",
                "reason": "r",
            }
        )
        await enrollment.execute_update(EnrollmentWorkflow.record_event, claim)  # type: ignore[arg-type]
    # ... and revalidates through an application of its own, linked by the enrollment id.
    await driver.sleep_until_local(add_days(state.revalidation_window_opens, 5), 10)
    reval = await driver.create(
        purpose="revalidation",
        details={
            **INDIVIDUAL,
            "enrollment_id": enrollment_id,
            "revalidation_due_date": due.isoformat(),
        },
    )
    await driver.record(reval, "submit", "signed")
    await driver.state(reval)  # telling the enrollment is one of the update's side effects
    state = await enrollment.query(EnrollmentWorkflow.state)
    assert state.revalidation_submitted_on == await driver.today()
    for event in ("received_by_mac", "approved"):
        await driver.record(reval, event)
    await driver.state(reval)
    state = await settled(enrollment, EnrollmentWorkflow.state)
    assert state.cycle == 2 and state.revalidation_due_date is not None
    assert state.revalidation_due_date > due
