"""Fault test (issue 16): the Temporal dev server is SIGKILLed mid-run and restarted on the same
database file. Clients meanwhile get 503 problem+json (never a 500, never a hang: every request
has a 30 s client timeout, far above the API's bound); once Temporal is back, the same requests
sent again apply once, and nothing recorded before the kill is lost.

Real processes: the Temporal CLI's dev server (SQLite file, WAL, as `enroll dev` runs it), a
worker and the API served over HTTP in this test's event loop. Its wall time is printed."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from api.app import create_app
from tests.conftest import TEMPORAL_CLI, TEST_KEYRING
from tests.integration.test_api_reads import _serve, npi
from worker import build_worker
from workflows.client import connect
from workflows.search_attributes import register as register_search_attributes
from workflows.settings import Settings

KEY = "fault-operator-" + "o" * 24
AUTH = {"Authorization": f"Bearer {KEY}"}
APPLICATIONS = 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(TEMPORAL_CLI), "server", "start-dev", "--ip", "127.0.0.1",
            "--port", str(port), "--headless", "--db-filename", str(db),
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            "--log-level", "error",
        ],
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


async def _until(check: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if await check():
                return
        except Exception:
            pass
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        await asyncio.sleep(0.3)


def _create_body(n: int) -> dict[str, Any]:
    return {
        "application_id": f"fault-{n}",
        "form": "CMS-855I",
        "purpose": "initial",
        "details": {"legal_name": f"Ann Fault {n}", "npi": npi(5000 + n), "state": "FL"},
        "reason": "fault test",
    }


WITHDRAW = {"event": "withdrawn", "data": {}, "reason": "provider left"}


async def test_temporal_killed_and_restarted_loses_nothing_and_answers_503(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    started = time.monotonic()
    port = _free_port()
    db, log = tmp_path / "temporal.db", tmp_path / "temporal.log"
    settings = Settings(
        temporal_address=f"127.0.0.1:{port}",
        task_queue=f"fault-{uuid.uuid4()}",
        payload_keys=TEST_KEYRING.to_config(),
        log_json=False,
        log_level="WARNING",
        api_keys=json.dumps({KEY: {"actor": "ops@example.org", "role": "operator"}}),
    )
    server = _start_server(db, port, log)
    try:
        clients: list[Any] = []

        async def connected() -> bool:
            clients.append(await connect(settings))
            return True

        await _until(connected, "Temporal up")
        worker_client = clients[-1]
        await register_search_attributes(worker_client)
        app = create_app(settings, client=await connect(settings, lazy=True), engine=sqlite_engine)
        async with build_worker(worker_client, sqlite_engine, task_queue=settings.task_queue):
            async with _serve(app, AUTH) as http:
                # Before the kill: half the applications created, each answered 201.
                for n in range(APPLICATIONS // 2):
                    r = await http.post("/v1/applications", json=_create_body(n))
                    assert r.status_code == 201, r.text

                server.send_signal(signal.SIGKILL)
                server.wait(timeout=10)
                # Temporal down: every request answers 503 problem+json, promptly.
                during: list[httpx.Response] = []
                for n in range(APPLICATIONS // 2, APPLICATIONS):
                    during.append(await http.post("/v1/applications", json=_create_body(n)))
                for n in range(APPLICATIONS // 2):
                    during.append(
                        await http.post(f"/v1/applications/fault-{n}/events", json=WITHDRAW)
                    )
                    during.append(await http.get(f"/v1/applications/fault-{n}"))
                for r in during:
                    assert r.status_code == 503, r.text
                    assert r.headers["content-type"] == "application/problem+json"
                    assert r.json()["down"] == ["temporal"] and r.headers["retry-after"]
                ready = await http.get("/readyz")
                assert ready.status_code == 503 and "temporal" in ready.json()["down"]

                server = _start_server(db, port, log)  # the same file
                await _until(
                    lambda: _status_is(http, "/readyz", 200), "ready after the restart", 90
                )
                # The same requests again: each applies once; nothing before the kill is lost.
                for n in range(APPLICATIONS // 2, APPLICATIONS):
                    r = await http.post("/v1/applications", json=_create_body(n))
                    assert r.status_code in (200, 201), r.text
                for n in range(APPLICATIONS):
                    for _ in range(2):  # sent twice: the retry is answered, not applied again
                        r = await http.post(f"/v1/applications/fault-{n}/events", json=WITHDRAW)
                        assert r.status_code == 200, r.text
                    view = r.json()
                    assert view["status"] == "withdrawn"
                    assert [e["event"] for e in view["events"]] == ["created", "withdrawn"]
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
    print(f"\nTemporal kill-and-restart fault test: {time.monotonic() - started:.1f} s wall time")


async def _status_is(http: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await http.get(path)).status_code == status
