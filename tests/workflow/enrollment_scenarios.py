"""The enrollment scenarios tests/workflow/record_histories.py records for replay.

Each one drives EnrollmentWorkflow (and the applications linked to it) on the time-skipping test
server as an operator would, checks that it reached the state it is named after, and returns
every history it recorded: each run of the enrollment's chain of continue-as-new, and the
application workflows that took part. Synthetic data only (the harness's made-up provider).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory

from models.application import ApplicationStatus, application_workflow_id
from models.calendar import EnrollmentClockKind, add_days, add_months, last_day_of_month
from models.contracts import OpenApplication
from models.enrollment import EnrollmentStatus, enrollment_workflow_id
from tests.workflow.enrollment_driver import EnrollmentDriver
from tests.workflow.harness import ApplicationDriver
from workflows.application import ApplicationWorkflow
from workflows.enrollment import EnrollmentWorkflow

Recorded = list[tuple[str, WorkflowHistory]]
"""(file name without .json, history): the workflow id the replay reports is the file name."""
E = EnrollmentStatus


@dataclass(frozen=True)
class Drivers:
    application: ApplicationDriver
    enrollment: EnrollmentDriver


async def _chain(
    driver: EnrollmentDriver, handle: WorkflowHandle[Any, Any], first_run_id: str, name: str
) -> Recorded:
    """Every run of the enrollment, first to latest: `name` alone for a single run, else
    `name-run1`, `name-run2`, ... (run N+1 is the run that run N continued as new into)."""
    histories = await driver.run_histories(handle.id, first_run_id)
    if len(histories) == 1:
        return [(name, histories[0])]
    return [(f"{name}-run{i}", history) for i, history in enumerate(histories, 1)]


async def revalidation(d: Drivers) -> Recorded:
    """An imported enrollment (due date from the CMS list, 3 months on: inside the window)
    bills, opens its revalidation as a child application, which is filed and approved 45 days
    later and reports both back; the cycle ends in continue-as-new. In the next run a claim is
    recorded and the 12-month non-billing clock's first reminder fires (the run stays open)."""
    e, a = d.enrollment, d.application
    due = last_day_of_month(add_months(await e.today(), 3))
    handle = await e.start(
        enrollment_id="I20260101000101", source="import", revalidation_due_date=due.isoformat()
    )
    today = await e.today()
    await e.send(handle, "claim_activity", latest_claim_date=today.isoformat())
    ask = OpenApplication(purpose="revalidation", actor="ops@example.org", reason="MAC notice")
    app_id = await handle.execute_update(EnrollmentWorkflow.open_application, ask)
    child = a.client.get_workflow_handle_for(
        ApplicationWorkflow.run, application_workflow_id(app_id)
    )
    # The operator completes what the enrollment cannot know (the SSN), then files it.
    await a.send(child, "update_draft", changes={"legal_name": "Jane Q. Doe", "ssn": "123-45-6789"})
    await a.record(child, "submit", "signed")
    await a.record(child, "received_by_mac")
    decided = add_days(today, 45)
    await a.sleep_until_local(decided, 12)
    ptan = (await e.state(handle)).ptan
    await a.send(child, "approved", ptan=ptan, approval_date=decided.isoformat())
    assert (await child.result()).status == ApplicationStatus.APPROVED
    # A day on, the run loop has acted on the approval: continued as new into cycle 2.
    await e.sleep_until_local(add_days(decided, 1))
    state = await e.state(handle)
    assert state.cycle == 2 and state.status == E.ACTIVE, (state.cycle, state.status)
    assert (await handle.describe()).run_id != handle.first_execution_run_id
    state = await e.send(handle, "claim_activity", latest_claim_date=decided.isoformat())
    (non_billing,) = state.clocks_of(EnrollmentClockKind.NON_BILLING)
    first_reminder = non_billing.reminders[0].on
    await e.sleep_until_local(first_reminder)
    reminded = f"{non_billing.clock_id}:reminder:{(non_billing.last_day - first_reminder).days}"
    assert reminded in e.notification_keys(handle.id), e.notification_keys(handle.id)
    runs = await _chain(e, handle, handle.first_execution_run_id or "", "enrollment-revalidation")
    assert len(runs) == 2, [name for name, _ in runs]
    return [*runs, ("application-enrollment-revalidation", await child.fetch_history())]


async def missed_revalidation(d: Drivers) -> Recorded:
    """An imported enrollment misses its revalidation due date: stayed the next day,
    deactivated retroactively when the 30-day stay ends, a late revalidation refused by the
    validator, then reactivated (the reactivation revalidates it: a new cycle, continue-as-new,
    with the unbillable gap carried into the next run)."""
    e = d.enrollment
    due = last_day_of_month(add_months(await e.today(), 3))
    handle = await e.start(
        enrollment_id="I20260101000102", source="import", revalidation_due_date=due.isoformat()
    )
    await e.sleep_until_local(add_days(due, 1))
    assert (await e.state(handle)).status == E.STAYED
    await e.sleep_until_local(add_days(due, 31))
    assert (await e.state(handle)).status == E.DEACTIVATED
    late = await e.refused(
        handle, "revalidation_submitted", receipt_date=add_days(due, 31).isoformat()
    )
    assert late.type == "IllegalTransition", late
    receipt = add_days(due, 51)
    await e.sleep_until_local(receipt)
    await e.send(handle, "reactivation_submitted", receipt_date=receipt.isoformat())
    approved = add_days(receipt, 30)
    await e.sleep_until_local(approved)
    await e.send(handle, "reactivation_approved", approval_date=approved.isoformat())
    await e.sleep_until_local(add_days(approved, 1))
    state = await e.state(handle)
    assert state.status == E.ACTIVE and state.cycle == 2 and len(state.gaps) == 1, state.gaps
    runs = await _chain(
        e, handle, handle.first_execution_run_id or "", "enrollment-missed-revalidation"
    )
    assert len(runs) == 2, [name for name, _ in runs]
    return runs


async def revocation(d: Drivers) -> Recorded:
    """An initial application approved with its PECOS enrollment id starts its enrollment (a
    child workflow); the enrollment bills, is revoked with a 3-year re-enrollment bar, refuses a
    claim afterwards, and completes when the bar expires."""
    a, e = d.application, d.enrollment
    application = await a.create(application_id="approval-starts-enrollment")
    await a.record(application, "submit", "signed")
    await a.record(application, "received_by_mac")
    today = await a.today()
    await a.send(
        application,
        "approved",
        ptan="PT123456",
        approval_date=today.isoformat(),
        enrollment_id="I20260101000103",
    )
    assert (await application.result()).status == ApplicationStatus.APPROVED
    workflow_id = enrollment_workflow_id("I20260101000103")
    first_run_id = (await e.client.get_workflow_handle(workflow_id).describe()).run_id
    # Bound to the run, so result() reads its close event (this one never continues as new).
    handle = e.client.get_workflow_handle_for(
        EnrollmentWorkflow.run, workflow_id, run_id=first_run_id
    )
    await e.send(handle, "claim_activity", latest_claim_date=today.isoformat())
    notice = add_days(today, 20)
    await e.sleep_until_local(notice)
    state = await e.send(
        handle, "revoked", notice_date=notice.isoformat(), bar_years=3, grounds="424.535(a)(12)"
    )
    assert state.status == E.REVOKED
    refused = await e.refused(handle, "claim_activity", latest_claim_date=notice.isoformat())
    assert refused.type == "IllegalTransition", refused
    bar = await handle.query(EnrollmentWorkflow.reenrollment_bar)
    assert bar is not None
    await e.sleep_until_local(bar.barred_through)  # the bar's last day: still running
    # result() skips time only on handles from start_workflow (the SDK unlocks time skipping
    # around their wait); the application started this one, so unlock the same way. (A sleep
    # across the workflow's completion instead timed out on the Java test server.)
    async with e.env.time_skipping_unlocked():  # type: ignore[attr-defined]
        final = await handle.result()
    assert final.revocation is not None and final.revocation.bar_expired
    return [
        ("application-approval-starts-enrollment", await application.fetch_history()),
        *await _chain(e, handle, first_run_id, "enrollment-revocation"),
    ]
