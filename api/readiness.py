"""/readyz: whether the API can do its work now. Temporal answers, a worker polls the task queue
(DescribeTaskQueue's pollers: without one every record read or event waits), and the read model
can be written (a write that changes nothing, rolled back), each within a bound."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from api.outages import POLLER_FRESH, worker_polling
from api.problems import Problem
from api.responses.health import Readiness
from models.read_model import ApplicationRow
from workflows.settings import Settings

# How long /readyz waits for each dependency before calling it down.
READY_TIMEOUT = timedelta(seconds=3)


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


async def readyz(request: Request) -> Any:
    settings: Settings = request.app.state.settings
    client: Client = request.app.state.client
    temporal, worker, database = await asyncio.gather(
        check_temporal(client, settings),
        check_worker(client, settings),
        check_database(request.app.state.engine),
    )
    if temporal["status"] != "ok" and worker["status"] != "ok":
        worker = {"status": "unknown", "note": "Temporal does not answer"}
    checks = {"temporal": temporal, "worker": worker, "database": database}
    down = [name for name, check in checks.items() if check["status"] == "down"]
    if not down:
        return Readiness.model_validate({"status": "ready", "checks": checks})
    return Problem(
        503,
        "Not ready",
        "Down: "
        + "; ".join(f"{name} ({checks[name]['error']}): {checks[name]['check']}" for name in down),
        kind="not-ready",
        headers={"Retry-After": "5"},
        down=down,
        checks=checks,
    ).response(request)


async def check_temporal(client: Client, settings: Settings) -> dict[str, Any]:
    target = f"{settings.temporal_address} namespace {settings.temporal_namespace}"
    try:
        await asyncio.wait_for(
            client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=READY_TIMEOUT),
            READY_TIMEOUT.total_seconds() + 1,
        )
    except Exception as exc:
        return {
            "status": "down",
            "error": f"{type(exc).__name__}: {first_line(exc)}"[:300],
            "check": f"is the Temporal frontend at {target} running and reachable from the API "
            "(TEMPORAL_ADDRESS, TLS/API key settings)?",
        }
    return {"status": "ok"}


async def check_worker(client: Client, settings: Settings) -> dict[str, Any]:
    try:
        polling = await worker_polling(client, settings)
    except Exception as exc:
        return {
            "status": "down",
            "error": f"{type(exc).__name__}: {first_line(exc)}"[:300],
            "check": "Temporal could not say whether a worker polls",
        }
    if polling is None:
        return {"status": "unknown", "note": "this Temporal server cannot list pollers"}
    if not polling:
        return {
            "status": "down",
            "error": f"no worker has polled task queue '{settings.task_queue}' in the last "
            f"{POLLER_FRESH.total_seconds():g} s",
            "check": "start a worker (enroll worker) on the same TEMPORAL_ADDRESS, namespace "
            "and ENROLL_TASK_QUEUE as the API",
        }
    return {"status": "ok"}


def _write_probe(engine: Engine) -> None:
    """A write that changes nothing, rolled back: refused by a read-only database or file, a
    standby, or a full disk, where a SELECT would still pass."""
    table = ApplicationRow.__tablename__
    with engine.connect() as conn:
        conn.execute(text(f"DELETE FROM {table} WHERE 1 = 0"))
        conn.rollback()


async def check_database(engine: Engine) -> dict[str, Any]:
    where = make_url(engine.url).render_as_string(hide_password=True)
    try:
        await asyncio.wait_for(
            asyncio.to_thread(_write_probe, engine), READY_TIMEOUT.total_seconds()
        )
    except Exception as exc:
        if isinstance(exc, TimeoutError):
            error = f"no answer within {READY_TIMEOUT.total_seconds():g} s"
        else:
            error = f"{type(exc).__name__}: {first_line(exc)}"
        return {
            "status": "down",
            "error": error[:300],
            "check": f"is the read-model database at {where} running, reachable and writable, "
            "with the credentials in ENROLL_DATABASE_URL?",
        }
    return {"status": "ok"}
