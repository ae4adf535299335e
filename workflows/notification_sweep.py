"""The daily notification sweep: escalations and digests (activities/notification_sweep.py),
once a day at a fixed local hour, on the engine's own durable timer. One workflow per
deployment (id NOTIFICATION_SWEEP_ID), started by the worker when a routing file is set; it
continues as new every `days_per_run` days to keep its history short. The activity sends each
escalation and digest once by its key, so a sweep re-run on the same day sends nothing twice.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.calendar import local_date, start_of_day
    from models.contracts import SWEEP_NOTIFICATIONS, SweepSchedule

NOTIFICATION_SWEEP_ID = "notification-sweep"
SWEEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=0,  # the day's sweep is retried until it goes through (a channel is down)
)


@workflow.defn(name="NotificationSweepWorkflow")
class NotificationSweepWorkflow:
    @workflow.run
    async def run(self, schedule: SweepSchedule) -> None:
        for _ in range(schedule.days_per_run):
            now = workflow.now()
            today = local_date(now, schedule.time_zone)
            wake = start_of_day(today, schedule.time_zone) + timedelta(hours=schedule.hour)
            if wake <= now:
                wake = start_of_day(today + timedelta(days=1), schedule.time_zone) + timedelta(
                    hours=schedule.hour
                )
            await workflow.sleep(wake - now, summary=f"notification sweep at {wake.isoformat()}")
            await workflow.execute_activity(
                SWEEP_NOTIFICATIONS,
                local_date(workflow.now(), schedule.time_zone),
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=SWEEP_RETRY,
                summary="escalations and digests",
            )
        workflow.continue_as_new(schedule)
