"""PII never reaches a log line (issue #7): an application carrying an SSN, an EIN and a date of
birth goes through the API and the worker (checks, notifications, timers, a refused event, bad
input, an audit export and a codec decode); every line the processes write to stdout/stderr is
searched for them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.structured_logging import configure_logging
from api.app import create_app
from models.calendar import local_date
from tests.integration.test_api_reads import _serve, eventually
from tests.integration.test_auth import API_KEYS, headers
from worker import build_worker
from workflows.settings import Settings

ZONE = "America/New_York"
SSN, EIN, DOB = "123-45-6789", "12-3456789", "1980-02-29"
NEEDLES = (SSN, EIN, DOB, "123456789", "1980/02/29", "02/29/1980")


@contextmanager
def json_logs() -> Iterator[None]:
    """Production logging (JSON lines on stderr, DEBUG), bound to the stderr of the moment
    (capfd's, inside a test); the previous configuration is restored afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("DEBUG", json=True)
    try:
        yield
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)


async def drive(http: httpx.AsyncClient, app_id: str, env: WorkflowEnvironment) -> None:
    async def event(name: str, caller: str = "operator", **data: Any) -> int:
        r = await http.post(
            f"/v1/applications/{app_id}/events",
            json={"event": name, "data": data, "reason": f"pii test {name}"},
            headers=headers(caller),
        )
        return r.status_code

    details = {
        "legal_name": "Jane Q. Doe",
        "npi": "1234567893",
        "ssn": SSN,
        "date_of_birth": DOB,
        "state": "FL",
    }
    r = await http.post(
        "/v1/applications",
        json={
            "application_id": app_id,
            "form": "CMS-855I",
            "purpose": "initial",
            "details": details,
        },
        headers=headers("operator"),
    )
    assert r.status_code == 201, r.text
    # Bad input carrying PII: refused, and the refusal is logged without it.
    bad = await http.post(
        "/v1/applications",
        json={
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {**details, "ssn": SSN + "0", "ein": "9" + EIN},
        },
        headers=headers("operator"),
    )
    assert bad.status_code == 422, bad.text
    assert await event("update_draft", changes={"ein": EIN}) == 200
    assert await event("update_draft", changes={"ein": EIN + "1"}) == 422
    today = local_date(await env.get_current_time(), ZONE).isoformat()
    assert await event("submit", web_tracking_id="WT-2026-000777") == 200
    assert await event("signatures_completed") == 200
    assert await event("approved", ptan="PT1", approval_date=today) == 409
    assert await event("received_by_mac", case_number="JN-9", receipt_date=today) == 200
    assert await event("development_requested", request_date=today, items=[f"SSN {SSN}?"]) == 200
    await env.sleep(timedelta(days=32))  # reminders, then the consequence

    async def settled() -> bool:
        view = await http.get(f"/v1/applications/{app_id}", headers=headers("auditor"))
        return bool(view.json()["side_effects_pending"] == 0)

    await eventually(settled, "the consequence's notice delivered")  # it follows the state
    state = await http.get(f"/v1/applications/{app_id}", headers=headers("auditor"))
    assert state.json()["status"] == "rejected"
    audit = await http.get(
        f"/v1/audit/application-{app_id}",
        params={"include_history": "true"},
        headers=headers("auditor"),
    )
    assert audit.status_code == 200
    start = audit.json()["raw_history"][0]["history"]["events"][0]
    payload = start["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    decoded = await http.post(
        "/codec/decode", json={"payloads": [payload]}, headers=headers("auditor")
    )
    assert decoded.status_code == 200


async def test_no_ssn_ein_or_birth_date_in_any_log_line(
    capfd: pytest.CaptureFixture[str],
    time_skipping_env: WorkflowEnvironment,
    sqlite_engine: Engine,
) -> None:
    task_queue = f"pii-{uuid.uuid4()}"
    settings = Settings(task_queue=task_queue, default_time_zone=ZONE, api_keys=API_KEYS)
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    with json_logs():
        async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
            async with _serve(app) as http:
                await drive(http, f"pii-{uuid.uuid4().hex[:8]}", time_skipping_env)

    captured = capfd.readouterr()
    output = captured.out + captured.err
    lines = [line for line in output.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    events = {r.get("event") for r in records if isinstance(r, dict)}
    # The log is real: the API, the worker's notifications and the codec server all wrote.
    assert {"api request", "notification", "audit exported"} <= events, events
    # A codec call's one line is its access-log line, with the codec's facts.
    assert any(r.get("codec") == "decode" for r in records if isinstance(r, dict))
    notices = [r for r in records if r.get("event") == "notification"]
    assert len(notices) >= 8  # 5 events, 2 reminders, 1 consequence
    for needle in NEEDLES:
        hits = [line for line in lines if needle in line]
        assert not hits, f"{needle!r} logged: {hits[:3]}"
