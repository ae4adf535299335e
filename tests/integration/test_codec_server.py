"""The codec server (issue #7): histories on the Temporal server hold only ciphertext; an auditor
(or admin) key decrypts a payload through POST /codec/decode, as the Web UI and CLI do."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.routes.codec import ORIGINS_ENV
from tests.integration.test_api_reads import _serve
from tests.integration.test_auth import API_KEYS, KEYS, headers
from worker import build_worker
from workflows.settings import Settings

ZONE = "America/New_York"
SSN, EIN, DOB = "123-45-6789", "12-3456789", "1980-02-29"
SECRETS = (SSN, EIN, DOB, "123456789")
UI = "http://localhost:8233"


@dataclass
class Stack:
    http: httpx.AsyncClient
    env: WorkflowEnvironment


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[Stack]:
    task_queue = f"codec-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app) as http:
            yield Stack(http, time_skipping_env)


def _json_of(payload: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(payload["data"]))


async def test_history_is_ciphertext_and_an_auditor_decodes_it(stack: Stack) -> None:
    app_id = f"codec-{uuid.uuid4().hex[:8]}"
    created = await stack.http.post(
        "/v1/applications",
        json={
            "application_id": app_id,
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {"legal_name": "Jane Q. Doe", "ssn": SSN, "date_of_birth": DOB},
        },
        headers=headers("operator"),
    )
    assert created.status_code == 201, created.text
    edit = await stack.http.post(
        f"/v1/applications/{app_id}/events",
        json={"event": "update_draft", "data": {"changes": {"ein": EIN}}, "reason": "W-9"},
        headers=headers("operator"),
    )
    assert edit.status_code == 200, edit.text

    # Read the history as the server stores it: a client with no codec.
    cfg = stack.env.client.config()
    cfg["data_converter"] = pydantic_data_converter
    raw_client = Client(**cfg)
    history = await raw_client.get_workflow_handle(f"application-{app_id}").fetch_history()
    assert len(history.events) > 10
    for event in history.events:
        wire = event.SerializeToString()
        for secret in SECRETS:
            assert secret.encode() not in wire, (secret, event.event_type)
    started = history.events[0].workflow_execution_started_event_attributes
    [ciphertext] = started.input.payloads
    assert ciphertext.metadata["encoding"] == b"binary/encrypted"
    body = {"payloads": [MessageToDict(ciphertext)]}

    # Refused without a key, with an unknown key, and to an operator.
    for caller, status in (("none", 401), ("bad", 401), ("operator", 403)):
        r = await stack.http.post("/codec/decode", json=body, headers=headers(caller))
        assert r.status_code == status, (caller, r.text)
        assert SSN not in r.text

    # An auditor (and an admin) reads the plaintext, and every decode is logged without it.
    with capture_logs() as logs:
        r = await stack.http.post(
            "/codec/decode",
            json=body,
            headers={**headers("auditor"), "X-Namespace": "default", "Origin": UI},
        )
        await asyncio.sleep(0.1)  # the access log writes just after the response is sent
    assert r.status_code == 200, r.text
    [decoded] = r.json()["payloads"]
    assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"
    create = _json_of(decoded)
    assert create["details"]["ssn"] == SSN and create["details"]["date_of_birth"] == DOB
    assert r.headers["access-control-allow-origin"] == UI
    # One line per codec call: the request's access-log line, with the codec's facts.
    [line] = logs
    assert (line["actor"], line["role"], line["count"]) == (KEYS["auditor"][1], "auditor", 1)
    assert (line["codec"], line["namespace"], line["status"]) == ("decode", "default", 200)
    assert SSN not in repr(logs) and "payloads" not in line

    # Every payload of the history decodes; the EIN recorded by the edit is among them.
    accepted = [
        event.workflow_execution_update_accepted_event_attributes.accepted_request
        for event in history.events
        if event.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    everything = [MessageToDict(p) for a in accepted for p in a.input.args.payloads]
    r = await stack.http.post(
        "/codec/decode", json={"payloads": everything}, headers=headers("admin")
    )
    assert r.status_code == 200, r.text
    assert [_json_of(p)["changes"]["ein"] for p in r.json()["payloads"]] == [EIN]

    # Encode is the inverse (the Web UI encodes e.g. signal input).
    plain = {"payloads": [decoded]}
    r = await stack.http.post("/codec/encode", json=plain, headers=headers("auditor"))
    assert r.status_code == 200, r.text
    [again] = r.json()["payloads"]
    assert base64.b64decode(again["metadata"]["encoding"]) == b"binary/encrypted"
    assert SSN not in base64.b64decode(again["data"]).decode("latin-1")
    r = await stack.http.post(
        "/codec/decode", json={"payloads": [again]}, headers=headers("auditor")
    )
    assert _json_of(r.json()["payloads"][0]) == create

    # A tampered ciphertext is a 422 naming the problem, not a 500.
    data = bytearray(base64.b64decode(body["payloads"][0]["data"]))
    data[-1] ^= 1
    tampered = {"payloads": [{**body["payloads"][0], "data": base64.b64encode(data).decode()}]}
    r = await stack.http.post("/codec/decode", json=tampered, headers=headers("auditor"))
    assert r.status_code == 422 and "failed authentication" in r.json()["detail"]
    r = await stack.http.post(
        "/codec/decode", json={"payloads": [{"data": "not base64!"}]}, headers=headers("auditor")
    )
    assert r.status_code == 422


async def test_cors_answers_the_web_ui_origin_only(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    preflight = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    for path in ("/codec/decode", "/codec/encode"):
        r = await stack.http.options(path, headers=preflight)
        assert r.status_code == 204, r.text
        assert r.headers["access-control-allow-origin"] == UI
        assert "Authorization" in r.headers["access-control-allow-headers"]
        assert "POST" in r.headers["access-control-allow-methods"]
        assert r.headers["access-control-allow-credentials"] == "true"
    r = await stack.http.options(
        "/codec/decode", headers={**preflight, "Origin": "http://127.0.0.1:8233"}
    )
    assert r.status_code == 204
    evil = await stack.http.options(
        "/codec/decode", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    # A refusal still carries CORS headers, so the Web UI can show the 401.
    r = await stack.http.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == UI

    # The origins are configurable (a production Web UI).
    monkeypatch.setenv(ORIGINS_ENV, "https://temporal.example.org/, https://ui.example.org")
    r = await stack.http.options(
        "/codec/decode", headers={**preflight, "Origin": "https://temporal.example.org"}
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://temporal.example.org"
    r = await stack.http.options("/codec/decode", headers=preflight)
    assert r.status_code == 403
