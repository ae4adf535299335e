"""Issue 16, defect 7: the notification outbox claims, delivers, marks
(activities/notifications.py).

Before, a notice was delivered inside the transaction that recorded it: a commit that failed
after the delivery made the retry deliver it again. Now a retry after the delivery and before
the mark only marks (the real Temporal server keeps the attempt's heartbeat), a claim whose
deliverer is gone is taken over after its lease, and every delivery carries the notice's id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from activities.migrations import upgrade
from activities.notifications import (
    LEASE,
    NOTICE_CLAIMED,
    NOTICE_REFUSED,
    ChannelRefused,
    Delivery,
    NotificationActivities,
)
from api.app import create_app
from models.read_model import NotificationRow, OutboxState
from tests.integration.db_proxy import TcpProxy
from tests.integration.test_api_reads import API_KEYS, AUTH, ZONE, _serve, eventually, unique
from tests.integration.test_read_model import _notification, engine, history
from tests.integration.test_side_effects import PERSON, POSTGRES_URL, _engine, schema
from worker import build_worker
from workflows.settings import Settings

__all__ = ["engine", "history", "schema"]  # fixtures, used by name


class RecordingChannel:
    """A receiver that counts what it gets, by delivery id. `on_first` runs after the first
    delivery (in the worker's thread): the test's way to fail what comes next."""

    name = "test"

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.on_first: Any = None
        self.fail_with: Exception | None = None
        self._lock = threading.Lock()

    def deliver(self, delivery: Delivery) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            self.received[delivery.id] += 1
            first = sum(self.received.values()) == 1
        if first and self.on_first is not None:
            self.on_first()


def _rows(engine: Engine) -> list[NotificationRow]:
    with Session(engine) as s:
        return list(s.exec(select(NotificationRow).order_by(col(NotificationRow.id))).all())


# --- Killed between delivery and mark, on the real server --------------------------------------


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.postgres
async def test_a_retry_between_delivery_and_mark_delivers_once(
    dev_env: WorkflowEnvironment, schema: str
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.up()
    engine = _engine(POSTGRES_URL.replace(":5432/", f":{proxy.port}/"), schema)
    direct = _engine(POSTGRES_URL, schema)
    await asyncio.to_thread(create_schema, engine)
    loop = asyncio.get_running_loop()
    channel = RecordingChannel()

    def cut_the_database() -> None:
        # The first notice went out; its mark now fails (the database is gone), the attempt
        # fails, and the database is back before the activity's retry.
        asyncio.run_coroutine_threadsafe(proxy.down(), loop).result()
        loop.call_soon_threadsafe(lambda: loop.call_later(0.5, _up, proxy))

    channel.on_first = cut_the_database
    task_queue = f"outbox-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=dev_env.client, engine=engine)
    app_id = unique("outbox")
    try:
        async with build_worker(dev_env.client, engine, task_queue=task_queue, channel=channel):
            async with _serve(app, AUTH) as http:
                r = await http.post(
                    "/v1/applications",
                    json={
                        "application_id": app_id,
                        "form": "CMS-855I",
                        "purpose": "initial",
                        "details": PERSON,
                    },
                )
                assert r.status_code == 201, r.text
                r = await http.post(
                    f"/v1/applications/{app_id}/events",
                    json={
                        "event": "submit",
                        "data": {"web_tracking_id": "WT-2026-000777"},
                        "reason": "outbox test",
                    },
                )
                assert r.status_code == 200, r.text

                async def all_sent() -> bool:
                    rows = await asyncio.to_thread(_rows, direct)
                    return bool(rows) and all(row.state == OutboxState.SENT for row in rows)

                await eventually(lambda: _settled(channel, all_sent), "every notice sent")
    finally:
        await proxy.up()
        engine.dispose()
    rows = _rows(direct)
    direct.dispose()
    assert [k for k, n in channel.received.items() if n != 1] == [], channel.received
    assert set(channel.received) == {row.idempotency_key for row in rows}
    [first] = [row for row in rows if row.idempotency_key == next(iter(channel.received))]
    assert first.attempts == 2  # claimed again by the retry, which only marked it


_background: set[asyncio.Task[None]] = set()


def _up(proxy: TcpProxy) -> None:
    task = asyncio.ensure_future(proxy.up())
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _settled(channel: RecordingChannel, all_sent: Any) -> bool:
    return bool(channel.received) and bool(await all_sent())


# --- Claims and leases ---------------------------------------------------------------------------


def _deliverer(activity_id: str, heartbeats: list[Any] | None = None) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_id=activity_id)
    if heartbeats is not None:
        env.on_heartbeat = lambda *details: heartbeats.extend(details)
    return env


def _claim_as(engine: Engine, key: str, claimant: str, lease_until: datetime) -> None:
    with Session(engine) as s:
        s.execute(
            update(NotificationRow)
            .where(col(NotificationRow.idempotency_key) == key)
            .values(state=OutboxState.CLAIMED.value, claimed_by=claimant, lease_until=lease_until)
        )
        s.commit()


async def test_a_claim_is_kept_for_its_lease_then_taken_over(
    engine: Engine, history: dict[int, Any]
) -> None:
    channel = RecordingChannel()
    act = NotificationActivities(engine, channel)
    req = _notification(history, 5)
    channel.fail_with = RuntimeError("smtp down")
    with pytest.raises(ApplicationError):
        await _deliverer("a").run(act.record_notification, req)
    channel.fail_with = None
    [row] = _rows(engine)
    assert (row.state, row.claimed_by) == (OutboxState.PENDING, None)

    # A deliverer that died holding the claim: others wait for its lease (the README's 60 s)...
    assert timedelta(seconds=60) == LEASE
    now = datetime.now(UTC)
    _claim_as(engine, req.idempotency_key, "gone/run/1", now + LEASE)
    with pytest.raises(ApplicationError) as held:
        await _deliverer("b").run(act.record_notification, req)
    assert held.value.type == NOTICE_CLAIMED and not held.value.non_retryable
    assert channel.received == Counter()
    # ...and take it over once it has run out, delivering with the notice's id.
    _claim_as(engine, req.idempotency_key, "gone/run/1", now - timedelta(seconds=1))
    heartbeats: list[Any] = []
    assert await _deliverer("b", heartbeats).run(act.record_notification, req) is True
    assert channel.received == Counter({req.idempotency_key: 1})
    assert heartbeats == ["delivered"]
    [row] = _rows(engine)
    assert (row.state, row.claimed_by, row.lease_until) == (OutboxState.SENT, None, None)
    assert row.attempts == 2 and row.last_error is None  # the failed one, the takeover
    # Sent is final: nobody delivers it again.
    assert await _deliverer("c").run(act.record_notification, req) is False
    assert channel.received == Counter({req.idempotency_key: 1})


async def test_a_notice_the_channel_refuses_is_failed_until_rerun(
    engine: Engine, history: dict[int, Any]
) -> None:
    channel = RecordingChannel()
    act = NotificationActivities(engine, channel)
    req = _notification(history, 5)
    channel.fail_with = ChannelRefused("the address bounced")
    with pytest.raises(ApplicationError) as refused:
        await _deliverer("a").run(act.record_notification, req)
    assert refused.value.type == NOTICE_REFUSED and refused.value.non_retryable
    [row] = _rows(engine)
    assert (row.state, row.last_error) == (OutboxState.FAILED, "the address bounced")
    channel.fail_with = None  # the operator fixed the address and re-runs the side effects
    assert await _deliverer("b").run(act.record_notification, req) is True
    assert _rows(engine)[0].state == OutboxState.SENT


# --- An outbox written before it had states ------------------------------------------------------


@pytest.fixture
def old_outbox(tmp_path: Path) -> Iterator[Engine]:
    """A read model at revision 0002 (before the outbox had states) holding one notice."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO notification (id, idempotency_key, workflow_id, record_kind, record_id, "
            "organization_id, npi, kind, subject, body, record_status, clock_id, due_date, "
            "channel, created_at, delivered_at) VALUES (1, 'application-a/event-1', "
            "'application-a', 'application', 'a', 'acme', NULL, 'event', 's', 'b', 'draft', "
            "NULL, NULL, 'log', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    yield engine
    engine.dispose()


def test_an_outbox_from_before_the_states_gets_them_and_its_rows_count_as_sent(
    old_outbox: Engine,
) -> None:
    create_schema(old_outbox)
    create_schema(old_outbox)  # twice: nothing left to add
    [row] = _rows(old_outbox)
    assert (row.state, row.attempts, row.claimed_by) == (OutboxState.SENT, 1, None)
