"""Orchestration shared by the record workflows: refusals, side effects, waiting for a clock.

Both ApplicationWorkflow and EnrollmentWorkflow are a pure reducer driven by updates and durable
timers; what they do around it is the same and lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.contracts import RECORD_NOTIFICATION, NotificationRequest, RecordKind
    from models.notices import Notice
    from models.records import EventRefused

# Side effects must eventually happen; a database outage delays them, it does not lose them.
EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["InvalidData"],
)
EFFECT_TIMEOUT = timedelta(seconds=30)


def refusal(exc: EventRefused) -> ApplicationError:
    """The only exception an update may raise: it fails the update, not the workflow task."""
    return ApplicationError(exc.message, exc.details(), type=exc.code, non_retryable=True)


def notifications(
    notices: Sequence[Notice],
    *,
    workflow_id: str,
    record_kind: RecordKind,
    record_id: str,
    organization_id: str,
    npi: str | None,
) -> list[Any]:
    """One notification activity per notice (delivered once: the outbox is keyed per notice)."""
    return [
        workflow.execute_activity(
            RECORD_NOTIFICATION,
            NotificationRequest(
                workflow_id=workflow_id,
                record_kind=record_kind,
                record_id=record_id,
                organization_id=organization_id,
                npi=npi,
                notice=notice,
            ),
            result_type=bool,
            start_to_close_timeout=EFFECT_TIMEOUT,
            retry_policy=EFFECT_RETRY,
            summary=f"notice {notice.key}",
        )
        for notice in notices
    ]


async def wait_for_change_or(
    wake: datetime | None, changed: Callable[[], bool], summary: str
) -> None:
    """Sleep until the next clock or reminder is due, or until an event changes the state."""
    try:
        await workflow.wait_condition(
            changed,
            timeout=None if wake is None else wake - workflow.now(),
            timeout_summary=summary,
        )
    except TimeoutError:
        pass
