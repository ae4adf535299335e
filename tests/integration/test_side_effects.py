"""Side effects never hold a record hostage (workflows/effects.py, workflows/record.py).

Over real HTTP, with the read model on a real PostgreSQL: while the database is unreachable,
operators' events are answered and read back at once, a regulatory clock fires on time, and the
read model catches up when the database returns, with nothing lost or delivered twice. A row the
database refuses (a poison value) shows one record's incident, harms no other record, and clears
when an operator fixes the cause and re-runs it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from api.app import create_app
from models.calendar import add_days, local_date, start_of_day
from models.contracts import READ_MODEL_DATA_REJECTED
from models.read_model import ApplicationRow, NotificationRow
from tests.integration.db_proxy import TcpProxy
from tests.integration.test_api_reads import API_KEYS, AUTH, ZONE, _serve, eventually, unique
from tests.workflow.harness import event_data
from worker import build_worker
from workflows.effects import RETRY_SCHEDULE
from workflows.settings import Settings

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.postgres]

POSTGRES_URL = os.environ.get(
    "ENROLL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PERSON = {"legal_name": "Jane Doe", "npi": "1234567893", "ssn": "123-45-6789", "state": "FL"}


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex}"
    admin = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        admin.dispose()


def _engine(url: str, schema: str) -> Engine:
    return create_db_engine(url, connect_args={"options": f"-csearch_path={schema}"})


@dataclass
class Stack:
    http: httpx.AsyncClient
    env: WorkflowEnvironment
    tables: Engine  # the test's own look at the read model (not through any outage)

    async def create(self, application_id: str, **details: Any) -> None:
        r = await self.http.post(
            "/v1/applications",
            json={
                "application_id": application_id,
                "form": "CMS-855I",
                "purpose": "initial",
                "details": {**PERSON, **details},
            },
        )
        assert r.status_code == 201, r.text

    async def event(self, application_id: str, event: str, **data: Any) -> dict[str, Any]:
        # A short client timeout: an event must never wait for the read model.
        r = await self.http.post(
            f"/v1/applications/{application_id}/events",
            json={"event": event, "data": data, "reason": f"test {event}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    async def record(self, application_id: str, *events: str) -> dict[str, Any]:
        today = local_date(await self.env.get_current_time(), ZONE)
        state: dict[str, Any] = {}
        for event in events:
            state = await self.event(application_id, event, **event_data(event, today))
        return state

    async def get(self, application_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/v1/applications/{application_id}", timeout=10)
        assert r.status_code == 200, r.text
        view: dict[str, Any] = r.json()
        return view

    def row(self, application_id: str) -> ApplicationRow | None:
        with Session(self.tables) as s:
            return s.get(ApplicationRow, application_id)

    async def projected(self, application_id: str, **expected: Any) -> bool:
        row = await asyncio.to_thread(self.row, application_id)
        return row is not None and all(getattr(row, k) == v for k, v in expected.items())


@asynccontextmanager
async def _stack(
    env: WorkflowEnvironment, engine: Engine, tables: Engine | None = None
) -> AsyncIterator[Stack]:
    task_queue = f"effects-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=env.client, engine=engine)
    async with build_worker(env.client, engine, task_queue=task_queue):
        async with _serve(app, AUTH) as http:
            yield Stack(http, env, tables or engine)


# --- The read model down while events and a clock happen ----------------------------------------


async def test_read_model_outage_delays_the_read_model_and_nothing_else(
    time_skipping_env: WorkflowEnvironment, schema: str
) -> None:
    env = time_skipping_env
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.up()
    behind_proxy = POSTGRES_URL.replace(":5432/", f":{proxy.port}/")
    engine = _engine(behind_proxy, schema)  # the worker and the API both lose it
    await asyncio.to_thread(create_schema, engine)
    direct = _engine(POSTGRES_URL, schema)  # the test's own look at the tables
    try:
        async with _stack(env, engine, direct) as stack:
            await _outage_scenario(env, stack, proxy)
    finally:
        await proxy.up()
        engine.dispose()
        direct.dispose()


async def _outage_scenario(env: WorkflowEnvironment, stack: Stack, proxy: TcpProxy) -> None:
    dev, draft = unique("dev"), unique("draft")
    await stack.create(dev)
    await stack.create(draft)
    await stack.record(dev, "submit", "signatures_completed", "received_by_mac")
    requested = await stack.record(dev, "development_requested")
    (clock,) = [c for c in requested["clocks"] if c["kind"] == "development_response"]
    await eventually(lambda: stack.projected(dev, status="development_requested"), "the request")

    # Two minutes before the development window ends, the database goes away.
    ends = start_of_day(add_days(date.fromisoformat(clock["last_day"]), 1), ZONE)
    await env.sleep(ends - timedelta(minutes=2) - await env.get_current_time())
    await proxy.down()

    # Events are answered, and read back at once (the record is the workflow, not the
    # read model).
    changed = await stack.event(draft, "update_draft", changes={"provider_type": "Cardiology"})
    assert changed["details"]["provider_type"] == "Cardiology"
    assert (await stack.get(draft))["details"]["provider_type"] == "Cardiology"

    # The window ends during the outage: the engine rejects on time, database or not.
    await env.sleep(timedelta(minutes=2, seconds=30))
    rejected = await stack.get(dev)
    assert rejected["status"] == "rejected"
    assert any(i["key"] == "projection" for i in rejected["incidents"]), rejected
    assert all(i["error_type"] == "ReadModelUnavailable" for i in rejected["incidents"])
    for incident in rejected["incidents"]:  # failure messages name no value
        assert "Jane" not in incident["message"] and "1234567893" not in incident["message"]
    assert (await stack.get(draft))["side_effects_pending"] > 0
    # The time-skipping server cannot search workflows: the list says it is not complete.
    listed = await stack.http.get("/v1/incidents")
    assert listed.status_code == 200 and listed.json()["complete"] is False
    assert not await stack.projected(dev, status="rejected")  # still behind, as it must be

    # The database returns: by the next scheduled retry the read model has caught up.
    await proxy.up()
    await env.sleep(max(RETRY_SCHEDULE[:3]))
    await eventually(lambda: stack.projected(dev, status="rejected"), "the rejection")
    await eventually(lambda: stack.projected(draft, status="draft"), "the draft")
    for app_id in (dev, draft):
        view = await stack.get(app_id)
        assert view["incidents"] == [] and view["side_effects_pending"] == 0, view
    assert (await asyncio.to_thread(stack.row, dev)) is not None

    # Nothing lost, nothing twice: every notice the workflows owe is in the outbox once.
    with Session(stack.tables) as s:
        keys = [
            r.idempotency_key
            for r in s.exec(
                select(NotificationRow).where(NotificationRow.workflow_id == f"application-{dev}")
            )
        ]
    assert len(keys) == len(set(keys))
    assert f"application-{dev}/{clock['clock_id']}:expired" in keys


# --- One poison row ------------------------------------------------------------------------------


async def test_a_refused_row_is_one_records_incident_until_an_operator_reruns_it(
    dev_env: WorkflowEnvironment, schema: str
) -> None:
    engine = _engine(POSTGRES_URL, schema)
    await asyncio.to_thread(create_schema, engine)
    poison, healthy = unique("poison"), unique("healthy")
    # The database refuses this one record's row, as it would a value it cannot store.
    with engine.begin() as conn:
        conn.execute(
            text(
                "ALTER TABLE application ADD CONSTRAINT refuse_one "
                f"CHECK (application_id <> '{poison}')"
            )
        )
    try:
        async with _stack(dev_env, engine) as stack:
            await _poison_scenario(stack, engine, poison, healthy)
    finally:
        engine.dispose()


async def _poison_scenario(stack: Stack, engine: Engine, poison: str, healthy: str) -> None:
    await stack.create(poison)
    await stack.create(healthy)

    async def poisoned() -> bool:
        view = await stack.get(poison)
        return any(i["error_type"] == READ_MODEL_DATA_REJECTED for i in view["incidents"])

    await eventually(poisoned, "the poison row's incident")
    await eventually(lambda: stack.projected(healthy, status="draft"), "the healthy row")
    (incident,) = (await stack.get(poison))["incidents"]
    assert incident["key"] == "projection" and incident["effect"] == "read model"
    assert "the read model refused the projection" in incident["message"]
    assert (await stack.get(healthy))["incidents"] == []

    # The record itself goes on: events are recorded on it as on any other.
    moved = await stack.event(poison, "update_draft", changes={"provider_type": "Cardiology"})
    assert moved["status"] == "draft"

    async def listed() -> list[str]:
        r = await stack.http.get("/v1/incidents")
        assert r.status_code == 200, r.text
        return [rec["workflow_id"] for rec in r.json()["records"]]

    await eventually(
        lambda: _contains(listed(), f"application-{poison}"), "the incident in the list"
    )
    assert f"application-{healthy}" not in await listed()

    # The operator fixes the cause and re-runs the side effects.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE application DROP CONSTRAINT refuse_one"))
    r = await stack.http.post(
        f"/v1/incidents/application-{poison}/retry", json={"reason": "constraint fixed"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["retried"] == 1
    await eventually(lambda: stack.projected(poison, status="draft"), "the repaired row")
    assert (await stack.get(poison))["incidents"] == []
    await eventually(lambda: _absent(listed(), f"application-{poison}"), "the incident cleared")


async def _contains(found: Awaitable[list[str]], item: str) -> bool:
    return item in await found


async def _absent(found: Awaitable[list[str]], item: str) -> bool:
    return item not in await found


async def test_a_record_whose_worker_is_gone_is_listed_by_its_count_not_a_503(
    dev_env: WorkflowEnvironment, schema: str
) -> None:
    """GET /v1/incidents asks each listed record for its details: one that cannot answer (its
    worker stopped; here its task queue has no poller any more) used to hold the list for the
    whole call bound and answer 503 for every record."""
    engine = _engine(POSTGRES_URL, schema)
    await asyncio.to_thread(create_schema, engine)
    orphan = unique("orphan")
    with engine.begin() as conn:
        conn.execute(
            text(
                "ALTER TABLE application ADD CONSTRAINT refuse_orphan "
                f"CHECK (application_id <> '{orphan}')"
            )
        )
    try:
        async with _stack(dev_env, engine) as stack:
            await stack.create(orphan)

            async def poisoned() -> bool:
                return bool((await stack.get(orphan))["incidents"])

            await eventually(poisoned, "the orphan's incident")
        # Its worker is gone; another stack (another task queue) lists the incidents.
        async with _stack(dev_env, engine) as other:
            seen: dict[str, Any] = {}

            async def listed() -> bool:
                r = await other.http.get("/v1/incidents", timeout=10)
                assert r.status_code == 200, r.text
                seen.update(r.json())
                ids = [x["workflow_id"] for x in seen["records"]]
                return f"application-{orphan}" in ids

            await eventually(listed, "the orphan in the list")
            body = seen
            (record,) = [x for x in body["records"] if x["workflow_id"] == f"application-{orphan}"]
            assert record["answered"] is False and record["incidents"] == []
            assert record["open_incidents"] >= 1
            assert "did not answer" in body["note"]
    finally:
        handle = dev_env.client.get_workflow_handle(f"application-{orphan}")
        await handle.terminate("test done: its worker is gone")
        engine.dispose()
