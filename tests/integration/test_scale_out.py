"""Scale-out on one machine: two `enroll worker` and two `enroll api` processes against one
Temporal server and one PostgreSQL read model share the work; a worker killed with SIGKILL
mid-run leaves nothing behind (its workflows complete on the other, every notice is delivered
exactly once); a worker stopped with SIGTERM lets its in-flight activities finish first."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client

from tests.integration.cluster import SEQUENCE, Cluster, drive, settled, wait_for_pollers
from workflows.converter import build_data_converter

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path / "cluster", workers=2, apis=2)
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


async def _identities(client: Client) -> dict[str, collections.Counter[str]]:
    """Which worker completed each workflow task and started each activity, over every
    workflow's history."""
    tasks: dict[str, collections.Counter[str]] = {
        "workflow": collections.Counter(),
        "activity": collections.Counter(),
    }
    async for execution in client.list_workflows():
        history = await client.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                tasks["workflow"][event.workflow_task_completed_event_attributes.identity] += 1
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                tasks["activity"][event.activity_task_started_event_attributes.identity] += 1
    return tasks


def _deliveries(cluster: Cluster) -> collections.Counter[str]:
    """How many times each notice was delivered (the `notification` log line), over every
    worker's log, the killed one's included."""
    delivered: collections.Counter[str] = collections.Counter()
    for process in cluster.worker_processes:
        for line in process.log_lines():
            if line.get("event") == "notification":
                delivered[line["key"]] += 1
    return delivered


def _outbox(cluster: Cluster) -> list[str]:
    engine = cluster.engine()
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT idempotency_key FROM notification")).scalars())
    finally:
        engine.dispose()


async def test_two_workers_and_two_apis_share_the_work(cluster: Cluster, client: Client) -> None:
    await wait_for_pollers(client, cluster)
    ids = [f"scale-{i:02d}" for i in range(16)]
    await drive(cluster, ids, SEQUENCE, {})
    await settled(client, cluster, ids, "approved")
    tasks = await _identities(client)
    workers = [p.identity for p in cluster.worker_processes]
    print(  # the split, for the note
        "work split:",
        {kind: {w: counts[w] for w in workers} for kind, counts in tasks.items()},
    )
    for kind, counts in tasks.items():
        assert set(counts) == set(workers), (kind, counts)
        assert all(counts[w] > 0 for w in workers), (kind, counts)
    # Both API processes answered (their access logs).
    for api in cluster.api_processes:
        routes = [line.get("route", "") for line in api.log_lines()]
        assert any(route.startswith("/v1/applications") for route in routes), api.name
    delivered = _deliveries(cluster)
    assert delivered and set(delivered.values()) == {1}
    assert sorted(_outbox(cluster)) == sorted(delivered)


async def _in_flight_on(client: Client, identity: str) -> int:
    started = 0
    async for execution in client.list_workflows('ExecutionStatus = "Running"'):
        described = await client.get_workflow_handle(execution.id).describe()
        for activity in described.raw_description.pending_activities:
            if (
                activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                and activity.last_worker_identity == identity
            ):
                started += 1
    return started


async def test_a_worker_killed_mid_run_leaves_nothing_behind(
    cluster: Cluster, client: Client
) -> None:
    await wait_for_pollers(client, cluster)
    victim, survivor = cluster.worker_processes
    ids = [f"kill-{i:02d}" for i in range(12)]
    days: dict[str, Any] = {}
    await drive(cluster, ids, SEQUENCE[:2], days)
    await settled(client, cluster, ids, "submitted")

    engine = cluster.engine()
    lock = engine.raw_connection()
    try:
        cursor = lock.cursor()
        cursor.execute("BEGIN")
        # Projections and notices block on this lock, in flight on both workers.
        cursor.execute("LOCK TABLE application, notification IN EXCLUSIVE MODE")
        # The API answers once the event is in history; the side effects queue behind the lock.
        await drive(cluster, ids, SEQUENCE[2:4], days)
        for _ in range(300):
            if await _in_flight_on(client, victim.identity):
                break
            await asyncio.sleep(0.1)
        in_flight = await _in_flight_on(client, victim.identity)
        assert in_flight > 0, "the victim never had an activity in flight"
        cluster.kill(victim)
    finally:
        lock.rollback()
        lock.close()
        engine.dispose()
    killed_at = time.monotonic()

    # The rest of the run goes to the survivor alone.
    await drive(cluster, ids, SEQUENCE[4:], days)
    await settled(client, cluster, ids, "approved")
    print(
        f"victim had {in_flight} activities in flight; settled "
        f"{time.monotonic() - killed_at:.1f} s after the kill"
    )
    tasks = await _identities(client)
    assert tasks["workflow"][victim.identity] > 0  # it did work before it died
    assert tasks["workflow"][survivor.identity] > 0
    delivered = _deliveries(cluster)
    assert delivered, "no notice was delivered"
    twice = {key: n for key, n in delivered.items() if n > 1}
    assert twice == {}, f"delivered more than once: {twice}"
    assert sorted(_outbox(cluster)) == sorted(delivered)
