"""The worker's sandbox (workflows/sandbox.py) passes the pure modules through and still refuses
a non-deterministic call in workflow code: the workflow task fails (the workflow stays open,
temporal.md §5 pitfall 2), and a passed-through domain module works inside it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.sandbox import workflow_runner

with workflow.unsafe.imports_passed_through():
    from models.calendar import local_date


@workflow.defn(sandboxed=True)
class ReadsTheWallClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # what the sandbox must refuse


@workflow.defn(sandboxed=True)
class UsesTheDomain:
    @workflow.run
    async def run(self) -> str:
        return local_date(workflow.now(), "America/New_York").isoformat()


async def _task_failure(handle: WorkflowHandle[Any, Any]) -> str | None:
    """The type of the first workflow task failure (its message is encoded by the codec)."""
    for _ in range(100):
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                failure = event.workflow_task_failed_event_attributes.failure
                return str(failure.application_failure_info.type)
        await asyncio.sleep(0.1)
    return None


async def test_the_sandbox_still_refuses_the_wall_clock(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ReadsTheWallClock, UsesTheDomain],
        workflow_runner=workflow_runner(),
    ):
        fine = await client.execute_workflow(
            UsesTheDomain.run, id=f"domain-{uuid.uuid4().hex}", task_queue=queue
        )
        assert date.fromisoformat(fine)
        handle = await client.start_workflow(
            ReadsTheWallClock.run, id=f"clock-{uuid.uuid4().hex}", task_queue=queue
        )
        assert await _task_failure(handle) == "RestrictedWorkflowAccessError"
        await handle.terminate()
