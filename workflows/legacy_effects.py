"""Side effects as the record workflows ran them before the effect queue (workflows/effects.py):
awaited inside the update handler, under the record's lock.

Kept only so that histories recorded before the queue replay deterministically: a workflow that
began before the `effects-queue` patch keeps running this way until it completes (or, for an
enrollment, until its next continue-as-new, which starts on the queue). Delete with the patch
once no such workflow is left (README, "Versioning").
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.contracts import RECORD_NOTIFICATION, NotificationRequest

# As recorded in those histories.
EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["InvalidData"],
)
EFFECT_TIMEOUT = timedelta(seconds=30)


def execute(activity: str, arg: Any, summary: str, result_type: Any = None) -> Any:
    return workflow.execute_activity(
        activity,
        arg,
        result_type=result_type,
        start_to_close_timeout=EFFECT_TIMEOUT,
        retry_policy=EFFECT_RETRY,
        summary=summary,
    )


async def run_inline(requests: Sequence[NotificationRequest], projection: tuple[str, Any]) -> None:
    """One notification activity per notice and the projection, awaited together."""
    tasks = [execute(RECORD_NOTIFICATION, r, f"notice {r.notice.key}", bool) for r in requests]
    tasks.append(execute(projection[0], projection[1], "read model"))
    await asyncio.gather(*tasks)
