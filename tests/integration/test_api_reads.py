"""The read routes over real HTTP: uvicorn serving the app in the test's event loop, a worker on
the time-skipping server, a SQLite read model. Writes go through the existing routes only."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine
from api.app import create_app
from models.calendar import local_date
from models.identifiers import npi_check_digit
from tests.workflow.harness import event_data
from worker import build_worker
from workflows.settings import Settings

ZONE = "America/New_York"
ACTOR = "ops@example.org"
OPERATOR_KEY = "test-operator-key-0123456789abcdef"
API_KEYS = json.dumps({OPERATOR_KEY: {"actor": ACTOR, "role": "operator"}})
AUTH = {"Authorization": f"Bearer {OPERATOR_KEY}"}


def npi(n: int) -> str:
    first9 = f"1{n:08d}"
    return f"{first9}{npi_check_digit(first9)}"


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Leave Ctrl-C to pytest: this server lives inside the test's event loop.
        yield


@contextmanager
def _listening_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock
    finally:
        sock.close()


@asynccontextmanager
async def _serve(
    app: FastAPI, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Serve `app` on a free 127.0.0.1 port; yield an HTTP client pointed at it (sending
    `headers`, e.g. a bearer key, with every request)."""
    with _listening_socket() as sock:
        port = sock.getsockname()[1]
        server = _Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the server
                raise AssertionError("uvicorn stopped before it started")
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            await asyncio.sleep(0.01)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=30, headers=headers
            ) as http:
                yield http
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 10)


@dataclass
class Stack:
    http: httpx.AsyncClient
    env: WorkflowEnvironment
    engine: Engine
    settings: Settings

    async def today(self) -> date:
        return local_date(await self.env.get_current_time(), ZONE)

    async def create(self, **body: Any) -> dict[str, Any]:
        r = await self.http.post("/v1/applications", json=body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    async def event(self, application_id: str, event: str, **data: Any) -> httpx.Response:
        return await self.http.post(
            f"/v1/applications/{application_id}/events",
            json={"event": event, "data": data, "reason": f"test {event}"},
        )

    async def record(self, application_id: str, *events: str) -> dict[str, Any]:
        today = await self.today()
        state: dict[str, Any] = {}
        for event in events:
            r = await self.event(application_id, event, **event_data(event, today))
            assert r.status_code == 200, r.text
            state = r.json()
        return state

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        r = await self.http.get(path, params=params)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    async def ids(self, **params: Any) -> list[str]:
        page = await self.get("/v1/applications", **params)
        return [item["application_id"] for item in page["items"]]


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[Stack]:
    task_queue = f"api-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app, AUTH) as http:
            yield Stack(http, time_skipping_env, sqlite_engine, settings)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 15) -> None:
    """The read model follows the workflows by a projection activity: wait for it."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"read model never showed {what}"
        await asyncio.sleep(0.05)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- Lists, pages and the deadlines screen --------------------------------------------------------


async def test_lists_filter_paginate_and_deadlines_come_soonest_first(stack: Stack) -> None:
    org, other = unique("org"), unique("org")
    person = {"legal_name": "Jane Doe", "ssn": "123-45-6789"}
    ids = {name: unique(name) for name in ("dev", "sig", "clinic", "d1", "d2", "d3")}
    specs: dict[str, dict[str, Any]] = {
        "dev": {"form": "CMS-855I", "details": {**person, "npi": npi(1), "state": "FL"}},
        "sig": {"form": "CMS-855I", "details": {**person, "npi": npi(2), "state": "TX"}},
        "clinic": {
            "form": "CMS-855B",
            "details": {"legal_name": "Sunrise Clinic LLC", "npi": npi(3), "state": "CA"},
        },
        "d1": {"form": "CMS-855I", "details": {**person, "npi": npi(4), "state": "FL"}},
        "d2": {"form": "CMS-855I", "details": {**person, "npi": npi(5), "state": "FL"}},
        "d3": {"form": "CMS-855I", "details": {**person, "npi": npi(6), "state": "FL"}},
    }
    for name, spec in specs.items():
        await stack.create(
            application_id=ids[name],
            organization_id=other if name == "d3" else org,
            purpose="initial",
            **spec,
        )
    dev = await stack.record(
        ids["dev"],
        "submit",
        "signatures_completed",
        "received_by_mac",
        "development_requested",
    )
    assert dev["status"] == "development_requested"
    sig = await stack.record(ids["sig"], "submit")
    assert sig["status"] == "pending_signature"

    async def projected() -> bool:
        rows = {i["application_id"]: i for i in (await stack.get("/v1/applications"))["items"]}
        return (
            set(ids.values()) <= set(rows)
            and rows[ids["dev"]]["status"] == "development_requested"
            and rows[ids["sig"]]["status"] == "pending_signature"
        )

    await eventually(projected, "all six applications in their current status")
    today = await stack.today()

    # One item carries the row's columns, and never sensitive identifiers.
    page = await stack.get("/v1/applications", npi=npi(1))
    [item] = page["items"]
    assert page["next_cursor"] is None
    assert item["application_id"] == ids["dev"]
    assert item["mac_jurisdiction"] == "JN"
    assert item["next_deadline"] == (today + timedelta(days=30)).isoformat()
    assert item["next_deadline_kind"] == "development_response"
    assert "ssn" not in item and "projected_seq" not in item

    # Filters (each alone, then combined and repeated).
    assert await stack.ids(status="development_requested") == [ids["dev"]]
    assert set(await stack.ids(status="draft")) == {ids[n] for n in ("clinic", "d1", "d2", "d3")}
    assert set(await stack.ids(status=["draft", "pending_signature"])) == {
        ids[n] for n in ("sig", "clinic", "d1", "d2", "d3")
    }
    assert await stack.ids(form="CMS-855B") == [ids["clinic"]]
    assert await stack.ids(form="855b") == [ids["clinic"]]  # the loose spellings of create
    assert await stack.ids(state="TX") == [ids["sig"]]
    assert await stack.ids(mac="JE") == [ids["clinic"]]
    assert await stack.ids(mac="je") == [ids["clinic"]]
    assert await stack.ids(mac="NPE East") == []
    assert set(await stack.ids(mac="JN")) == {ids[n] for n in ("dev", "d1", "d2", "d3")}
    assert await stack.ids(npi=npi(2)) == [ids["sig"]]
    assert await stack.ids(organization_id=other) == [ids["d3"]]
    assert set(await stack.ids(organization_id=org, state="FL")) == {
        ids[n] for n in ("dev", "d1", "d2")
    }
    assert set(await stack.ids(organization_id=org, mac="JN", status="draft")) == {
        ids["d1"],
        ids["d2"],
    }
    sig_row = (await stack.get("/v1/applications", npi=npi(2)))["items"][0]
    sig_last_day = date.fromisoformat(sig_row["next_deadline"])
    for before in (today + timedelta(days=30), today + timedelta(days=31), sig_last_day):
        expected = {ids["dev"]} if today + timedelta(days=30) < before else set()
        if sig_last_day < before:
            expected.add(ids["sig"])
        assert set(await stack.ids(deadline_before=before.isoformat())) == expected, before

    # Keyset pages: newest change first, three pages of two, nothing twice, nothing missed.
    everything = await stack.get("/v1/applications")
    assert everything["next_cursor"] is None
    order = [(i["updated_at"], i["application_id"]) for i in everything["items"]]
    by_id = sorted(order, key=lambda k: k[1])
    assert order == sorted(by_id, key=lambda k: datetime.fromisoformat(k[0]), reverse=True)
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await stack.get("/v1/applications", **params)
        pages.append([i["application_id"] for i in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [a for p in pages for a in p] == [a for _, a in order]
    assert set(order) and {a for _, a in order} == set(ids.values())
    # A filter keeps applying across pages.
    first = await stack.get("/v1/applications", status="draft", limit=3)
    second = await stack.get(
        "/v1/applications", status="draft", limit=3, cursor=first["next_cursor"]
    )
    assert len(first["items"]) == 3 and second["next_cursor"] is None
    assert {i["application_id"] for i in first["items"] + second["items"]} == {
        ids[n] for n in ("clinic", "d1", "d2", "d3")
    }

    # The morning screen: every open clock, soonest first, explaining itself.
    screen = await stack.get("/v1/deadlines")
    assert screen["today"] == today.isoformat() and screen["time_zone"] == ZONE
    last_days = [i["last_day"] for i in screen["items"]]
    assert last_days == sorted(last_days)
    assert len(screen["items"]) >= 2
    by_record = {i["record"]["id"]: i for i in screen["items"]}
    assert set(by_record) == {ids["dev"], ids["sig"]}
    development = by_record[ids["dev"]]
    assert development["clock_kind"] == "development_response"
    assert development["last_day"] == (today + timedelta(days=30)).isoformat()
    assert development["days_left"] == 30
    assert development["record"] == {
        "kind": "application",
        "id": ids["dev"],
        "status": "development_requested",
        "workflow_id": f"application-{ids['dev']}",
        "legal_name": "Jane Doe",
    }
    assert development["organization_id"] == org and development["npi"] == npi(1)
    assert development["rule"]["key"] and development["rule"]["version"]
    assert development["rule"]["citation"] in development["explanation"]
    assert (today + timedelta(days=30)).isoformat() in development["explanation"]
    assert by_record[ids["sig"]]["days_left"] == (sig_last_day - today).days

    def records(screen: dict[str, Any]) -> set[str]:
        return {i["record"]["id"] for i in screen["items"]}

    assert ids["dev"] in records(await stack.get("/v1/deadlines", within_days=30))
    assert ids["dev"] not in records(await stack.get("/v1/deadlines", within_days=29))
    assert records(await stack.get("/v1/deadlines", within_days=3650)) == records(screen)
    assert records(await stack.get("/v1/deadlines", kind="development_response")) == {ids["dev"]}
    assert records(await stack.get("/v1/deadlines", kind="signatures")) == {ids["sig"]}
    assert records(await stack.get("/v1/deadlines", organization_id=other)) == set()
    assert records(await stack.get("/v1/deadlines", organization_id=org)) == records(screen)


@pytest.mark.parametrize(
    ("path", "params", "field", "allowed"),
    [
        ("/v1/applications", {"status": "pending"}, "status", "development_requested"),
        ("/v1/applications", {"status": ["draft", "nope"]}, "status", "draft"),
        ("/v1/applications", {"form": "CMS-855R"}, "form", "CMS-855I"),
        ("/v1/applications", {"state": "ZZ"}, "state", "FL"),
        ("/v1/applications", {"mac": "J99"}, "mac", "JN"),
        ("/v1/applications", {"npi": "12345"}, "npi", None),
        ("/v1/applications", {"deadline_before": "next week"}, "deadline_before", None),
        ("/v1/applications", {"limit": 501}, "limit", None),
        ("/v1/applications", {"limit": 0}, "limit", None),
        ("/v1/applications", {"cursor": "not-a-cursor"}, "cursor", None),
        ("/v1/deadlines", {"within_days": -1}, "within_days", None),
        ("/v1/deadlines", {"within_days": 3651}, "within_days", None),
        ("/v1/deadlines", {"within_days": "soon"}, "within_days", None),
        ("/v1/deadlines", {"kind": "payday"}, "kind", "development_response"),
    ],
)
async def test_bad_filter_values_are_422_naming_the_parameter(
    sqlite_engine: Engine,
    path: str,
    params: dict[str, Any],
    field: str,
    allowed: str | None,
) -> None:
    # Refused before any read: no Temporal needed (the client is never touched).
    settings = Settings(log_json=False, api_keys=API_KEYS)
    app = create_app(settings, client=_NoTemporal(), engine=sqlite_engine)  # type: ignore[arg-type]
    async with _serve(app, AUTH) as http:
        r = await http.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "https://enrollment-engine.dev/problems/invalid-request"
    assert [e["field"] for e in body["errors"]] == [field]
    assert field in body["detail"]
    if allowed is not None:
        assert allowed in body["allowed_values"][field]
        assert allowed in body["detail"]


class _NoTemporal:
    """Stands in for a Temporal client where none may be used."""


# --- The existing routes keep their behaviour -----------------------------------------------------


async def test_existing_routes_still_answer_as_before(stack: Stack) -> None:
    bad = await stack.http.post(
        "/v1/applications",
        json={
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {"legal_name": "Jane Doe", "npi": "1234567890", "state": "FL"},
        },
    )
    assert bad.status_code == 422, bad.text
    assert any("details.npi" in e["field"] for e in bad.json()["errors"])

    created = await stack.create(
        form="CMS-855I",
        purpose="initial",
        details={
            "legal_name": "Jane Doe",
            "npi": "1234567893",
            "ssn": "123-45-6789",
            "state": "FL",
        },
    )
    app_id = created["application_id"]
    assert created["status"] == "draft"

    today = await stack.today()
    illegal = await stack.event(
        app_id, "approved", ptan="PT123456", approval_date=today.isoformat()
    )
    assert illegal.status_code == 409, illegal.text
    problem = illegal.json()
    assert problem["type"] == "https://enrollment-engine.dev/problems/illegal-transition"
    assert problem["state"] == "draft"
    assert "submit" in problem["allowed_events"]

    missing = await stack.http.get("/v1/applications/no-such-application")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["type"] == "https://enrollment-engine.dev/problems/not-found"
    missing_event = await stack.event("no-such-application", "withdrawn")
    assert missing_event.status_code == 404

    shown = await stack.http.get(f"/v1/applications/{app_id}")
    assert shown.status_code == 200
    # (not a bare "123456789" check: the NPI 1234567893 contains those digits)
    assert "123-45-6789" not in shown.text and "45-6789" not in shown.text
    assert shown.json()["details"]["ssn"] == "***-**-6789"
    first = shown.json()["events"][0]
    assert (first["actor"], first["role"]) == (ACTOR, "operator")  # from the key


# --- Readiness -----------------------------------------------------------------------------------


def _closed_port() -> int:
    with _listening_socket() as sock:
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


async def test_readyz_names_the_dependency_that_is_down(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    settings = Settings(log_json=False)
    ready = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with _serve(ready) as http:
        r = await http.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["checks"] == {
            "temporal": {"status": "ok"},
            # The time-skipping test server cannot list a task queue's pollers.
            "worker": {"status": "unknown", "note": "this Temporal server cannot list pollers"},
            "database": {"status": "ok"},
        }
        assert (await http.get("/healthz")).status_code == 200

    url = f"postgresql+psycopg://enroll:s3cret@127.0.0.1:{_closed_port()}/enroll"
    unreachable = create_db_engine(url, connect_args={"connect_timeout": 2})
    try:
        down = create_app(settings, client=time_skipping_env.client, engine=unreachable)
        async with _serve(down) as http:
            r = await http.get("/readyz")
            assert (await http.get("/healthz")).status_code == 200  # alive, not ready
    finally:
        unreachable.dispose()
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["down"] == ["database"]
    assert body["checks"]["temporal"] == {"status": "ok"}
    assert "database" in body["detail"] and "127.0.0.1" in body["detail"]
    assert "s3cret" not in r.text
