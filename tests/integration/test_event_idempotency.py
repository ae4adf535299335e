"""A retried request never applies twice (issue 16, defect 4), on the real dev server: without an
Idempotency-Key the event's id is derived from the request; a key sent again with another body is
a 409 naming the key; a retry that arrives after the enrollment continued as new is answered, not
applied again; a create retried without a key makes one application."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.calendar import add_months, last_day_of_month, local_date
from models.enrollment import enrollment_workflow_id
from tests.integration.test_api_reads import _serve, npi
from worker import build_worker
from workflows.settings import Settings

ZONE = "America/New_York"
KEY = "idempotency-operator-" + "o" * 24
AUTH = {"Authorization": f"Bearer {KEY}"}
API_KEYS = json.dumps({KEY: {"actor": "ops@example.org", "role": "operator"}})


@dataclass
class Stack:
    http: httpx.AsyncClient
    client: Client

    def today(self) -> date:
        from datetime import UTC, datetime

        return local_date(datetime.now(UTC), ZONE)

    async def imported(self, **overrides: Any) -> str:
        eid = f"I2020{uuid.uuid4().int % 10**10:010d}"
        body = {
            "enrollment_id": eid,
            "npi": npi(uuid.uuid4().int % 10**8),
            "ptan": "00G577550",
            "form": "CMS-855I",
            "state": "FL",
            "effective_date": add_months(self.today(), -24).isoformat(),
            "reason": "imported from the spreadsheet",
            **overrides,
        }
        r = await self.http.post("/v1/enrollments", json=body)
        assert r.status_code == 201, r.text
        return eid

    async def event(
        self, eid: str, event: str, headers: dict[str, str] | None = None, **data: Any
    ) -> httpx.Response:
        return await self.http.post(
            f"/v1/enrollments/{eid}/events",
            json={"event": event, "data": data, "reason": f"test {event}"},
            headers=headers,
        )

    async def accepted_update_ids(self, eid: str) -> list[str]:
        """The ids of every update accepted by every run of the enrollment's workflow."""
        ids: list[str] = []
        workflow_id = enrollment_workflow_id(eid)
        runs = [e.run_id async for e in self.client.list_workflows(f'WorkflowId = "{workflow_id}"')]
        for run_id in runs:
            history = await self.client.get_workflow_handle(
                workflow_id, run_id=run_id
            ).fetch_history()
            ids += [
                e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            ]
        return ids


@pytest.fixture
async def stack(dev_env: WorkflowEnvironment, sqlite_engine: Engine) -> AsyncIterator[Stack]:
    task_queue = f"idempotency-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=dev_env.client, engine=sqlite_engine)
    async with build_worker(dev_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app, AUTH) as http:
            yield Stack(http, dev_env.client)


async def test_a_retried_event_without_a_key_applies_once(stack: Stack) -> None:
    eid = await stack.imported()
    today = stack.today().isoformat()
    first = await stack.event(eid, "claim_activity", latest_claim_date=today)
    again = await stack.event(eid, "claim_activity", latest_claim_date=today)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    events = [e["event"] for e in again.json()["events"]]
    assert events == ["created", "claim_activity"]
    ids = await stack.accepted_update_ids(eid)
    assert len(ids) == 1 and ids[0].startswith("req-")
    # Another request (another date) is another event.
    yesterday = (stack.today() - timedelta(days=1)).isoformat()
    other = await stack.event(eid, "claim_activity", latest_claim_date=yesterday)
    assert other.status_code == 200, other.text
    assert [e["event"] for e in other.json()["events"]].count("claim_activity") == 2


async def test_a_key_reused_for_another_body_is_409_naming_the_key(stack: Stack) -> None:
    eid = await stack.imported()
    key = {"Idempotency-Key": f"letter-{uuid.uuid4()}"}
    today = stack.today()
    first = await stack.event(eid, "claim_activity", key, latest_claim_date=today.isoformat())
    assert first.status_code == 200, first.text
    retried = await stack.event(eid, "claim_activity", key, latest_claim_date=today.isoformat())
    assert retried.status_code == 200, retried.text
    assert retried.json()["events"] == first.json()["events"]

    other_day = (today - timedelta(days=2)).isoformat()
    reused = await stack.event(eid, "claim_activity", key, latest_claim_date=other_day)
    assert reused.status_code == 409, reused.text
    assert reused.headers["content-type"] == "application/problem+json"
    problem = reused.json()
    assert problem["type"].endswith("/idempotency-key-reused")
    assert key["Idempotency-Key"] in problem["detail"]
    view = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
    assert [e["event"] for e in view["events"]] == ["created", "claim_activity"]


async def _next_run(handle: WorkflowHandle[Any, Any], run_id: str, bound_s: float = 60) -> str:
    """The workflow's current run id once it is not `run_id` (or `run_id` after the bound)."""
    deadline = asyncio.get_running_loop().time() + bound_s
    while asyncio.get_running_loop().time() < deadline:
        current = (await handle.describe()).run_id
        if current != run_id:
            return current
        await asyncio.sleep(0.2)
    return run_id


async def test_a_retry_after_continue_as_new_is_not_applied_again(stack: Stack) -> None:
    today = stack.today()
    # Inside the revalidation window (CMS due dates are month ends): the cycle can complete.
    due = last_day_of_month(today + timedelta(days=60))
    eid = await stack.imported(revalidation_due_date=due.isoformat())
    handle = stack.client.get_workflow_handle(enrollment_workflow_id(eid))
    first_run = (await handle.describe()).run_id

    claim = await stack.event(eid, "claim_activity", latest_claim_date=today.isoformat())
    assert claim.status_code == 200, claim.text
    for event, data in (
        ("revalidation_submitted", {"receipt_date": today.isoformat()}),
        ("revalidation_approved", {"approval_date": today.isoformat()}),
    ):
        r = await stack.event(eid, event, **data)
        assert r.status_code == 200, r.text
    assert r.json()["cycle"] == 2
    # The run continues as new once its side effects are done, which may be after the answer.
    assert await _next_run(handle, first_run) != first_run
    before = (await stack.http.get(f"/v1/enrollments/{eid}")).json()

    retried = await stack.event(eid, "claim_activity", latest_claim_date=today.isoformat())
    assert retried.status_code == 200, retried.text
    assert retried.json()["events"] == before["events"]
    assert retried.json()["last_claim_date"] == before["last_claim_date"]
    after = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
    assert after["events"] == before["events"]
    # One hand-over for one completed cycle (a continued run once handed over again and again).
    listing = stack.client.list_workflows(f'WorkflowId = "{handle.id}"')
    assert len([e async for e in listing]) == 2


async def test_a_create_retried_without_a_key_makes_one_application(stack: Stack) -> None:
    body = {
        "form": "CMS-855I",
        "purpose": "initial",
        "details": {"legal_name": "Ann Retry", "npi": npi(uuid.uuid4().int % 10**8), "state": "FL"},
        "reason": "new hire",
    }
    first = await stack.http.post("/v1/applications", json=body)
    again = await stack.http.post("/v1/applications", json=body)
    assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
    assert first.json()["application_id"] == again.json()["application_id"]
    assert first.json()["application_id"].startswith("req-")


async def test_a_retried_incidents_retry_is_one_update(stack: Stack) -> None:
    """POST /v1/incidents/{workflow_id}/retry retried (its answer lost) is the same update, not a
    second re-run in the record's history; another reason is another retry."""
    app_id = f"retry-{uuid.uuid4().hex[:10]}"
    created = await stack.http.post(
        "/v1/applications",
        json={
            "application_id": app_id,
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {"legal_name": "Ann Retry", "npi": npi(uuid.uuid4().int % 10**8)},
            "reason": "new hire",
        },
    )
    assert created.status_code == 201, created.text
    workflow_id = f"application-{app_id}"
    route = f"/v1/incidents/{workflow_id}/retry"

    async def retry(reason: str) -> None:
        r = await stack.http.post(route, json={"reason": reason})
        assert r.status_code == 200 and r.json()["workflow_id"] == workflow_id, r.text

    async def retries() -> list[str]:
        history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
        return [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            == "retry_side_effects"
        ]

    await retry("the database is back")
    await retry("the database is back")
    first = await retries()
    assert len(first) == 1 and first[0].startswith("req-"), first
    await retry("the database went away again and is back")
    assert len(await retries()) == 2


async def test_a_create_is_one_round_trip_and_tells_a_repeat_from_the_first(
    stack: Stack,
) -> None:
    """The create starts the workflow and gets its answer in one call (update-with-start, the
    `created` update in the start's first task), and still tells the create that started it
    (201) from a repeat (200) and from another application under the same id (409)."""
    app_id = f"once-{uuid.uuid4().hex[:8]}"
    body = {
        "application_id": app_id,
        "form": "CMS-855I",
        "purpose": "initial",
        "details": {"legal_name": "Ann Once", "npi": npi(uuid.uuid4().int % 10**8), "state": "FL"},
        "reason": "new hire",
    }
    first = await stack.http.post("/v1/applications", json=body)
    assert first.status_code == 201, first.text
    history = await stack.client.get_workflow_handle(f"application-{app_id}").fetch_history()
    accepted = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert [a.input.name for a in accepted] == ["created"]
    # Accepted by the run's first workflow task, which the start itself scheduled.
    tasks = [
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    [accepted_at] = [
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert tasks[0] < accepted_at < (tasks[1] if len(tasks) > 1 else accepted_at + 1)

    again = await stack.http.post("/v1/applications", json=body)
    assert again.status_code == 200, again.text
    assert again.json()["events"] == first.json()["events"]
    other = await stack.http.post("/v1/applications", json={**body, "purpose": "revalidation"})
    assert other.status_code == 409, other.text
    assert other.json()["type"].endswith("/already-exists")
