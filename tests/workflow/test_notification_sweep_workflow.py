"""The daily notification sweep workflow (workflows/notification_sweep.py) on the time-skipping
test server: it runs the sweep once a day at the configured local hour with that day's local
date, and hands over to a new run after `days_per_run` days without missing a day."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from models.calendar import local_date
from models.contracts import SWEEP_NOTIFICATIONS, SweepSchedule
from workflows.notification_sweep import NotificationSweepWorkflow

ZONE = "America/Chicago"


async def test_the_sweep_runs_once_a_day_at_its_local_hour_across_runs(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    swept: list[tuple[date, datetime]] = []

    @activity.defn(name=SWEEP_NOTIFICATIONS)
    async def sweep(today: date) -> dict[str, int]:
        swept.append((today, activity.info().current_attempt_scheduled_time))
        return {"escalations": 0, "digests": 0}

    task_queue = f"sweep-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[NotificationSweepWorkflow],
        activities=[sweep],
    ):
        handle = await env.client.start_workflow(
            NotificationSweepWorkflow.run,
            SweepSchedule(hour=7, time_zone=ZONE, days_per_run=2),
            id=f"notification-sweep-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        start = await env.get_current_time()
        await env.sleep(timedelta(days=5, hours=1))
        desc = await handle.describe()
        history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[NotificationSweepWorkflow], data_converter=env.client.data_converter
    )
    await replayer.replay_workflow(history)  # the current run replays on this code
    assert desc.status == WorkflowExecutionStatus.RUNNING
    days = [d for d, _ in swept]
    first = local_date(start, ZONE)
    # Today's 07:00 may have passed when it started: then the first sweep is tomorrow's.
    assert days[0] in (first, first + timedelta(days=1))
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))]
    assert len(days) >= 5
    assert {at.astimezone(ZoneInfo(ZONE)).hour for _, at in swept} == {7}
    assert all(local_date(at, ZONE) == d for d, at in swept)
    assert desc.run_id != handle.first_execution_run_id  # continued as new, no day lost
