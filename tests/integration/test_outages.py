"""Outages answer clearly and soon (issue 16, defect 5), on real servers: Temporal unreachable,
no worker polling, the read model not writable each answer 503 problem+json with Retry-After
and what is down, never a 500 or a hang (every request here has a 30 s client timeout, far
above the API's bound); /readyz names them; an event accepted but not finished within the bound
answers 202 with a link that gives its outcome once it is applied."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.database import create_db_engine, create_schema
from api.app import create_app
from api.problems import PROBLEM_JSON
from models.application import ApplicationState, application_workflow_id
from models.enrollment import enrollment_workflow_id
from tests.integration.test_api_reads import _closed_port, _serve, npi
from worker import build_worker
from workflows.client import connect
from workflows.settings import Settings

KEY = "outage-operator-" + "o" * 24
AUTH = {"Authorization": f"Bearer {KEY}"}
API_KEYS = json.dumps({KEY: {"actor": "ops@example.org", "role": "operator"}})
EVENT = {"event": "withdrawn", "data": {}, "reason": "provider left the practice"}


def _settings(**overrides: Any) -> Settings:
    return Settings(log_json=False, log_level="WARNING", api_keys=API_KEYS, **overrides)


def assert_unavailable(r: httpx.Response, down: str) -> dict[str, Any]:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert int(r.headers["retry-after"]) > 0
    problem: dict[str, Any] = r.json()
    assert problem["type"].endswith(f"/{down}-unavailable"), problem
    assert problem["down"] == [down]
    return problem


async def test_temporal_unreachable_answers_503_naming_it(sqlite_engine: Engine) -> None:
    settings = _settings(temporal_address=f"127.0.0.1:{_closed_port()}")
    client = await connect(settings, lazy=True)
    app = create_app(settings, client=client, engine=sqlite_engine)
    async with _serve(app, AUTH) as http:
        reads = await http.get("/v1/applications/nobody")
        event = await http.post("/v1/applications/nobody/events", json=EVENT)
        create = await http.post(
            "/v1/applications",
            json={
                "form": "CMS-855I",
                "purpose": "initial",
                "details": {"legal_name": "Ann Down", "npi": npi(7), "state": "FL"},
            },
        )
        ready = await http.get("/readyz")
    for r in (reads, event, create):
        problem = assert_unavailable(r, "temporal")
        assert settings.temporal_address in problem["detail"]
        assert "Retry" in problem["detail"]
    assert ready.status_code == 503
    assert "temporal" in ready.json()["down"]


@pytest.fixture
async def no_worker(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """The API on a real server and a task queue no worker polls."""
    settings = _settings(task_queue=f"no-worker-{uuid.uuid4()}")
    app = create_app(settings, client=dev_env.client, engine=sqlite_engine)
    async with _serve(app, AUTH) as http:
        yield http, settings


async def test_no_worker_answers_503_and_readyz_says_so(
    no_worker: tuple[httpx.AsyncClient, Settings],
    dev_env: WorkflowEnvironment,
    sqlite_engine: Engine,
) -> None:
    http, settings = no_worker
    body = {
        "application_id": f"stuck-{uuid.uuid4().hex[:8]}",
        "form": "CMS-855I",
        "purpose": "initial",
        "details": {"legal_name": "Ann Stuck", "npi": npi(8), "state": "FL"},
    }
    # The workflow starts (nothing needs a worker for that) but cannot answer.
    created = await http.post("/v1/applications", json=body)
    problem = assert_unavailable(created, "worker")
    assert settings.task_queue in problem["detail"] and "enroll worker" in problem["detail"]
    app_id = body["application_id"]
    assert_unavailable(await http.get(f"/v1/applications/{app_id}"), "worker")
    event = await http.post(f"/v1/applications/{app_id}/events", json=EVENT)
    assert_unavailable(event, "worker")
    ready = await http.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert ready.json()["down"] == ["worker"]
    assert settings.task_queue in ready.json()["detail"]

    # A worker comes: the same requests, sent again, apply once.
    async with build_worker(dev_env.client, sqlite_engine, task_queue=settings.task_queue):
        again = await http.post("/v1/applications", json=body)
        assert again.status_code == 200, again.text
        event = await http.post(f"/v1/applications/{app_id}/events", json=EVENT)
        assert event.status_code == 200, event.text
        event = await http.post(f"/v1/applications/{app_id}/events", json=EVENT)
        assert event.status_code == 200, event.text
        assert [e["event"] for e in event.json()["events"]].count("withdrawn") == 1
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["worker"] == {"status": "ok", "note": None}


async def test_a_record_not_ready_answers_503_not_500(
    no_worker: tuple[httpx.AsyncClient, Settings], dev_env: WorkflowEnvironment
) -> None:
    """Temporal's "not now" for one record (WorkflowNotReady, FAILED_PRECONDITION: here, a
    query before the workflow's first task is scheduled; also what an event meets when the
    record's workflow task fails under it) is a 503 to retry, not an internal error."""
    http, settings = no_worker
    app_id = f"not-ready-{uuid.uuid4().hex[:8]}"
    await dev_env.client.start_workflow(
        "ApplicationWorkflow",
        None,
        id=application_workflow_id(app_id),
        task_queue=settings.task_queue,
        start_delay=timedelta(hours=1),
    )
    r = await http.get(f"/v1/applications/{app_id}")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert int(r.headers["retry-after"]) > 0
    problem = r.json()
    assert problem["type"].endswith("/record-not-ready"), problem
    assert "FAILED_PRECONDITION" in problem["detail"] and "Retry" in problem["detail"]
    assert problem["down"] == ["worker"]


async def test_readyz_says_when_the_read_model_cannot_be_written(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    path = tmp_path / "read_model.db"
    writable = create_db_engine(f"sqlite:///{path}")
    create_schema(writable)
    writable.dispose()
    read_only = create_db_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    settings = _settings(task_queue=f"ro-{uuid.uuid4()}")
    try:
        app = create_app(settings, client=dev_env.client, engine=read_only)
        async with build_worker(dev_env.client, read_only, task_queue=settings.task_queue):
            async with _serve(app, AUTH) as http:
                ready = await http.get("/readyz")
                listed = await http.get("/v1/applications")  # reading still works
    finally:
        read_only.dispose()
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["down"] == ["database"]
    assert "readonly" in body["checks"]["database"]["error"]
    assert "writable" in body["detail"]
    assert listed.status_code == 200, listed.text


# --- 202: accepted, not yet applied --------------------------------------------------------------


@workflow.defn(name="SlowRecord", sandboxed=False)
class SlowRecord:
    """Stands where an application's workflow is and answers `record_event` slowly: it accepts
    the update at once and finishes it when told to."""

    def __init__(self) -> None:
        self._release = False

    @workflow.run
    async def run(self, state: ApplicationState) -> None:
        self._state = state
        await workflow.wait_condition(lambda: self._release and workflow.all_handlers_finished())

    @workflow.update(name="record_event")
    async def record_event(self, request: dict[str, Any]) -> ApplicationState:
        await workflow.wait_condition(lambda: self._release)
        return self._state

    @workflow.signal
    def release(self) -> None:
        self._release = True


async def test_an_event_not_finished_within_the_bound_answers_202_then_its_outcome(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    settings = _settings(task_queue=f"slow-{uuid.uuid4()}")
    client: Client = dev_env.client
    app = create_app(settings, client=client, engine=sqlite_engine)
    async with build_worker(client, sqlite_engine, task_queue=settings.task_queue):
        async with _serve(app, AUTH) as http:
            created = await http.post(
                "/v1/applications",
                json={
                    "form": "CMS-855I",
                    "purpose": "initial",
                    "details": {"legal_name": "Ann Slow", "npi": npi(9), "state": "FL"},
                },
            )
            assert created.status_code == 201, created.text
            real = created.json()["application_id"]
            state = await client.get_workflow_handle(application_workflow_id(real)).query(
                "state", result_type=ApplicationState
            )
            slow_queue = f"slow-record-{uuid.uuid4()}"
            slow_id = f"slow-{uuid.uuid4().hex[:8]}"
            async with Worker(client, task_queue=slow_queue, workflows=[SlowRecord]):
                handle = await client.start_workflow(
                    SlowRecord.run,
                    state,
                    id=application_workflow_id(slow_id),
                    task_queue=slow_queue,
                    execution_timeout=timedelta(minutes=5),
                )
                r = await http.post(f"/v1/applications/{slow_id}/events", json=EVENT)
                assert r.status_code == 202, r.text
                accepted = r.json()
                assert accepted["status"] == "accepted"
                poll = accepted["poll"]
                assert r.headers["location"] == poll
                assert poll.endswith(f"/v1/applications/{slow_id}/events/{accepted['event_id']}")
                await handle.signal(SlowRecord.release)
                outcome = await http.get(poll)
                assert outcome.status_code == 200, outcome.text
                assert outcome.json()["application_id"] == real
                unknown = await http.get(f"/v1/applications/{slow_id}/events/req-nothing")
                assert unknown.status_code == 404, unknown.text
                await asyncio.wait_for(handle.result(), 30)


async def test_enrollment_outcomes_are_polled_by_the_same_link_shape(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    """The enrollment's poll route answers 404 for an event it never received, not a 500."""
    settings = _settings(task_queue=f"poll-{uuid.uuid4()}")
    app = create_app(settings, client=dev_env.client, engine=sqlite_engine)
    async with _serve(app, AUTH) as http:
        r = await http.get("/v1/enrollments/I20200000000001/events/req-nothing")
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert enrollment_workflow_id("I20200000000001") in r.json()["detail"]
    # The 202's link is built only when an event answers 202 (api/temporal.py): the route names
    # the event routes give execute_event must resolve, or that 202 would be a 500.
    assert app.url_path_for(
        "poll_enrollment_event", enrollment_id="I20200000000001", event_id="req-x"
    ) == ("/v1/enrollments/I20200000000001/events/req-x")
    assert app.url_path_for("poll_application_event", application_id="a-1", event_id="req-x") == (
        "/v1/applications/a-1/events/req-x"
    )
