"""The enrollment routes over real HTTP (issue #4): uvicorn serving the app, a worker on the
time-skipping server, a SQLite read model, API keys by role."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.calendar import add_months, last_day_of_month, local_date
from tests.integration.test_api_reads import _serve, eventually, npi
from worker import build_worker
from workflows.settings import Settings

ZONE = "America/New_York"
KEYS = {
    "operator": ("enroll-operator-key-" + "o" * 24, "ops@example.org"),
    "auditor": ("enroll-auditor-key-" + "a" * 24, "audit@example.org"),
    "admin": ("enroll-admin-key-" + "d" * 24, "admin@example.org"),
}
API_KEYS = json.dumps({key: {"actor": actor, "role": role} for role, (key, actor) in KEYS.items()})


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role][0]}"}


def enrollment_id(kind: str = "I") -> str:
    return f"{kind}2020{uuid.uuid4().int % 10**10:010d}"


@dataclass
class Stack:
    http: httpx.AsyncClient
    env: WorkflowEnvironment

    async def today(self) -> date:
        return local_date(await self.env.get_current_time(), ZONE)

    async def body(self, **overrides: Any) -> dict[str, Any]:
        today = await self.today()
        return {
            "enrollment_id": enrollment_id(),
            "npi": npi(uuid.uuid4().int % 10**8),
            "ptan": "00G577550",
            "form": "CMS-855I",
            "state": "FL",
            "effective_date": add_months(today, -24).isoformat(),
            "reason": "imported from the spreadsheet",
            **overrides,
        }

    async def imported(self, **overrides: Any) -> dict[str, Any]:
        r = await self.http.post("/v1/enrollments", json=await self.body(**overrides))
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    async def event(self, eid: str, event: str, **data: Any) -> httpx.Response:
        return await self.http.post(
            f"/v1/enrollments/{eid}/events",
            json={"event": event, "data": data, "reason": f"test {event}"},
        )

    async def list(self, **params: Any) -> dict[str, Any]:
        r = await self.http.get("/v1/enrollments", params=params)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[Stack]:
    task_queue = f"enrollments-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app, auth("operator")) as http:
            yield Stack(http, time_skipping_env)


async def test_import_then_read_with_clocks_explained_and_idempotent_repeat(stack: Stack) -> None:
    today = await stack.today()
    due = last_day_of_month(add_months(today, 10))
    body = await stack.body(
        organization_id="sunrise", revalidation_due_date=due.isoformat(), form="855i"
    )
    r = await stack.http.post("/v1/enrollments", json=body)
    assert r.status_code == 201, r.text
    view = r.json()
    eid = body["enrollment_id"]
    assert view["enrollment_id"] == eid
    assert view["workflow_id"] == f"enrollment-{eid}"
    assert (view["source"], view["status"], view["form"]) == ("import", "active", "CMS-855I")
    assert view["organization_id"] == "sunrise"
    assert view["revalidation_due_date"] == due.isoformat()
    assert view["revalidation_window_opens"] == add_months(due, -7).isoformat()
    assert view["reenrollment_bar"] is None
    assert "revalidation_notice_received" in view["allowed_events"]
    assert view["clocks"] and all(c["explanation"] for c in view["clocks"])
    assert any(due.isoformat() in c["explanation"] for c in view["clocks"])
    assert view["events"][0]["actor"] == KEYS["operator"][1]

    got = await stack.http.get(f"/v1/enrollments/{eid}", headers=auth("auditor"))
    assert got.status_code == 200, got.text
    assert got.json()["revalidation_due_date"] == due.isoformat()

    # The same import again: 200 with the enrollment as it is; nothing started twice.
    again = await stack.http.post("/v1/enrollments", json=body)
    assert again.status_code == 200, again.text
    assert again.json()["seq"] == view["seq"]
    # Without the optional due date it is still the same import.
    again = await stack.http.post(
        "/v1/enrollments", json={k: v for k, v in body.items() if k != "revalidation_due_date"}
    )
    assert again.status_code == 200, again.text

    # The same id with another NPI or form: 409 naming the differences.
    for field, value in (("npi", "1234567893"), ("form", "CMS-855B")):
        clash = await stack.http.post("/v1/enrollments", json={**body, field: value})
        assert clash.status_code == 409, clash.text
        problem = clash.json()
        assert clash.headers["content-type"].startswith("application/problem+json")
        assert set(problem["differences"]) == {field}
        assert problem["enrollment_id"] == eid
    later = last_day_of_month(add_months(due, 1)).isoformat()
    clash = await stack.http.post("/v1/enrollments", json={**body, "revalidation_due_date": later})
    assert clash.status_code == 409, clash.text
    assert "revalidation_notice_received" in clash.json()["detail"]


async def test_import_refusals_are_422_naming_the_field(stack: Stack) -> None:
    cases = [
        ({"npi": "1234567890"}, "npi", "check digit"),
        ({"enrollment_id": "X123"}, "enrollment_id", "Enrollment ID"),
        ({"state": "ZZ"}, "state", "two-letter"),
        ({"form": "CMS-855R"}, "form", "855R"),
        ({"actor": "someone@else"}, "body", "API key"),
        ({"revalidation_due_date": "2027-06-15"}, "body", "month end"),
        ({"form": "CMS-855O", "revalidation_due_date": "2027-06-30"}, "body", "revalidate"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "IANA"),
    ]
    for overrides, field, fragment in cases:
        r = await stack.http.post("/v1/enrollments", json=await stack.body(**overrides))
        assert r.status_code == 422, f"{overrides}: {r.text}"
        problem = r.json()
        fields = [e["field"] for e in problem["errors"]]
        assert field in fields, f"{overrides}: {fields}"
        assert fragment in problem["detail"], f"{overrides}: {problem['detail']}"
    missing = await stack.body()
    del missing["effective_date"]
    r = await stack.http.post("/v1/enrollments", json=missing)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["effective_date"]


async def test_events_record_actor_and_refuse_409_422_404(stack: Stack) -> None:
    today = await stack.today()
    view = await stack.imported()
    eid = view["enrollment_id"]

    r = await stack.event(eid, "revalidation_notice_received", letter_date=today.isoformat())
    assert r.status_code == 200, r.text
    state = r.json()
    last = state["events"][-1]
    assert (last["event"], last["actor"], last["role"]) == (
        "revalidation_notice_received",
        KEYS["operator"][1],
        "operator",
    )
    assert state["revalidation_notice_on"] == today.isoformat()

    # Illegal in this state: 409 with the state and what is allowed.
    r = await stack.event(eid, "reactivation_submitted", receipt_date=today.isoformat())
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["state"] == "active"
    assert "revalidation_submitted" in problem["allowed_events"]
    assert "reactivation_submitted" not in problem["allowed_events"]

    # Data the workflow refuses: 422 naming the field, nothing recorded.
    future = date.fromordinal(today.toordinal() + 3).isoformat()
    r = await stack.event(eid, "claim_activity", latest_claim_date=future)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "data.latest_claim_date"
    assert "future" in r.json()["detail"]
    # Malformed data: 422 from the event model, before Temporal is asked.
    r = await stack.event(eid, "claim_activity")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "data.latest_claim_date"
    r = await stack.event(eid, "revalidation_due_date_passed")  # a timer's event
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "event", "reason": "unknown event"}]
    r = await stack.http.post(
        f"/v1/enrollments/{eid}/events",
        json={"event": "claim_activity", "data": {}, "reason": "x", "actor": "me"},
    )
    assert r.status_code == 422 and "API key" in r.json()["detail"]

    # Revocation: pending until it takes effect 30 days on (the provider may bill until then);
    # the bar shows in the view.
    r = await stack.http.post(
        f"/v1/enrollments/{eid}/events",
        json={
            "event": "revoked",
            "data": {"notice_date": today.isoformat(), "bar_years": 3, "grounds": "424.535(a)(3)"},
            "reason": "revocation letter",
        },
        headers=auth("admin"),
    )
    assert r.status_code == 200, r.text
    revoked = r.json()
    effective = date.fromordinal(today.toordinal() + 30).isoformat()
    assert revoked["status"] == "revocation_pending"
    assert revoked["status_text"] == f"revocation pending, effective {effective}"
    assert revoked["action_required"].startswith(f"Revocation pending, effective {effective}")
    assert revoked["events"][-1]["role"] == "admin"
    bar = revoked["reenrollment_bar"]
    assert bar["years"] == 3 and not bar["expired"]
    got = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
    assert got["reenrollment_bar"] == bar
    r = await stack.event(eid, "claim_activity", latest_claim_date=today.isoformat())
    assert r.status_code == 200, r.text
    r = await stack.event(eid, "change_occurred", kind="other", change_date=today.isoformat())
    assert r.status_code == 409
    assert "reconsideration_requested" in r.json()["allowed_events"]

    unknown = enrollment_id()
    for r in (
        await stack.http.get(f"/v1/enrollments/{unknown}"),
        await stack.event(unknown, "claim_activity", latest_claim_date=today.isoformat()),
    ):
        assert r.status_code == 404, r.text
        assert "POST /v1/enrollments" in r.json()["detail"]
    events = (await stack.http.get(f"/v1/enrollments/{eid}")).json()["events"]
    assert [e["event"] for e in events] == [
        "created",
        "revalidation_notice_received",
        "revoked",
        "claim_activity",
    ]


async def test_roles_401_and_403(stack: Stack) -> None:
    eid = (await stack.imported())["enrollment_id"]
    body = await stack.body()
    event = {"event": "claim_activity", "data": {"latest_claim_date": "2020-01-01"}, "reason": "x"}
    writes = [
        ("POST", "/v1/enrollments", body),
        ("POST", f"/v1/enrollments/{eid}/events", event),
        ("POST", "/v1/imports", {"roster_csv": "enrollment_id\n"}),
    ]
    reads = [("GET", "/v1/enrollments", None), ("GET", f"/v1/enrollments/{eid}", None)]
    for method, path, payload in writes + reads:
        r = await stack.http.request(method, path, json=payload, headers={"Authorization": ""})
        assert r.status_code == 401, f"{method} {path}: {r.text}"
        assert r.headers["www-authenticate"].startswith("Bearer")
    for method, path, payload in writes:
        r = await stack.http.request(method, path, json=payload, headers=auth("auditor"))
        assert r.status_code == 403, f"{method} {path}: {r.text}"
        assert r.json()["required_roles"] == ["operator", "admin"]
    for method, path, _ in reads:
        r = await stack.http.request(method, path, headers=auth("auditor"))
        assert r.status_code == 200, f"{method} {path}: {r.text}"
    # Refused writes wrote nothing.
    r = await stack.http.get(f"/v1/enrollments/{body['enrollment_id']}")
    assert r.status_code == 404


async def test_list_filters_and_pages_from_the_read_model(stack: Stack) -> None:
    today = await stack.today()
    soon = last_day_of_month(add_months(today, 3))
    later = last_day_of_month(add_months(today, 20))
    org = f"org-{uuid.uuid4().hex[:8]}"
    made = [
        await stack.imported(
            organization_id=org, state="FL", revalidation_due_date=soon.isoformat()
        ),
        await stack.imported(
            organization_id=org, state="GA", revalidation_due_date=later.isoformat()
        ),
        await stack.imported(organization_id=org, state="CA", form="CMS-855S"),
        await stack.imported(organization_id=org, state="TX", form="CMS-855O"),
    ]
    ids = {m["enrollment_id"] for m in made}

    async def listed() -> bool:
        return {i["enrollment_id"] for i in (await stack.list(organization_id=org))["items"]} == ids

    await eventually(listed, "the four imported enrollments")

    async def page_ids(**params: Any) -> list[str]:
        return [
            i["enrollment_id"] for i in (await stack.list(organization_id=org, **params))["items"]
        ]

    assert await page_ids(state="fl") == [made[0]["enrollment_id"]]
    assert set(await page_ids(state=["GA", "CA"])) == {
        made[1]["enrollment_id"],
        made[2]["enrollment_id"],
    }
    assert await page_ids(form="855S") == [made[2]["enrollment_id"]]
    assert await page_ids(mac="JN") == [made[0]["enrollment_id"]]  # Florida: First Coast
    assert await page_ids(npi=made[3]["npi"]) == [made[3]["enrollment_id"]]
    assert set(await page_ids(status="active")) == ids
    assert await page_ids(status="revoked") == []
    assert await page_ids(due_before=add_months(soon, 1).isoformat()) == [made[0]["enrollment_id"]]
    item = (await stack.list(npi=made[0]["npi"]))["items"][0]
    assert item["revalidation_due_date"] == soon.isoformat()
    assert item["mac_jurisdiction"] == "JN"
    assert "projected_seq" not in item
    # The soonest open deadline: every enrollment here has one (revalidation or non-billing).
    horizon = add_months(today, 40).isoformat()
    assert set(await page_ids(deadline_before=horizon)) == ids

    # Pages of one, newest change first, each enrollment exactly once.
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"organization_id": org, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = await stack.list(**params)
        seen += [i["enrollment_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 4
    assert seen == await page_ids()

    for params, name in (
        ({"status": "nope"}, "status"),
        ({"state": "ZZ"}, "state"),
        ({"npi": "12"}, "npi"),
        ({"cursor": "garbage"}, "cursor"),
        ({"due_before": "someday"}, "due_before"),
    ):
        r = await stack.http.get("/v1/enrollments", params=params)
        assert r.status_code == 422, f"{params}: {r.text}"
        assert r.json()["errors"][0]["field"] == name


async def test_lifecycle_serves_both_tables_and_both_diagrams(stack: Stack) -> None:
    r = await stack.http.get("/v1/lifecycle", headers=auth("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["application"]["name"] == "application"
    enrollment = body["enrollment"]
    assert enrollment["name"] == "enrollment"
    assert enrollment["initial"] == "active"
    events = {e["name"]: e for e in enrollment["events"]}
    assert events["revoked"]["source"] == "operator"
    # No bar after a revocation for revalidation non-response (42 CFR 424.535(c)(1)(ii)).
    assert events["revoked"]["data_fields"]["bar_years"]["required"] is False
    assert "ground" in events["revoked"]["data_fields"]
    assert events["revoked"]["data_fields"]["notice_date"]["required"] is True
    assert events["revalidation_due_date_passed"]["source"] == "timer"
    assert "data_fields" not in events["revalidation_due_date_passed"]
    app_events = {e["name"]: e for e in body["application"]["events"]}
    assert "request_date" in app_events["development_requested"]["data_fields"]
    assert set(body["mermaid"]) == {"application", "enrollment"}
    assert "active --> stayed" in body["mermaid"]["enrollment"]

    default = await stack.http.get("/v1/lifecycle/mermaid")
    assert default.status_code == 200
    assert default.text == body["mermaid"]["application"]
    assert (await stack.http.get("/v1/lifecycle/mermaid?kind=application")).text == default.text
    enr = await stack.http.get("/v1/lifecycle/mermaid", params={"kind": "enrollment"})
    assert enr.text == body["mermaid"]["enrollment"]
    assert enr.text.startswith("stateDiagram-v2")
    bad = await stack.http.get("/v1/lifecycle/mermaid", params={"kind": "claims"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "kind"
