"""PECOS access hygiene of one organisation (models/pecos_access.py): a long-running workflow
(id `pecos-access-<organisation>`) holding the people who can act for it in PECOS. Operators
record users, logins and password changes by update; a durable timer wakes it on the next day a
reminder, an expiry or a lock is due, in the organisation's time zone; each notice goes through
the notification outbox (exactly once by its key). It continues as new when its history grows.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.calendar import local_date, start_of_day
    from models.contracts import RECORD_NOTIFICATION, NotificationRequest
    from models.notices import Notice
    from models.pecos_access import (
        AccessEvent,
        AccessState,
        apply_access_event,
        due_access_notices,
        next_access_wake,
    )

NOTICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=0,  # a channel that is down delays a reminder, never drops it
)


def pecos_access_id(organization_id: str) -> str:
    return f"pecos-access-{organization_id}"


@workflow.defn(name="PecosAccessWorkflow")
class PecosAccessWorkflow:
    @workflow.init
    def __init__(self, start: AccessState) -> None:
        # Set before any update: the first event may arrive with the start (update-with-start).
        self._state: AccessState = start
        self._changed = False

    @workflow.run
    async def run(self, start: AccessState) -> None:
        while True:
            today = local_date(workflow.now(), start.time_zone)
            self._state, notices = due_access_notices(self._state, today)
            for notice in notices:
                await self._notify(notice)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._state)
            wake = next_access_wake(self._state, today)
            timeout = None
            if wake is not None:
                timeout = start_of_day(wake, start.time_zone) - workflow.now()
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed,
                    timeout=timeout,
                    timeout_summary=f"PECOS access: next due {wake}",
                )
            except TimeoutError:
                pass

    async def _notify(self, notice: Notice) -> None:
        req = NotificationRequest(
            workflow_id=workflow.info().workflow_id,
            record_kind="organization",
            record_id=f"{self._state.organization_id}/pecos-access",
            organization_id=self._state.organization_id,
            notice=notice,
        )
        await workflow.execute_activity(
            RECORD_NOTIFICATION,
            req,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=NOTICE_RETRY,
            summary=f"notice {notice.key}",
        )

    @workflow.update
    def record(self, event: AccessEvent) -> AccessState:
        self._state = apply_access_event(self._state, event)
        self._changed = True
        return self._state

    @record.validator
    def _check(self, event: AccessEvent) -> None:
        try:
            apply_access_event(self._state, event)
        except ValueError as exc:
            raise ApplicationError(
                str(exc), type="AccessEventRefused", non_retryable=True
            ) from None
        today = local_date(workflow.now(), self._state.time_zone)
        if event.on > today:
            raise ApplicationError("on: the date is in the future", type="AccessEventRefused")

    @workflow.query
    def state(self) -> AccessState:
        return self._state
