"""Issue 15 on the real time-skipping test server: a revalidation the MAC rejects (after and
before the due date) reaches its enrollment; an approval without an enrollment ID still starts
one, which its PECOS ID later replaces; a closed application is reopened for a correction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from models.application import (
    ApplicationCreate,
    ApplicationEventRequest,
    ApplicationReopen,
    ApplicationStatus,
    application_workflow_id,
)
from models.calendar import EnrollmentClockKind as K
from models.calendar import add_days, add_months, last_day_of_month
from models.contracts import OpenApplication
from models.enrollment import EnrollmentStatus, enrollment_workflow_id
from tests.workflow.enrollment_driver import EnrollmentDriver
from tests.workflow.harness import INDIVIDUAL, ZONE, ApplicationDriver, settled
from worker import build_worker
from workflows.application import ApplicationWorkflow
from workflows.enrollment import EnrollmentWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
S = EnrollmentStatus
A = ApplicationStatus
EVENTS: TypeAdapter[Any] = TypeAdapter(ApplicationEventRequest)


@pytest.fixture
async def drivers(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[tuple[EnrollmentDriver, ApplicationDriver]]:
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        yield (
            EnrollmentDriver(time_skipping_env, task_queue, sqlite_engine),
            ApplicationDriver(time_skipping_env, task_queue, sqlite_engine),
        )


async def _child(enrollments: EnrollmentDriver, handle: Any, purpose: str) -> Any:
    """The enrollment opens its own revalidation or reactivation application."""
    ask = OpenApplication(purpose=purpose, actor="ops@example.org", reason="r")  # type: ignore[arg-type]
    app_id = await handle.execute_update(EnrollmentWorkflow.open_application, ask)
    return enrollments.client.get_workflow_handle(application_workflow_id(app_id))


async def _record(child: Any, event: str, **data: Any) -> Any:
    request = EVENTS.validate_python(
        {"event": event, "actor": "ops@example.org", "reason": f"test {event}", **data}
    )
    await child.execute_update(ApplicationWorkflow.record_event, request)
    # Telling the enrollment is one of the update's side effects: wait for them.
    return await settled(child, ApplicationWorkflow.state)


async def _file(child: Any, on: date) -> None:
    await _record(child, "update_draft", changes={"legal_name": "Jane Doe", "ssn": "123-45-6789"})
    await _record(child, "submit", web_tracking_id="WT-1", signed_on=on.isoformat())
    await _record(child, "received_by_mac", case_number="C-1", receipt_date=on.isoformat())


async def test_a_revalidation_rejected_after_the_due_date_stays_then_deactivates_to_it(
    drivers: tuple[EnrollmentDriver, ApplicationDriver],
) -> None:
    enrollments, _ = drivers
    due = last_day_of_month(add_months(await enrollments.today(), 3))
    handle = await enrollments.start(
        source="import", revalidation_due_date=due.isoformat(), legal_name="Jane Doe"
    )
    filed_on = await enrollments.today()
    revalidation = await _child(enrollments, handle, "revalidation")
    await _file(revalidation, filed_on)
    state = await enrollments.state(handle)
    assert state.revalidation_submitted_on == filed_on and not state.clocks_of(K.REVALIDATION_DUE)

    # Filed in time: the due date passes with nothing happening.
    await enrollments.sleep_until_local(add_days(due, 10))
    assert (await enrollments.state(handle)).status == S.ACTIVE

    # The MAC rejects it ten days after the due date: the filing no longer counts.
    app = await _record(revalidation, "rejected", grounds="incomplete", notice_date=None)
    assert app.status == A.REJECTED
    state = await enrollments.state(handle)
    assert state.status == S.STAYED and state.revalidation_submitted_on is None
    stay = state.clocks_of(K.STAY)[0]
    assert stay.last_day == add_days(due, 30)  # day 0 = the due date, the missed date
    assert state.stays[-1].deactivation_effective == due

    await enrollments.sleep_until_local(add_days(due, 30))
    assert (await enrollments.state(handle)).status == S.STAYED  # its last day counts
    await enrollments.sleep_until_local(add_days(due, 31))
    state = await enrollments.state(handle)
    assert state.status == S.DEACTIVATED and state.deactivation is not None
    assert state.deactivation.effective_date == due  # retroactive to the due date

    # A reactivation, received 45 days after the due date, approved: the unbillable gap.
    receipt = add_days(due, 45)
    await enrollments.sleep_until_local(receipt)
    reactivation = await _child(enrollments, handle, "reactivation")
    await _file(reactivation, receipt)
    approved_on = add_days(receipt, 20)
    await enrollments.sleep_until_local(approved_on)
    await _record(reactivation, "approved", ptan=state.ptan, approval_date=approved_on.isoformat())
    state = await enrollments.state(handle)
    assert state.status == S.ACTIVE and state.current_effective_date == receipt
    (gap,) = state.gaps
    assert (gap.deactivated_from, gap.through, gap.days) == (due, add_days(receipt, -1), 45)
    row = enrollments.row(state.enrollment_id)
    assert row is not None and row.unbillable_days == 45 and row.legal_name == "Jane Doe"


async def test_a_revalidation_rejected_before_the_due_date_puts_the_due_date_back(
    drivers: tuple[EnrollmentDriver, ApplicationDriver],
) -> None:
    enrollments, _ = drivers
    due = last_day_of_month(add_months(await enrollments.today(), 3))
    handle = await enrollments.start(source="import", revalidation_due_date=due.isoformat())
    revalidation = await _child(enrollments, handle, "revalidation")
    await _file(revalidation, await enrollments.today())
    await enrollments.sleep_until_local(add_days(due, -20))
    await _record(revalidation, "rejected", grounds="development not answered")
    state = await enrollments.state(handle)
    assert state.status == S.ACTIVE
    assert state.clocks_of(K.REVALIDATION_DUE)[0].last_day == due  # the original due date
    # A refiling is a new application of the same cycle.
    again = await _child(enrollments, handle, "revalidation")
    assert again.id != revalidation.id
    await enrollments.sleep_until_local(due)
    assert (await enrollments.state(handle)).status == S.ACTIVE  # its last day counts
    await enrollments.sleep_until_local(add_days(due, 1))
    assert (await enrollments.state(handle)).status == S.STAYED


async def test_an_approval_without_an_enrollment_id_starts_a_provisional_enrollment(
    drivers: tuple[EnrollmentDriver, ApplicationDriver],
) -> None:
    enrollments, applications = drivers
    handle = await applications.create()
    for event in ("submit", "signatures_completed", "received_by_mac", "approved"):
        state = await applications.record(handle, event)
    assert state.status == A.APPROVED and state.enrollment_id_provisional
    provisional = state.enrollment_id
    assert provisional is not None and provisional.startswith("P")
    await applications.state(handle)  # the enrollment is started as a side effect
    old = enrollments.client.get_workflow_handle(enrollment_workflow_id(provisional))
    first = await settled(old, EnrollmentWorkflow.state)
    assert first.provisional and first.legal_name == INDIVIDUAL["legal_name"]
    assert first.clocks_of(K.REVALIDATION_DUE)

    pecos = f"I{(await enrollments.today()):%Y%m%d}{uuid.uuid4().int % 1_000_000:06d}"
    replaced = await enrollments.send(old, "enrollment_id_assigned", enrollment_id=pecos)
    assert replaced.status == S.REPLACED and replaced.replaced_by == pecos
    assert await old.result()  # the provisional record ends once it has handed over
    assert (await old.describe()).status == WorkflowExecutionStatus.COMPLETED
    new = enrollments.client.get_workflow_handle(enrollment_workflow_id(pecos))
    carried = await settled(new, EnrollmentWorkflow.state)
    assert carried.replaces == provisional and carried.status == S.ACTIVE
    assert {c.clock_id for c in carried.clocks} == {c.clock_id for c in first.clocks}
    row = enrollments.row(provisional)
    assert row is not None and row.status == "replaced" and row.open_clocks == 0


async def test_a_closed_application_reopened_for_a_correction(
    drivers: tuple[EnrollmentDriver, ApplicationDriver],
) -> None:
    _, applications = drivers
    handle = await applications.create()
    for event in ("submit", "signatures_completed", "received_by_mac", "development_requested"):
        await applications.record(handle, event)
    requested = await applications.today()
    # Unanswered: rejected on day 31; the record closes 14 days later.
    closed = await handle.result()
    assert closed.status == A.REJECTED and closed.is_closed
    run_id = (await handle.describe()).run_id
    create = ApplicationCreate(
        application_id=closed.application_id,
        organization_id=closed.organization_id,
        form=closed.form,
        purpose=closed.purpose,
        time_zone=ZONE,
        actor="admin@example.org",
        role="admin",
        reason="the response of day 30 was found in the mailroom",
        reopen=ApplicationReopen(state=closed, previous_run_id=run_id),
    )
    reopened = await applications.client.start_workflow(
        ApplicationWorkflow.run,
        create,
        id=handle.id,
        task_queue=applications.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    day30 = add_days(requested, 30)
    state = await applications.send(
        reopened, "development_responded", responded_on=day30.isoformat()
    )
    assert state.status == A.IN_REVIEW
    record = state.events[-1]
    assert record.event_date == day30 and record.recorded_at.date() > day30
    assert [e.event for e in state.events[-3:]] == [
        "late_recording_window_closed",
        "reopened",
        "development_responded",
    ]
