"""Issue 16, fault test: the read model unavailable for 60 s.

Over real HTTP, the read model on a real PostgreSQL behind a proxy that the test takes down, the
workflows on the time-skipping server (the minute passes in engine time, so the wall time stays
small). While the database is gone, every event is answered at once and reads back from the
record; once it returns, the read model catches up on its own (the side effects' retry
schedule); and a rebuild from Temporal (`enroll reindex`) writes exactly the rows it holds,
into a fresh database and over itself.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from models.read_model import ApplicationRow, DeadlineRow
from tests.integration.db_proxy import TcpProxy
from tests.integration.test_api_reads import eventually, unique
from tests.integration.test_side_effects import POSTGRES_URL, Stack, _engine, _stack, schema
from worker import reindex
from workflows.effects import RETRY_SCHEDULE

__all__ = ["schema"]  # the fixture, used by name

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.postgres]

OUTAGE = timedelta(seconds=60)
RECORDS = 6
# What each record goes through before the outage, and during it.
BEFORE = ("submit", "signatures_completed")
DURING = ("received_by_mac", "development_requested")


@pytest.fixture
def fresh_schema() -> Iterator[str]:
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


def _tables(engine: Engine, workflow_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The rows of these workflows, in a stable order, every column."""
    with Session(engine) as s:
        apps = s.exec(
            select(ApplicationRow)
            .where(col(ApplicationRow.workflow_id).in_(workflow_ids))
            .order_by(col(ApplicationRow.application_id))
        ).all()
        deadlines = s.exec(
            select(DeadlineRow)
            .where(col(DeadlineRow.workflow_id).in_(workflow_ids))
            .order_by(col(DeadlineRow.deadline_id))
        ).all()
    return {
        "application": [a.model_dump() for a in apps],
        "deadline": [d.model_dump() for d in deadlines],
    }


async def test_a_minute_without_the_read_model(
    time_skipping_env: WorkflowEnvironment, schema: str, fresh_schema: str
) -> None:
    env = time_skipping_env
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.up()
    engine = _engine(POSTGRES_URL.replace(":5432/", f":{proxy.port}/"), schema)
    await asyncio.to_thread(create_schema, engine)
    direct = _engine(POSTGRES_URL, schema)
    rebuilt = _engine(POSTGRES_URL, fresh_schema)
    await asyncio.to_thread(create_schema, rebuilt)
    try:
        async with _stack(env, engine, direct) as stack:
            await _outage(env, stack, proxy, direct, rebuilt)
    finally:
        await proxy.up()
        for e in (engine, direct, rebuilt):
            e.dispose()


async def _outage(
    env: WorkflowEnvironment, stack: Stack, proxy: TcpProxy, direct: Engine, rebuilt: Engine
) -> None:
    ids = [unique("outage") for _ in range(RECORDS)]
    workflow_ids = [f"application-{i}" for i in ids]
    for app_id in ids:
        await stack.create(app_id)
        await stack.record(app_id, *BEFORE)
    for app_id in ids:
        await eventually(lambda a=app_id: stack.projected(a, status="submitted"), app_id)

    await proxy.down()
    down_at = await env.get_current_time()
    answered: list[float] = []
    for app_id in ids:
        for event in DURING:
            started = time.monotonic()
            state = await stack.record(app_id, event)  # a 10 s client timeout, see Stack.event
            answered.append(time.monotonic() - started)
        assert state["status"] == "development_requested"
        assert (await stack.get(app_id))["status"] == "development_requested"
    assert not await stack.projected(ids[0], status="development_requested")  # still behind
    await env.sleep(OUTAGE - (await env.get_current_time() - down_at))
    views = [await stack.get(i) for i in ids]
    assert all(v["incidents"] for v in views)  # the outage shows, on every record

    await proxy.up()
    await env.sleep(max(RETRY_SCHEDULE[:3]))  # the next scheduled round of every record
    for app_id in ids:
        await eventually(
            lambda a=app_id: stack.projected(a, status="development_requested"), app_id
        )
        await eventually(lambda a=app_id: _clean(stack, a), f"{app_id} without incidents")

    caught_up = await asyncio.to_thread(_tables, direct, workflow_ids)
    assert len(caught_up["application"]) == RECORDS
    assert len(caught_up["deadline"]) == RECORDS  # each one's development response clock
    counts = await reindex(env.client, rebuilt, workflow_ids=workflow_ids)
    assert counts == {"applications": RECORDS, "enrollments": 0, "failed": 0}
    assert await asyncio.to_thread(_tables, rebuilt, workflow_ids) == caught_up
    await reindex(env.client, direct, workflow_ids=workflow_ids)  # over itself: no change
    assert await asyncio.to_thread(_tables, direct, workflow_ids) == caught_up
    print(
        f"\n{len(answered)} events during a {OUTAGE.seconds} s read-model outage: "
        f"slowest answer {max(answered):.2f} s, mean {sum(answered) / len(answered):.2f} s"
    )


async def _clean(stack: Stack, app_id: str) -> bool:
    view = await stack.get(app_id)
    return view["incidents"] == [] and view["side_effects_pending"] == 0
