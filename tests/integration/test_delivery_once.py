"""Exactly once, end to end on the real Temporal dev server (issue 18): one e-mail per notice
when the activity is retried after the send (the database goes away between the send and the
mark) and when the worker is killed mid-send (a worker process, SIGKILL while the SMTP server
holds its DATA); a webhook that fails twice then answers gets each notice once, signed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from activities.channels import EmailChannel, SmtpConfig, WebhookChannel
from activities.database import create_db_engine, create_schema
from activities.notifications import Delivery
from api.app import create_app
from models.notification import Recipient
from models.read_model import NotificationRow, OutboxState
from tests.conftest import TEST_KEYRING
from tests.integration.db_proxy import TcpProxy
from tests.integration.receivers import Mailbox, Webhook, smtp_server, webhook_server
from tests.integration.test_api_reads import API_KEYS, AUTH, ZONE, _serve, eventually, unique
from tests.integration.test_channels import SECRET, readme_verify
from tests.integration.test_side_effects import PERSON, POSTGRES_URL, _engine, schema
from worker import build_worker
from workflows.settings import Settings

__all__ = ["schema"]  # a fixture, used by name

ROOT = Path(__file__).resolve().parents[2]
TO = (Recipient(address="ana@acme.example", role="specialist"),)


def _rows(engine: Engine) -> list[NotificationRow]:
    with Session(engine) as s:
        return list(s.exec(select(NotificationRow).order_by(col(NotificationRow.id))).all())


async def _file_and_submit(http: httpx.AsyncClient, app_id: str) -> None:
    """File an application and record its submission 15 days ago without signatures: the
    20-day signature window's 7-day reminder is due at once (42 CFR 424.510; docs/regulation.md,
    "The application"). Two notices: the submission's event line and that reminder."""
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
    submitted = datetime.now(ZoneInfo(ZONE)).date() - timedelta(days=15)
    r = await http.post(
        f"/v1/applications/{app_id}/events",
        json={
            "event": "submit",
            "data": {"web_tracking_id": "WT-2026-000777", "submitted_on": submitted.isoformat()},
            "reason": "t",
        },
    )
    assert r.status_code == 200, r.text


async def _all_sent(engine: Engine, at_least: int = 1) -> bool:
    rows = await asyncio.to_thread(_rows, engine)
    return len(rows) >= at_least and all(row.state == OutboxState.SENT for row in rows)


def _one_reminder(rows: list[NotificationRow]) -> None:
    assert sorted(row.kind for row in rows) == ["event", "reminder"]


def _smtp(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, sender="enroll@acme.example", security="none")


def _settings(task_queue: str) -> Settings:
    return Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )


class CutAfterFirst:
    """The e-mail channel, then a hook after its first send (the test's cut)."""

    def __init__(self, inner: EmailChannel, after_first: Any) -> None:
        self.name = inner.name
        self._inner = inner
        self._after_first = after_first
        self._sent = 0

    def deliver(self, delivery: Delivery) -> None:
        self._inner.deliver(delivery)
        self._sent += 1
        if self._sent == 1:
            self._after_first()


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.postgres
async def test_one_email_per_notice_when_the_activity_is_retried_after_the_send(
    dev_env: WorkflowEnvironment, schema: str
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.up()
    engine = _engine(POSTGRES_URL.replace(":5432/", f":{proxy.port}/"), schema)
    direct = _engine(POSTGRES_URL, schema)
    await asyncio.to_thread(create_schema, engine)
    loop = asyncio.get_running_loop()
    background: set[Any] = set()

    def cut_the_database() -> None:
        # The e-mail went out; the mark now fails, and the database is back before the retry.
        asyncio.run_coroutine_threadsafe(proxy.down(), loop).result()

        def up() -> None:
            task = asyncio.ensure_future(proxy.up())
            background.add(task)

        loop.call_soon_threadsafe(lambda: loop.call_later(0.5, up))

    mailbox = Mailbox()
    task_queue = f"once-{uuid.uuid4()}"
    app = create_app(_settings(task_queue), client=dev_env.client, engine=engine)
    try:
        with smtp_server(mailbox) as port:
            channel = CutAfterFirst(EmailChannel(_smtp(port)), cut_the_database)
            worker = build_worker(
                dev_env.client, engine, task_queue=task_queue, channel=channel, router=lambda r: TO
            )
            async with worker, _serve(app, AUTH) as http:
                await _file_and_submit(http, unique("once"))
                await eventually(lambda: _all_sent(direct, 2), "every notice sent", seconds=30)
    finally:
        await proxy.up()
        engine.dispose()
    rows = _rows(direct)
    direct.dispose()
    _one_reminder(rows)
    sent = Counter(mailbox.delivery_ids())
    assert [k for k, n in sent.items() if n != 1] == [], sent
    assert set(sent) == {row.idempotency_key for row in rows}
    first = next(row for row in rows if row.idempotency_key == mailbox.delivery_ids()[0])
    assert first.attempts == 2  # the retry claimed it again and only marked it


@pytest.mark.asyncio(loop_scope="session")
async def test_one_email_per_notice_when_the_worker_is_killed_mid_send(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'read_model.db'}"
    engine = create_db_engine(url)
    create_schema(engine)
    mailbox = Mailbox()
    release = mailbox.hold = threading.Event()
    task_queue = f"killed-{uuid.uuid4()}"
    app = create_app(_settings(task_queue), client=dev_env.client, engine=engine)
    with smtp_server(mailbox) as port:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "ENROLL_TASK_QUEUE": task_queue,
            "ENROLL_DATABASE_URL": url,
            "ENROLL_DATA_DIR": str(tmp_path),
            "ENROLL_PAYLOAD_KEYS": TEST_KEYRING.to_config(),
            "ENROLL_REGISTER_SEARCH_ATTRIBUTES": "false",
            "ENROLL_LOG_JSON": "true",
            "ENROLL_NOTIFY_CHANNEL": "email",
            "ENROLL_SMTP_HOST": "127.0.0.1",
            "ENROLL_SMTP_PORT": str(port),
            "ENROLL_SMTP_SECURITY": "none",
            "ENROLL_SMTP_FROM": "enroll@acme.example",
            "ENROLL_NOTIFY_TO": "ana@acme.example",
        }
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "worker.log", "wb"),
        )
        try:
            async with _serve(app, AUTH) as http:
                await _file_and_submit(http, unique("killed"))
                # The worker process is sending the first e-mail: the server holds its DATA.
                assert await asyncio.to_thread(mailbox.in_data.wait, 60), (
                    tmp_path / "worker.log"
                ).read_text()[-2000:]
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                # The server never answered 250: it drops the message (451 to nobody).
                release.set()
                channel = EmailChannel(_smtp(port))
                worker = build_worker(
                    dev_env.client,
                    engine,
                    task_queue=task_queue,
                    channel=channel,
                    router=lambda r: TO,
                )
                async with worker:
                    await eventually(lambda: _all_sent(engine, 2), "every notice sent", 60)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    rows = _rows(engine)
    engine.dispose()
    _one_reminder(rows)
    sent = Counter(mailbox.delivery_ids())
    assert [k for k, n in sent.items() if n != 1] == [], sent
    assert set(sent) == {row.idempotency_key for row in rows}
    assert max(row.attempts for row in rows) == 2  # the killed send, then the retry's


@pytest.mark.asyncio(loop_scope="session")
async def test_a_webhook_that_fails_twice_then_answers_gets_each_notice_once_signed(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    hook = Webhook(fail_first=2)
    task_queue = f"hook-{uuid.uuid4()}"
    app = create_app(_settings(task_queue), client=dev_env.client, engine=sqlite_engine)
    with webhook_server(hook) as url:
        worker = build_worker(
            dev_env.client,
            sqlite_engine,
            task_queue=task_queue,
            channel=WebhookChannel(url, SECRET),
        )
        async with worker, _serve(app, AUTH) as http:
            await _file_and_submit(http, unique("hook"))
            await eventually(lambda: _all_sent(sqlite_engine, 2), "every notice sent", 30)
    rows = _rows(sqlite_engine)
    _one_reminder(rows)
    accepted = hook.accepted()
    ids = Counter(headers["Enroll-Delivery-Id"] for headers, _ in accepted)
    assert ids == Counter({row.idempotency_key: 1 for row in rows})
    assert [code for code, _, _ in hook.requests][:3] == [503, 503, 200]
    verify = readme_verify()
    assert all(verify(SECRET, headers, body) for headers, body in accepted)
    # The two 503s were two failed attempts (notices go out side by side), each retried.
    assert sum(row.attempts for row in rows) == len(rows) + 2
    assert all(row.last_error is None for row in rows)
