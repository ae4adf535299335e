"""Sandbox mode over real HTTP: the worker and API on the time-skipping test server, a SQLite read
model, API keys; the clock moves only by POST /v1/sandbox/clock/advance, and each advance leaves
the engine settled, so the very next read is already true."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

import api.sandbox as sandbox_module
from api.app import create_app
from api.sandbox import NotSettledError, TimeSkippingClock, advance_and_settle
from cli.sandbox import sandbox_stack
from models.calendar import local_date
from models.identifiers import npi_check_digit
from models.read_model import DeadlineRow
from tests.integration.test_api_reads import _closed_port, _serve, unique
from tests.workflow.harness import event_data
from workflows.settings import Settings

ZONE = "America/New_York"
KEYS = {
    "operator": "sandbox-operator-key-" + "o" * 24,
    "auditor": "sandbox-auditor-key-" + "a" * 24,
    "admin": "sandbox-admin-key-" + "d" * 24,
}
API_KEYS = json.dumps(
    {key: {"actor": f"{role}@example.org", "role": role} for role, key in KEYS.items()}
)
ROOT = Path(__file__).resolve().parents[2]


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


def npi(n: int) -> str:
    first9 = f"2{n:08d}"
    return f"{first9}{npi_check_digit(first9)}"


@dataclass
class Sandbox:
    http: httpx.AsyncClient

    async def get(self, path: str, role: str = "operator", **params: Any) -> dict[str, Any]:
        r = await self.http.get(path, params=params, headers=auth(role))
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    async def clock(self) -> dict[str, Any]:
        return await self.get("/v1/sandbox/clock", role="auditor")

    async def today(self) -> date:
        return date.fromisoformat((await self.clock())["today"])

    async def advance(self, days: int, role: str = "operator") -> httpx.Response:
        return await self.http.post(
            "/v1/sandbox/clock/advance", json={"days": days}, headers=auth(role)
        )

    async def create(self, n: int) -> str:
        app_id = unique("sbx")
        r = await self.http.post(
            "/v1/applications",
            json={
                "application_id": app_id,
                "form": "CMS-855I",
                "purpose": "initial",
                "details": {
                    "legal_name": "Jane Doe",
                    "npi": npi(n),
                    "ssn": "123-45-6789",
                    "state": "FL",
                },
            },
            headers=auth("operator"),
        )
        assert r.status_code == 201, r.text
        return app_id

    async def record(self, app_id: str, *events: str) -> str:
        """Record events dated the sandbox's today; the status after the last one."""
        today = await self.today()
        status = ""
        for event in events:
            r = await self.http.post(
                f"/v1/applications/{app_id}/events",
                json={
                    "event": event,
                    "data": event_data(event, today),
                    "reason": f"sandbox {event}",
                },
                headers=auth("operator"),
            )
            assert r.status_code == 200, r.text
            status = r.json()["status"]
        return status

    async def status(self, app_id: str) -> str:
        return str((await self.get(f"/v1/applications/{app_id}"))["status"])

    async def listed(self, status: str) -> set[str]:
        page = await self.get("/v1/applications", status=status)
        return {i["application_id"] for i in page["items"]}


@pytest.fixture
async def sandbox(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[Sandbox]:
    settings = Settings(
        task_queue=unique("sandbox"), default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    async with sandbox_stack(time_skipping_env, settings, sqlite_engine) as app:
        async with _serve(app) as http:
            yield Sandbox(http)


async def test_advance_settles_the_engine_so_the_next_read_is_true(sandbox: Sandbox) -> None:
    start = await sandbox.clock()
    assert start["time_zone"] == ZONE
    day0 = date.fromisoformat(start["today"])

    # B: development requested on day 0, answered on day 29.
    b = await sandbox.create(2)
    assert await sandbox.record(b, "submit", "signatures_completed", "received_by_mac") == (
        "in_review"
    )
    assert await sandbox.record(b, "development_requested") == "development_requested"
    r = await sandbox.advance(29)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["days"] == 29 and report["deadlines_passed"] == 0
    assert report["status_changes"] == []
    assert date.fromisoformat(report["to"]["today"]) == day0 + timedelta(days=29)
    assert await sandbox.status(b) == "development_requested"
    assert await sandbox.record(b, "development_responded") == "in_review"

    # A: in review, development requested dated the (sandbox's) today.
    a = await sandbox.create(1)
    assert await sandbox.record(a, "submit", "signatures_completed", "received_by_mac") == (
        "in_review"
    )
    assert await sandbox.record(a, "development_requested") == "development_requested"
    before = await sandbox.clock()
    screen = await sandbox.get("/v1/deadlines", role="auditor")
    assert screen["today"] == before["today"]  # the deadlines screen reads the sandbox's clock
    [dev] = [i for i in screen["items"] if i["record"]["id"] == a]
    assert dev["clock_kind"] == "development_response" and dev["days_left"] == 30

    r = await sandbox.advance(31)
    assert r.status_code == 200, r.text
    report = r.json()

    # Immediately true, no polling: the workflow's state, the read model, the clock.
    assert await sandbox.status(a) == "rejected"
    assert a in await sandbox.listed("rejected")
    assert b in await sandbox.listed("in_review")
    assert await sandbox.status(b) == "in_review"
    after = await sandbox.clock()
    moved = datetime.fromisoformat(after["now"]) - datetime.fromisoformat(before["now"])
    assert timedelta(days=31) <= moved < timedelta(days=31, minutes=5)
    assert date.fromisoformat(after["today"]) == date.fromisoformat(before["today"]) + timedelta(
        days=31
    )
    screen = await sandbox.get("/v1/deadlines", role="auditor")
    assert screen["today"] == after["today"]
    assert a not in {i["record"]["id"] for i in screen["items"]}

    # The report says what changed.
    assert report["days"] == 31
    assert report["from"]["today"] == before["today"] and report["to"]["today"] == after["today"]
    assert report["deadlines_passed"] == 1
    [passed] = report["passed"]
    assert passed["record"]["id"] == a and passed["clock_kind"] == "development_response"
    assert passed["last_day"] == dev["last_day"]
    assert report["status_changes"] == [
        {
            "record": {"kind": "application", "id": a},
            "from": "development_requested",
            "to": "rejected",
        }
    ]
    # How long settling took is reported (a number); that it stays within the settle timeout
    # is what NotSettledError enforces (test_advance_waits_for_the_read_model).
    assert isinstance(report["settle_seconds"], float) and report["settle_seconds"] >= 0


async def test_who_may_move_the_clock_and_what_it_accepts(sandbox: Sandbox) -> None:
    before = await sandbox.clock()
    assert (await sandbox.advance(1, role="auditor")).status_code == 403
    for bad in (0, 14_701, -1):
        r = await sandbox.advance(bad)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "days"
    r = await sandbox.http.post("/v1/sandbox/clock/advance", json={"days": 1})
    assert r.status_code == 401
    assert (await sandbox.http.get("/v1/sandbox/clock")).status_code == 401
    # Nothing above moved the clock (only real seconds passed).
    now = await sandbox.clock()
    assert now["today"] == before["today"] or (
        datetime.fromisoformat(now["now"]) - datetime.fromisoformat(before["now"])
        < timedelta(minutes=1)
    )
    r = await sandbox.advance(3650, role="admin")  # ten years: 41 settled steps
    assert r.status_code == 200, r.text
    assert (await sandbox.clock())["today"] == r.json()["to"]["today"]
    spec = (await sandbox.http.get("/openapi.json")).json()
    assert {"/v1/sandbox/clock", "/v1/sandbox/clock/advance"} <= set(spec["paths"])
    assert spec["paths"]["/v1/sandbox/clock"]["get"]["operationId"] == "getSandboxClock"
    advance = spec["paths"]["/v1/sandbox/clock/advance"]["post"]
    assert advance["operationId"] == "advanceSandboxClock" and advance["tags"] == ["sandbox"]
    assert "sandbox" in {t["name"] for t in spec["tags"]}


async def test_sandbox_routes_do_not_exist_outside_sandbox_mode(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    settings = Settings(default_time_zone=ZONE, log_json=False, api_keys=API_KEYS)
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with _serve(app, auth("admin")) as http:
        assert (await http.get("/v1/sandbox/clock")).status_code == 404
        assert (await http.post("/v1/sandbox/clock/advance", json={"days": 1})).status_code == 404
        spec = (await http.get("/openapi.json")).json()
        paths = set(spec["paths"])
        assert not {p for p in paths if p.startswith("/v1/sandbox")}
        assert "sandbox" not in {t["name"] for t in spec["tags"]}
        assert "/v1/deadlines" in paths
        # Outside the sandbox the deadlines screen counts from the real date.
        screen = (await http.get("/v1/deadlines")).json()
    real = datetime.now().astimezone()
    assert abs((date.fromisoformat(screen["today"]) - real.date()).days) <= 1


# --- The process ----------------------------------------------------------------------------------


def test_run_sandbox_serves_the_clock_and_exits_0_on_ctrl_c(tmp_path: Path) -> None:
    """`run_sandbox` as the CLI will run it: its own process, stopped by SIGINT, exit status 0."""
    port = _closed_port()
    script = (
        "import sys; from pathlib import Path; from cli.process import run_async; "
        "from cli.sandbox import run_sandbox; "
        f"run_async(lambda: run_sandbox(Path(sys.argv[1]), {port}, '127.0.0.1'))"
    )
    env = {**os.environ, "ENROLL_API_KEYS": API_KEYS, "ENROLL_LOG_JSON": "false"}
    env.pop("ENROLL_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        clock: dict[str, Any] | None = None
        while clock is None:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the sandbox did not answer within 60 s"
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/v1/sandbox/clock", headers=auth("auditor"), timeout=5
                )
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            assert r.status_code == 200, r.text
            clock = r.json()
        assert set(clock) == {"now", "today", "time_zone"}
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/sandbox/clock/advance",
            json={"days": 31},
            headers=auth("operator"),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert (
            r.json()["to"]["today"]
            == (date.fromisoformat(clock["today"]) + timedelta(days=31)).isoformat()
        )
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "sandbox" in out and "stopping the sandbox" in out
    assert KEYS["operator"] not in out  # keys from ENROLL_API_KEYS are never printed
    assert (tmp_path / "sandbox-read-model.db").exists()


async def test_advance_waits_for_the_read_model(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock the advance made due that the read model still shows open (here: no workflow
    behind it) is waited for, then reported; one already overdue before is not its business."""
    clock = TimeSkippingClock(time_skipping_env)
    before = await clock.now()
    report = await advance_and_settle(clock, sqlite_engine, 5, time_zone=ZONE)
    assert report.passed == [] and report.status_changes == []
    assert timedelta(days=5) <= report.after - before < timedelta(days=5, seconds=30)

    def open_clock(name: str, fires_at: datetime) -> None:
        with Session(sqlite_engine) as s:
            s.add(
                DeadlineRow(
                    deadline_id=f"application-{name}/development_response",
                    workflow_id=f"application-{name}",
                    record_kind="application",
                    record_id=name,
                    organization_id="default",
                    record_status="development_requested",
                    clock_kind="development_response",
                    rule_key="development_response",
                    rule_citation="42 CFR 424.525(a)(1)",
                    rule_version="test",
                    started_on=local_date(fires_at, ZONE),
                    last_day=local_date(fires_at, ZONE),
                    fires_at=fires_at,
                    explanation="test",
                )
            )
            s.commit()

    now = await clock.now()
    open_clock("overdue", now - timedelta(days=1))
    open_clock("due", now + timedelta(days=1))
    with pytest.raises(NotSettledError) as caught:
        await advance_and_settle(
            clock, sqlite_engine, 2, time_zone=ZONE, settle_timeout=timedelta(seconds=0.3)
        )
    assert [d.deadline_id for d in caught.value.pending] == ["application-due/development_response"]
    assert "application-due/development_response" in str(caught.value)
    assert "worker" in str(caught.value)

    # Waited for, not judged on one look: the read model catches up between two looks (the
    # projection closes the clock), and the advance returns settled instead of failing.
    looks: list[list[str]] = []
    first_look = sandbox_module._due

    def due_then_projected(engine: Engine, since: datetime, until: datetime) -> list[DeadlineRow]:
        pending = first_look(engine, since, until)
        looks.append([d.deadline_id for d in pending])
        with Session(engine) as s:
            for row in pending:
                s.delete(s.merge(row))
            s.commit()
        return pending

    monkeypatch.setattr(sandbox_module, "_due", due_then_projected)
    open_clock("later", (await clock.now()) + timedelta(days=1))
    report = await advance_and_settle(
        clock, sqlite_engine, 2, time_zone=ZONE, settle_timeout=timedelta(minutes=5)
    )
    assert looks == [["application-later/development_response"], []]
    assert [d.deadline_id for d in report.passed] == ["application-later/development_response"]
    with pytest.raises(ValueError, match=r"1\.\.14700"):
        await advance_and_settle(clock, sqlite_engine, 0, time_zone=ZONE)


async def test_the_sandbox_worker_takes_the_cache_setting(
    time_skipping_env: WorkflowEnvironment,
    sqlite_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A portfolio larger than the sticky cache replays evicted enrollments at every advance
    # (bench/README.md, simulate): ENROLL_SANDBOX_MAX_CACHED_WORKFLOWS sizes it, by default
    # for a portfolio of a thousand or two, ten times the production worker's default.
    assert Settings(task_queue="q").sandbox_max_cached_workflows == 2_000
    assert Settings(task_queue="q").worker_max_cached_workflows == 200
    import worker

    built: list[int] = []
    build = worker.build_worker

    def spy(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs["max_cached_workflows"])
        return build(*args, **kwargs)

    monkeypatch.setattr(worker, "build_worker", spy)
    settings = Settings(
        task_queue=unique("sandbox"), log_json=False, sandbox_max_cached_workflows=1234
    )
    async with sandbox_stack(time_skipping_env, settings, sqlite_engine):
        pass
    assert built == [1234]
