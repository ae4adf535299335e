"""Fault test (issue 16): the worker is SIGKILLed while 120 applications are in flight, and a
new worker starts. Meanwhile events answer 200, 202 (accepted, not yet applied) or 503 naming
the worker, never a 500 or a hang; sent again, each applies once: every application ends
withdrawn with one withdrawal, every update id appears once in its history, and no notice is
recorded twice.

Real processes: the worker is `enroll worker` (a subprocess, so it can be SIGKILLed) on the
session's dev server; the API is served over HTTP in this test's event loop; the read model is
one SQLite file both use. Its wall time is printed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from api.app import create_app
from models.application import application_workflow_id
from tests.conftest import TEST_KEYRING
from tests.integration.test_api_reads import _serve, npi
from workflows.settings import Settings

KEY = "fault-worker-operator-" + "o" * 24
AUTH = {"Authorization": f"Bearer {KEY}"}
APPLICATIONS = 120
CONCURRENCY = 30
ENROLL = Path(sys.executable).parent / "enroll"
WITHDRAW = {"event": "withdrawn", "data": {}, "reason": "provider left"}


def _worker(
    env: WorkflowEnvironment, task_queue: str, database: Path, log: Path
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(ENROLL), "worker"],
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "ENROLL_TASK_QUEUE": task_queue,
            "ENROLL_PAYLOAD_KEYS": TEST_KEYRING.to_config(),
            "ENROLL_DATABASE_URL": f"sqlite:///{database}",
            "ENROLL_DATA_DIR": str(database.parent),
            "ENROLL_LOG_JSON": "false",
            "ENROLL_LOG_LEVEL": "WARNING",
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def test_worker_killed_mid_run_every_application_applies_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    started = time.monotonic()
    database, log = tmp_path / "read_model.db", tmp_path / "worker.log"
    engine = create_db_engine(f"sqlite:///{database}")
    create_schema(engine)
    task_queue = f"fault-worker-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue,
        log_json=False,
        log_level="WARNING",
        api_keys=json.dumps({KEY: {"actor": "ops@example.org", "role": "operator"}}),
    )
    run = uuid.uuid4().hex[:6]
    ids = [f"kill-{run}-{n}" for n in range(APPLICATIONS)]
    worker = _worker(dev_env, task_queue, database, log)
    replacement: subprocess.Popen[bytes] | None = None
    statuses: Counter[int] = Counter()
    try:
        app = create_app(settings, client=dev_env.client, engine=engine)
        async with _serve(app, AUTH) as http:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def create(n: int) -> None:
                body = {
                    "application_id": ids[n],
                    "form": "CMS-855I",
                    "purpose": "initial",
                    "details": {"legal_name": f"Ann Kill {n}", "npi": npi(7000 + n), "state": "FL"},
                }
                async with gate:
                    for _ in range(20):
                        r = await http.post("/v1/applications", json=body)
                        if r.status_code in (200, 201):
                            return
                        assert r.status_code == 503, r.text  # the worker is still starting
                        await asyncio.sleep(0.5)
                raise AssertionError(f"application {n} never created")

            await asyncio.gather(*(create(n) for n in range(APPLICATIONS)))

            done = 0
            answered: dict[str, int] = {}

            async def withdraw(app_id: str) -> None:
                nonlocal done
                async with gate:
                    r = await http.post(f"/v1/applications/{app_id}/events", json=WITHDRAW)
                statuses[r.status_code] += 1
                assert r.status_code in (200, 202, 503), r.text
                if r.status_code == 503:
                    assert r.headers["content-type"] == "application/problem+json"
                    assert r.headers["retry-after"] and r.json()["down"] in (
                        ["worker"],
                        ["temporal"],
                    )
                answered[app_id] = r.status_code
                done += 1

            async def kill_and_replace() -> None:
                nonlocal replacement
                while done < CONCURRENCY:
                    await asyncio.sleep(0.01)
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
                await asyncio.sleep(3)
                replacement = _worker(dev_env, task_queue, database, log)

            await asyncio.gather(kill_and_replace(), *(withdraw(a) for a in ids))
            assert len(answered) == APPLICATIONS

            # Every event not answered 200 is sent again, as a client would: it applies once.
            for app_id in ids:
                for _ in range(30):
                    r = await http.post(f"/v1/applications/{app_id}/events", json=WITHDRAW)
                    if r.status_code == 200:
                        break
                    assert r.status_code in (202, 503), r.text
                    await asyncio.sleep(0.5)
                assert r.status_code == 200, r.text
                view = r.json()
                assert view["status"] == "withdrawn", app_id
                assert [e["event"] for e in view["events"]] == ["created", "withdrawn"], app_id

        for app_id in ids:
            history = await dev_env.client.get_workflow_handle(
                application_workflow_id(app_id)
            ).fetch_history()
            requests = [
                e.workflow_execution_update_accepted_event_attributes.accepted_request
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            ]
            # The event's updates; a create's `created` update (update-with-start) only reads.
            accepted = [r.meta.update_id for r in requests if r.input.name != "created"]
            assert len(accepted) == len(set(accepted)) == 1, (app_id, accepted)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT idempotency_key FROM notification")).all()
        keys = [row[0] for row in rows]
        assert len(keys) == len(set(keys))
    finally:
        for proc in (worker, replacement):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        engine.dispose()
    print(
        f"\nWorker kill fault test: {APPLICATIONS} applications, answers during the kill "
        f"{dict(sorted(statuses.items()))}, {time.monotonic() - started:.1f} s wall time"
    )
