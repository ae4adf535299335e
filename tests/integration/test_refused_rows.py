"""Issue 16, defect 1 (second half): no read-model problem can fail or wedge a workflow.

On PostgreSQL, the read model refuses one record's row (its legal name no longer fits the
column, as after a schema drift; a NUL was refused the same way before free text refused it at
the door). The record's workflow keeps running: every later event answers 200 at once with the
new state, no workflow task fails, and the refusal is the record's incident, not an error of
the events.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.database import create_schema
from models.contracts import READ_MODEL_DATA_REJECTED
from tests.integration.test_api_reads import eventually, unique
from tests.integration.test_side_effects import POSTGRES_URL, _engine, _stack, schema

__all__ = ["schema"]  # the fixture, used by name

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.postgres]


async def test_a_refused_row_leaves_the_workflow_running_and_events_answering(
    dev_env: WorkflowEnvironment, schema: str
) -> None:
    engine = _engine(POSTGRES_URL, schema)
    await asyncio.to_thread(create_schema, engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE application ALTER COLUMN legal_name TYPE varchar(8)")
    refused, fits = unique("refused"), unique("fits")
    try:
        async with _stack(dev_env, engine) as stack:
            await stack.create(refused, legal_name="Annabel Smith-Jones")
            await stack.create(fits, legal_name="Ann Lee")

            async def rejected() -> bool:
                incidents = (await stack.get(refused))["incidents"]
                return any(i["error_type"] == READ_MODEL_DATA_REJECTED for i in incidents)

            await eventually(rejected, "the refused row's incident", seconds=30)
            [incident] = (await stack.get(refused))["incidents"]
            assert incident["message"].endswith(
                "INSERT failed (StringDataRightTruncation, SQLSTATE 22001)"
            ), incident

            # Every later event answers at once with its new state, one after another.
            started = time.monotonic()
            await stack.event(refused, "update_draft", changes={"provider_type": "Cardiology"})
            state = await stack.record(refused, "submit", "signatures_completed")
            assert state["status"] == "submitted", state
            state = await stack.record(refused, "received_by_mac")
            assert state["status"] == "in_review", state
            events_took = time.monotonic() - started
            assert (await stack.get(refused))["status"] == "in_review"

            handle = dev_env.client.get_workflow_handle(f"application-{refused}")
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            history = await handle.fetch_history()
            kinds = {e.event_type for e in history.events}
            assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
            assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED in kinds
            # The other record is untouched by its neighbour's refusal.
            await eventually(lambda: stack.projected(fits, status="draft"), "the other row")
            assert (await stack.get(fits))["incidents"] == []
    finally:
        engine.dispose()
    print(f"\n4 events on a record whose row is refused: {events_took:.2f} s")
