"""SIGTERM, as Kubernetes and compose stop a process: a worker stops polling and lets its
in-flight activities finish (within ENROLL_WORKER_SHUTDOWN_GRACE_SECONDS) before it exits; the
API finishes the requests it is serving before it exits."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client

from tests.integration.cluster import SEQUENCE, Cluster, drive, settled, wait_for_pollers
from workflows.converter import build_data_converter

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path / "cluster", workers=2, apis=1, worker_grace_seconds=60)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[Client]:
    yield await Client.connect(
        cluster.temporal_address, data_converter=build_data_converter(cluster.keyring)
    )


async def _started_on(client: Client, identity: str) -> set[tuple[str, str]]:
    """(workflow id, activity id) of every activity running on the worker `identity`."""
    found = set()
    async for execution in client.list_workflows('ExecutionStatus = "Running"'):
        described = await client.get_workflow_handle(execution.id).describe()
        for activity in described.raw_description.pending_activities:
            if (
                activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                and activity.last_worker_identity == identity
            ):
                found.add((execution.id, activity.activity_id))
    return found


_ENDINGS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


async def _outcome(client: Client, workflow_id: str, activity_id: str) -> tuple[str, int, str]:
    """Who ran the activity's last attempt, which attempt it was, and how it ended."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = next(
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_id == activity_id
    )
    started = next(
        e.activity_task_started_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id == scheduled
    )
    ended = next(
        EventType.Name(e.event_type)
        for e in history.events
        if e.event_type in _ENDINGS
        and getattr(e, _ENDINGS[e.event_type]).scheduled_event_id == scheduled
    )
    return started.identity, started.attempt, ended


async def test_a_terminated_worker_drains_its_in_flight_activities(
    cluster: Cluster, client: Client
) -> None:
    await wait_for_pollers(client, cluster)
    leaving = cluster.worker_processes[0]
    ids = [f"drain-{i:02d}" for i in range(8)]
    days: dict[str, Any] = {}
    await drive(cluster, ids, SEQUENCE[:2], days)
    await settled(client, cluster, ids, "submitted")

    engine = cluster.engine()
    lock = engine.raw_connection()
    try:
        cursor = lock.cursor()
        cursor.execute("BEGIN")
        cursor.execute("LOCK TABLE application, notification IN EXCLUSIVE MODE")
        await drive(cluster, ids, SEQUENCE[2:4], days)
        in_flight: set[tuple[str, str]] = set()
        for _ in range(300):
            in_flight = await _started_on(client, leaving.identity)
            if in_flight:
                break
            await asyncio.sleep(0.1)
        assert in_flight, "the worker never had an activity in flight"
        leaving.popen.send_signal(signal.SIGTERM)
        # It stops polling but does not exit while its activities wait on the database.
        await asyncio.sleep(2)
        assert leaving.popen.poll() is None, "the worker exited with activities in flight"
    finally:
        lock.rollback()
        lock.close()
        engine.dispose()
    assert await asyncio.to_thread(leaving.popen.wait, 60) == 0
    events = [line.get("event") for line in leaving.log_lines()]
    assert events.index("worker draining") < events.index("worker stopped")

    await drive(cluster, ids, SEQUENCE[4:], days)
    await settled(client, cluster, ids, "approved")
    for workflow_id, activity_id in in_flight:
        # Finished by the worker that had it, on the first attempt: drained, not retried.
        assert await _outcome(client, workflow_id, activity_id) == (
            leaving.identity,
            1,
            "EVENT_TYPE_ACTIVITY_TASK_COMPLETED",
        )


async def test_a_terminated_api_finishes_its_in_flight_requests(cluster: Cluster) -> None:
    (api,) = cluster.api_processes
    engine = cluster.engine()
    lock = engine.raw_connection()
    headers = {"Authorization": f"Bearer {cluster.operator_key}"}
    async with httpx.AsyncClient(base_url=cluster.api_urls[0], headers=headers, timeout=60) as http:
        try:
            cursor = lock.cursor()
            cursor.execute("BEGIN")
            # Even reads wait: the list request is in flight when SIGTERM comes.
            cursor.execute("LOCK TABLE application IN ACCESS EXCLUSIVE MODE")
            listing = asyncio.create_task(http.get("/v1/applications"))
            await asyncio.sleep(1.5)
            assert not listing.done()
            api.popen.send_signal(signal.SIGTERM)
            await asyncio.sleep(1)
            assert api.popen.poll() is None, "the API exited with a request in flight"
        finally:
            lock.rollback()
            lock.close()
            engine.dispose()
        answer = await listing
    assert answer.status_code == 200, answer.text
    # uvicorn re-raises the signal once its graceful shutdown is done: the process ends as
    # stopped by SIGTERM (its default action), which is what a supervisor expects.
    assert await asyncio.to_thread(api.popen.wait, 30) in (0, -signal.SIGTERM)
    assert "api request" in [line.get("event") for line in api.log_lines()]
