"""Runs started today take every patch of their generation without writing a marker
(workflows/patches.py); runs whose input has no generation, as every run started before
generations existed, still record one per patch they take.

On the time-skipping server with the real worker and API: an application created through the
API and approved, the enrollment it starts, against the same workflow started with a
generation-0 input."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from models.application import ApplicationCreate, application_workflow_id
from models.enrollment import enrollment_workflow_id
from tests.integration.test_api_reads import Stack, stack
from workflows.application import ApplicationWorkflow
from workflows.patches import CURRENT_GENERATION, GENERATIONS

__all__ = ["stack"]  # the fixture, imported for pytest

MARKER = EventType.EVENT_TYPE_MARKER_RECORDED


def _kinds(history: WorkflowHistory, kind: EventType.ValueType) -> int:
    return sum(1 for e in history.events if e.event_type == kind)


def _activities(history: WorkflowHistory) -> set[str]:
    return {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }


async def test_a_run_started_today_takes_its_patches_without_markers(stack: Stack) -> None:
    created = await stack.create(
        form="CMS-855I",
        purpose="initial",
        details={"legal_name": "Ann Gen", "npi": "1234567893", "ssn": "123-45-6789", "state": "FL"},
    )
    app_id = created["application_id"]
    approved = await stack.record(
        app_id, "submit", "signatures_completed", "received_by_mac", "approved"
    )
    assert approved["status"] == "approved" and approved["enrollment_id"], approved
    client = stack.env.client
    application = await client.get_workflow_handle(application_workflow_id(app_id)).fetch_history()
    enrollment = await client.get_workflow_handle(
        enrollment_workflow_id(approved["enrollment_id"])
    ).fetch_history()
    for history in (application, enrollment):
        assert _kinds(history, MARKER) == 0
        # The patched side, taken: one side-effect activity per round (effects-round), and
        # search attributes kept current (search-attributes).
        assert "record_effects" in _activities(history)
        assert _kinds(history, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) > 0
    assert CURRENT_GENERATION == max(GENERATIONS)


async def test_a_run_without_a_generation_records_its_patches(stack: Stack) -> None:
    app_id = f"gen0-{uuid.uuid4().hex[:8]}"
    handle = await stack.env.client.start_workflow(
        ApplicationWorkflow.run,
        ApplicationCreate(
            application_id=app_id,
            organization_id="org-gen",
            form="CMS-855I",
            purpose="initial",
            details={"legal_name": "Ann Old", "npi": "1234567893", "state": "FL"},
            actor="ops@example.org",
        ),
        id=application_workflow_id(app_id),
        task_queue=stack.settings.task_queue,
    )
    assert (await stack.event(app_id, "withdrawn")).status_code == 200
    await handle.result()
    history = await handle.fetch_history()
    patches = {
        e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
        for e in history.events
        if e.event_type == MARKER
    }
    assert len(patches) >= 3, patches
    assert "record_effects" in _activities(history)
