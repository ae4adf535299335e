"""The support packet (GET /v1/applications/{id}/support-packet) and the provider view
(GET /v1/providers/{npi}) over real HTTP, with a worker on the time-skipping server."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.calendar import local_date
from models.read_model import EnrollmentRow
from tests.integration.test_api_reads import _serve, eventually, npi, unique
from tests.workflow.harness import event_data
from worker import build_worker
from workflows.settings import Settings

ZONE = "America/New_York"
KEYS = {
    "operator": ("support-operator-" + "o" * 24, "ops@example.org"),
    "auditor": ("support-auditor-" + "a" * 24, "audit@example.org"),
    "admin": ("support-admin-" + "d" * 24, "admin@example.org"),
}
API_KEYS = json.dumps({key: {"actor": actor, "role": role} for role, (key, actor) in KEYS.items()})
SSN = "123-45-6789"
EIN = "12-3456789"
# A name that would break HTML if a value were not escaped.
TRICKY_NAME = 'Jane <b>"O\'Doe"</b> & <script>alert(1)</script>'


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role][0]}"}


@dataclass
class Stack:
    http: httpx.AsyncClient
    env: WorkflowEnvironment
    engine: Engine

    async def today(self) -> date:
        return local_date(await self.env.get_current_time(), ZONE)

    async def create(self, **body: Any) -> dict[str, Any]:
        body = {"form": "CMS-855I", "purpose": "initial", **body}
        r = await self.http.post("/v1/applications", json=body, headers=auth("operator"))
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    async def record(self, application_id: str, *events: str) -> dict[str, Any]:
        today = await self.today()
        state: dict[str, Any] = {}
        for event in events:
            r = await self.http.post(
                f"/v1/applications/{application_id}/events",
                json={"event": event, "data": event_data(event, today), "reason": "test"},
                headers=auth("operator"),
            )
            assert r.status_code == 200, r.text
            state = r.json()
        return state

    async def packet(self, application_id: str, role: str = "operator") -> dict[str, Any]:
        r = await self.http.get(
            f"/v1/applications/{application_id}/support-packet", headers=auth(role)
        )
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        out: dict[str, Any] = r.json()
        return out


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[Stack]:
    task_queue = f"support-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app) as http:
            yield Stack(http, time_skipping_env, sqlite_engine)


# --- The support packet --------------------------------------------------------------------------


async def test_packet_has_what_a_call_to_the_mac_needs_as_json_and_printable_html(
    stack: Stack,
) -> None:
    app_id = unique("packet")
    await stack.create(
        application_id=app_id,
        details={
            "legal_name": TRICKY_NAME,
            "npi": npi(11),
            "ssn": SSN,
            "date_of_birth": "1980-02-03",
            "state": "FL",
        },
    )
    await stack.record(
        app_id, "submit", "signatures_completed", "received_by_mac", "development_requested"
    )
    today = await stack.today()
    due = today + timedelta(days=30)

    packet = await stack.packet(app_id)
    assert packet["application_id"] == app_id and packet["status"] == "development_requested"
    assert packet["workflow_id"] == f"application-{app_id}"
    assert "development_responded" in packet["allowed_events"]
    assert packet["identifiers"] == {
        "npi": npi(11),
        "ptan": None,
        "web_tracking_id": "WT-2026-000123",
        "case_number": "JN-CASE-42",
        "enrollment_id": None,
        "legal_name": TRICKY_NAME,
        # The last five digits: what the MAC's phone verification asks for.
        "tin": [{"kind": "SSN", "masked": "***-*5-6789"}],
    }
    assert packet["application"]["form"] == "CMS-855I"
    assert packet["application"]["purpose"] == "initial"
    assert packet["application"]["state"] == "FL"
    contractor = packet["contractor"]
    assert contractor["jurisdiction"] == "JN" and contractor["kind"] == "A/B MAC"
    assert contractor["contractor"] and packet["contractor_note"] is None
    dates = packet["dates"]
    assert dates["submitted_on"] == dates["signatures_completed_on"] == today.isoformat()
    assert dates["mac_receipt_date"] == dates["filing_date"] == today.isoformat()
    assert dates["decision"] is None and dates["approval_date"] is None
    assert packet["development_requests"] == [
        {
            "request_date": today.isoformat(),
            "items": ["Copy of state license"],
            "due": due.isoformat(),
            "responded_on": None,
            "status": "open",
        }
    ]
    [deadline] = packet["open_deadlines"]
    assert deadline["kind"] == "development_response"
    assert deadline["last_day"] == due.isoformat()
    assert deadline["rule"]["citation"] in deadline["explanation"]
    assert due.isoformat() in deadline["explanation"]
    wall_today = local_date(datetime.now(UTC), ZONE)
    assert packet["as_of"] == wall_today.isoformat()
    assert deadline["days_left"] == (due - wall_today).days
    assert packet["problems"] == [] and packet["open_findings"] == []
    assert [e["event"] for e in packet["recent_events"]] == [
        "development_requested",
        "received_by_mac",
        "signatures_completed",
        "submit",
        "created",
    ]
    # Never the full TIN, never the date of birth.
    text = json.dumps(packet)
    assert SSN not in text and "45-6789" not in text and "456789" not in text
    assert "1980-02-03" not in text and "date_of_birth" not in text

    # The same packet as a printable page: escaped, self-contained, masked.
    r = await stack.http.get(
        f"/v1/applications/{app_id}/support-packet",
        params={"format": "html"},
        headers=auth("auditor"),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    page = r.text
    assert page.startswith("<!DOCTYPE html>")
    assert "@media print" in page
    assert "<script" not in page.lower() and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;&quot;O&#x27;Doe&quot;&lt;/b&gt; &amp;" in page
    assert not re.search(r"(src|href)\s*=", page, re.IGNORECASE), "no external assets"
    assert "@import" not in page and "url(" not in page
    for shown in (npi(11), "WT-2026-000123", "JN-CASE-42", "***-*5-6789", due.isoformat(), "JN"):
        assert shown in page, shown
    assert SSN not in page and "1980-02-03" not in page
    assert "Copy of state license" in page and escape(deadline["rule"]["citation"]) in page


async def test_packet_lists_engine_consequences_decisions_and_failed_checks(
    stack: Stack,
) -> None:
    late = unique("late")
    await stack.create(
        application_id=late,
        form="CMS-855B",
        details={"legal_name": "Sunrise Clinic LLC", "npi": npi(12), "ein": EIN, "state": "CA"},
    )
    await stack.record(
        late, "submit", "signatures_completed", "received_by_mac", "development_requested"
    )
    request_day = await stack.today()
    # Nobody answers the development request: the engine rejects the application.
    await stack.env.sleep(timedelta(days=32))

    async def rejected() -> bool:
        return (await stack.packet(late))["status"] == "rejected"

    await eventually(rejected, "the engine's rejection in the packet")
    packet = await stack.packet(late, "admin")
    assert packet["identifiers"]["tin"] == [{"kind": "EIN", "masked": "**-**56789"}]
    assert packet["contractor"]["jurisdiction"] == "JE"
    [dev] = packet["development_requests"]
    assert dev["status"] == "expired"
    assert dev["due"] == (request_day + timedelta(days=30)).isoformat()
    decision = packet["dates"]["decision"]
    assert decision["kind"] == "rejected" and decision["by_engine"] is True
    kinds = [p["kind"] for p in packet["problems"]]
    assert kinds[:2] == ["decision", "engine_consequence"] or kinds[:2] == [
        "engine_consequence",
        "decision",
    ]
    consequence = next(p for p in packet["problems"] if p["kind"] == "engine_consequence")
    assert consequence["on"] == (request_day + timedelta(days=31)).isoformat()
    assert "-> rejected" in consequence["summary"]
    assert (request_day + timedelta(days=30)).isoformat() in consequence["detail"]
    assert "424" in (consequence["citation"] or "")
    assert packet["recent_events"][0]["actor"] == "engine"

    # A draft that cannot be submitted yet: its failed checks lead the problems.
    draft = unique("draft")
    await stack.create(application_id=draft, details={"legal_name": "No Npi Yet"})
    packet = await stack.packet(draft, "auditor")
    failed = [p for p in packet["problems"] if p["kind"] == "failed_check"]
    assert {p["summary"] for p in failed} >= {
        "check missing_field failed (npi)",
        "check missing_field failed (state)",
    }
    assert {f["field"] for f in packet["open_findings"] if f["severity"] == "error"} >= {
        "npi",
        "state",
    }
    assert packet["contractor"] is None and "No state on file" in packet["contractor_note"]
    assert packet["identifiers"]["tin"] == []


async def test_packet_refusals_name_the_problem(stack: Stack) -> None:
    app_id = unique("who")
    await stack.create(application_id=app_id, details={"legal_name": "Jane Doe"})
    path = f"/v1/applications/{app_id}/support-packet"
    assert (await stack.http.get(path)).status_code == 401
    for role in KEYS:
        assert (await stack.http.get(path, headers=auth(role))).status_code == 200, role

    missing = await stack.http.get(
        "/v1/applications/no-such-app/support-packet", headers=auth("auditor")
    )
    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "no-such-app" in missing.json()["detail"]

    for bad_id in ("-starts-with-dash", "x" * 65, "sp ace"):
        r = await stack.http.get(
            f"/v1/applications/{bad_id}/support-packet", headers=auth("operator")
        )
        assert r.status_code == 422, (bad_id, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["path.application_id"]

    pdf = await stack.http.get(path, params={"format": "pdf"}, headers=auth("operator"))
    assert pdf.status_code == 422, pdf.text
    assert [e["field"] for e in pdf.json()["errors"]] == ["format"]


# --- Providers ----------------------------------------------------------------------------------


async def test_provider_lists_its_applications_and_enrollments(stack: Stack) -> None:
    mine, theirs = npi(21), npi(22)
    first, second, other = unique("p1"), unique("p2"), unique("p3")
    details = {"legal_name": "Jane Doe", "state": "TX"}
    await stack.create(application_id=first, details={**details, "npi": mine})
    await stack.create(application_id=second, details={**details, "npi": mine})
    await stack.create(application_id=other, details={**details, "npi": theirs})
    await stack.record(second, "update_draft")  # the newest change

    async def projected() -> bool:
        r = await stack.http.get(f"/v1/providers/{mine}", headers=auth("auditor"))
        apps = r.json()["applications"]
        return len(apps) == 2 and apps[0]["application_id"] == second

    await eventually(projected, "both applications of the NPI")
    r = await stack.http.get(f"/v1/providers/{mine}", headers=auth("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["npi"] == mine and body["truncated"] is False
    assert [a["application_id"] for a in body["applications"]] == [second, first]
    assert body["enrollments"] == []
    row = body["applications"][0]
    assert row["mac_jurisdiction"] == "JH" and "projected_seq" not in row and "ssn" not in row

    limited = (
        await stack.http.get(f"/v1/providers/{mine}", params={"limit": 1}, headers=auth("admin"))
    ).json()
    assert [a["application_id"] for a in limited["applications"]] == [second]
    assert limited["truncated"] is True

    # Enrollment records of the NPI join from the enrollment read model.
    now = datetime.now(UTC)
    with Session(stack.engine) as s:
        s.add(
            EnrollmentRow(
                enrollment_id="I20260101000001",
                workflow_id="enrollment-I20260101000001",
                organization_id="default",
                npi=mine,
                ptan="PT123456",
                form="CMS-855I",
                state="TX",
                status="active",
                effective_date=date(2026, 1, 1),
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()
    body = (await stack.http.get(f"/v1/providers/{mine}", headers=auth("operator"))).json()
    [enrollment] = body["enrollments"]
    assert enrollment["enrollment_id"] == "I20260101000001" and enrollment["ptan"] == "PT123456"

    unknown = await stack.http.get(f"/v1/providers/{npi(23)}", headers=auth("operator"))
    assert unknown.status_code == 200
    assert unknown.json() == {
        "npi": npi(23),
        "applications": [],
        "enrollments": [],
        "truncated": False,
    }
    assert (await stack.http.get(f"/v1/providers/{mine}")).status_code == 401


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1234567890", "fails the check digit: the last digit should be 3"),
        ("12345", "is not 10 digits (it has 5)"),
        ("12345-6789", "contains non-digit characters"),
        ("3234567893", "the first digit must be 1 or 2"),
    ],
)
async def test_provider_npi_is_validated(stack: Stack, value: str, reason: str) -> None:
    r = await stack.http.get(f"/v1/providers/{value}", headers=auth("auditor"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    [error] = r.json()["errors"]
    assert error["field"] == "npi" and reason in error["reason"]
    assert reason in r.json()["detail"]
