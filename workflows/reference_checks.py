"""ReferenceChecksWorkflow: the outward data checks of enrollments, after a reference file was
loaded (only the records it touched) and monthly (every open enrollment, a Temporal Schedule).

Thin: one activity does the work (activities/reference_checks.py) and signals each enrollment
its findings; the enrollment workflow keeps one finding per fact and tells a new one once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from models.contracts import RUN_REFERENCE_CHECKS, ReferenceCheckRun

MONTHLY_SCHEDULE_ID = "reference-checks-monthly"
# The LEIE and the CMS files are published monthly; the run comes early on the 2nd (UTC).
MONTHLY = ScheduleCalendarSpec(
    day_of_month=(ScheduleRange(2),), hour=(ScheduleRange(6),), comment="monthly data checks"
)


@workflow.defn(name="ReferenceChecksWorkflow")
class ReferenceChecksWorkflow:
    @workflow.run
    async def run(self, run: ReferenceCheckRun) -> int:
        checked: int = await workflow.execute_activity(
            RUN_REFERENCE_CHECKS,
            run,
            result_type=int,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10), maximum_attempts=20),
            summary="data checks against the reference files",
        )
        return checked


def reference_checks_id(load_id: int | None) -> str:
    return f"reference-checks-load-{load_id}" if load_id is not None else "reference-checks"


async def start_reference_checks(client: Client, task_queue: str, run: ReferenceCheckRun) -> str:
    """Start the checks of a load, once per load: asking again for the same load is a no-op."""
    workflow_id = reference_checks_id(run.load_id)
    try:
        await client.start_workflow(
            ReferenceChecksWorkflow.run,
            run,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass
    return workflow_id


async def ensure_monthly_schedule(client: Client, task_queue: str) -> bool:
    """Create the monthly Schedule of the checks unless it exists; True when created."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReferenceChecksWorkflow.run,
            ReferenceCheckRun(),
            id="reference-checks-monthly-run",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(calendars=[MONTHLY]),
    )
    try:
        await client.create_schedule(MONTHLY_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        return False
    return True
