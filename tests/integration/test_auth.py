"""Who may do what, over real HTTP: bearer API keys from ENROLL_API_KEYS, their roles, the 401/403
answers, the access log line of every request, and idempotent creates by Idempotency-Key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs
from temporalio.testing import WorkflowEnvironment

from activities.structured_logging import configure_logging
from api.app import create_app
from api.auth import ApiKeyError, parse_api_keys
from api.problems import PROBLEM_TYPES
from api.routes.applications import idempotent_application_id
from models.application import application_workflow_id
from tests.conftest import TEST_KEYRING
from tests.integration.test_api_reads import _closed_port, _serve
from worker import build_worker
from workflows.settings import Settings

ZONE = "America/New_York"
KEYS = {
    "operator": ("operator-key-" + "o" * 24, "ops@example.org"),
    "auditor": ("auditor-key-" + "a" * 24, "audit@example.org"),
    "admin": ("admin-key-" + "d" * 24, "admin@example.org"),
}
API_KEYS = json.dumps({key: {"actor": actor, "role": role} for role, (key, actor) in KEYS.items()})
BAD_KEY = "not-a-configured-key-" + "x" * 24
CALLERS = ("none", "bad", "auditor", "operator", "admin")
READERS = {"auditor", "operator", "admin"}
WRITERS = {"operator", "admin"}
DETAILS = {"legal_name": "Jane Doe", "npi": "1234567893", "ssn": "123-45-6789", "state": "FL"}


def headers(caller: str) -> dict[str, str]:
    if caller == "none":
        return {}
    key = BAD_KEY if caller == "bad" else KEYS[caller][0]
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Stack:
    http: httpx.AsyncClient
    env: WorkflowEnvironment

    async def create(self, caller: str = "operator", **body: Any) -> httpx.Response:
        body = {"form": "CMS-855I", "purpose": "initial", "details": DETAILS, **body}
        extra = body.pop("headers", {})
        return await self.http.post(
            "/v1/applications", json=body, headers={**headers(caller), **extra}
        )


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[Stack]:
    task_queue = f"auth-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app) as http:
            yield Stack(http, time_skipping_env)


# --- Every route x every kind of caller ----------------------------------------------------------


async def test_every_route_answers_each_caller_by_role(stack: Stack) -> None:
    created = await stack.create(application_id="matrix-base")
    assert created.status_code == 201, created.text
    app_id = created.json()["application_id"]

    def routes(caller: str) -> list[tuple[str, str, dict[str, Any] | None, set[str], int]]:
        """(method, path, json body, roles allowed, success status)"""
        return [
            ("GET", "/v1/applications", None, READERS, 200),
            ("GET", f"/v1/applications/{app_id}", None, READERS, 200),
            ("GET", "/v1/deadlines", None, READERS, 200),
            ("GET", "/v1/lifecycle", None, READERS, 200),
            ("GET", "/v1/lifecycle/mermaid", None, READERS, 200),
            (
                "POST",
                "/v1/applications",
                {
                    "application_id": f"matrix-{caller}",
                    "form": "CMS-855I",
                    "purpose": "initial",
                    "details": DETAILS,
                },
                WRITERS,
                201,
            ),
            (
                "POST",
                f"/v1/applications/{app_id}/events",
                {
                    "event": "update_draft",
                    "data": {"changes": {"provider_type": f"by {caller}"}},
                    "reason": "matrix",
                },
                WRITERS,
                200,
            ),
            ("GET", "/healthz", None, set(CALLERS), 200),
            ("GET", "/readyz", None, set(CALLERS), 200),
            ("GET", "/docs", None, set(CALLERS), 200),
            ("GET", "/openapi.json", None, set(CALLERS), 200),
        ]

    seen: list[str] = []
    for caller in CALLERS:
        for method, path, body, allowed, success in routes(caller):
            r = await stack.http.request(method, path, json=body, headers=headers(caller))
            if caller in allowed:
                expected = success
            elif caller in ("none", "bad"):
                expected = 401
            else:
                expected = 403
            assert r.status_code == expected, f"{caller} {method} {path}: {r.text}"
            if expected in (401, 403):
                assert r.headers["content-type"].startswith("application/problem+json")
                problem = r.json()
                assert problem["status"] == expected
                kind = "unauthenticated" if expected == 401 else "forbidden"
                assert problem["type"] == PROBLEM_TYPES + kind
                assert BAD_KEY not in r.text
            if expected == 403:
                assert problem["role"] == caller
                assert problem["required_roles"] == ["operator", "admin"]
                assert "operator or admin" in problem["detail"]
            seen.append(f"{caller} {method} {path} {r.status_code}")
    assert len(seen) == len(CALLERS) * 11

    # Refused writes wrote nothing; allowed ones recorded the key's actor and role.
    for caller in ("none", "bad", "auditor"):
        r = await stack.http.get(f"/v1/applications/matrix-{caller}", headers=headers("admin"))
        assert r.status_code == 404, r.text
    for caller in WRITERS:
        r = await stack.http.get(f"/v1/applications/matrix-{caller}", headers=headers("auditor"))
        assert r.status_code == 200, r.text
        first = r.json()["events"][0]
        assert (first["actor"], first["role"]) == (KEYS[caller][1], caller)
    state = (await stack.http.get(f"/v1/applications/{app_id}", headers=headers("auditor"))).json()
    drafts = [e for e in state["events"] if e["event"] == "update_draft"]
    assert [(e["actor"], e["role"]) for e in drafts] == [
        (KEYS["operator"][1], "operator"),
        (KEYS["admin"][1], "admin"),
    ]


async def test_401_says_how_to_authenticate_and_403_names_the_role(stack: Stack) -> None:
    for h in ({}, {"Authorization": "Basic b3BzOnNlY3JldA=="}, {"Authorization": "Bearer"}):
        r = await stack.http.get("/v1/applications", headers=h)
        assert r.status_code == 401, (h, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer <key>" in r.json()["detail"]
        assert "ENROLL_API_KEYS" in r.json()["detail"]

    bad = await stack.http.get("/v1/applications", headers=headers("bad"))
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    assert "not recognised" in bad.json()["detail"]

    # A key differing from a configured one only in its last character is still unknown.
    near = KEYS["operator"][0][:-1] + "z"
    r = await stack.http.get("/v1/lifecycle", headers={"Authorization": f"Bearer {near}"})
    assert r.status_code == 401

    forbidden = await stack.create("auditor")
    assert forbidden.status_code == 403
    assert "www-authenticate" not in forbidden.headers
    assert forbidden.json()["detail"] == (
        "Actor 'audit@example.org' has role 'auditor'; this needs the operator or admin role."
    )

    # The actor is the key's: a body naming one is refused with the reason.
    named = await stack.create(actor="someone@else.example")
    assert named.status_code == 422, named.text
    assert "come from your API key" in named.json()["detail"]


async def test_openapi_shows_the_bearer_scheme_on_protected_routes_only(stack: Stack) -> None:
    spec = (await stack.http.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    [(name, scheme)] = schemes.items()
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if path.startswith("/v1/"):
                assert op.get("security") == [{name: []}], f"{method} {path}"
                assert {"401", "403"} <= set(op["responses"]), f"{method} {path}"
            else:
                assert "security" not in op, f"{method} {path}"
    defs = spec["components"]["schemas"]
    for body in ("ApplicationCreateBody", "EventBody"):
        schema = defs[body]
        # An event body is a oneOf, one object per event: none of them takes an actor.
        shapes = [defs[o["$ref"].rsplit("/", 1)[1]] for o in schema.get("oneOf", [])] or [schema]
        assert all("actor" not in shape["properties"] for shape in shapes), body
        assert "actor" not in schema["examples"][0]


# --- Configuration errors -------------------------------------------------------------------------

GOOD = "k" * 32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"' + GOOD + '": ', "ENROLL_API_KEYS is not valid JSON"),
        ('["' + GOOD + '"]', "must be a JSON object"),
        ('{"' + GOOD + '": "operator"}', 'key #1 must map to {"actor": ..., "role": ...}'),
        ('{"' + GOOD + '": {"role": "operator"}}', "key #1 needs an actor"),
        (
            json.dumps(
                {
                    GOOD: {"actor": "a", "role": "operator"},
                    "r" * 32: {"actor": "b", "role": "reader"},
                }
            ),
            "ENROLL_API_KEYS: key #2 has role 'reader'; use operator, auditor or admin",
        ),
        ('{"' + GOOD + '": {"actor": "a"}}', "key #1 has role None"),
        ('{"short-key": {"actor": "a", "role": "operator"}}', "shorter than 24 characters"),
        (
            '{"' + GOOD + '": {"actor": "a", "role": "auditor", "scope": "x"}}',
            "unknown field(s) 'scope'",
        ),
        (
            '{"' + GOOD + '": {"actor": "a", "role": "operator"}, '
            '"' + GOOD + '": {"actor": "b", "role": "auditor"}}',
            "repeats an earlier key",
        ),
    ],
)
def test_malformed_api_keys_are_a_clear_startup_error(
    sqlite_engine: Engine, text: str, message: str
) -> None:
    with pytest.raises(ApiKeyError) as caught:
        create_app(Settings(api_keys=text, log_json=False), client=None, engine=sqlite_engine)
    assert message in str(caught.value)
    assert GOOD not in str(caught.value) and "short-key" not in str(caught.value)
    assert "r" * 32 not in str(caught.value)


def test_keys_come_from_the_environment_and_stay_out_of_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENROLL_API_KEYS", API_KEYS)
    settings = Settings()
    assert settings.api_keys == API_KEYS
    keys = parse_api_keys(settings.api_keys)
    assert len(keys) == 3
    for role, (key, actor) in KEYS.items():
        found = keys.lookup(key)
        assert found is not None and (found.actor, found.role) == (actor, role)
        assert key not in repr(settings) and key not in repr(keys)
    assert keys.lookup(BAD_KEY) is None
    assert len(parse_api_keys(None)) == 0 and len(parse_api_keys("  ")) == 0


def test_enroll_api_refuses_to_start_with_bad_keys() -> None:
    text = json.dumps({GOOD: {"actor": "a", "role": "reader"}})
    env = {
        **os.environ,
        "ENROLL_API_KEYS": text,
        "ENROLL_PAYLOAD_KEYS": TEST_KEYRING.to_config(),
        "ENROLL_LOG_JSON": "false",
    }
    enroll = Path(sys.executable).parent / "enroll"
    done = subprocess.run(
        [str(enroll), "api", "--port", str(_closed_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "key #1 has role 'reader'; use operator, auditor or admin" in out
    assert GOOD not in out


# --- The access log ------------------------------------------------------------------------------


async def test_every_request_logs_actor_role_route_and_status_never_the_key(
    stack: Stack,
) -> None:
    created = await stack.create(application_id="logged-1")
    assert created.status_code == 201, created.text
    with capture_logs() as logs:
        assert (await stack.http.get("/v1/applications/logged-1")).status_code == 401
        r = await stack.http.get("/v1/applications/logged-1", headers=headers("auditor"))
        assert r.status_code == 200
        r = await stack.http.post(
            "/v1/applications/logged-1/events",
            json={"event": "withdrawn", "data": {}, "reason": "ssn 123-45-6789 in a reason"},
            headers=headers("auditor"),
        )
        assert r.status_code == 403
        r = await stack.http.get("/v1/lifecycle", headers=headers("bad"))
        assert r.status_code == 401
        assert (await stack.http.get("/healthz")).status_code == 200
    lines = [e for e in logs if e["event"] == "api request"]
    assert [
        (e["method"], e["route"], e["status"], e["actor"], e["role"], e.get("auth")) for e in lines
    ] == [
        ("GET", "/v1/applications/{application_id}", 401, "anonymous", "anonymous", "missing"),
        ("GET", "/v1/applications/{application_id}", 200, "audit@example.org", "auditor", None),
        (
            "POST",
            "/v1/applications/{application_id}/events",
            403,
            "audit@example.org",
            "auditor",
            "forbidden",
        ),
        ("GET", "/v1/lifecycle", 401, "anonymous", "anonymous", "invalid"),
        ("GET", "/healthz", 200, "anonymous", "anonymous", None),
    ]
    assert all(isinstance(e["duration_ms"], float) and e["duration_ms"] >= 0 for e in lines)
    text = repr(logs)
    for key, _ in KEYS.values():
        assert key not in text
    assert BAD_KEY not in text and "123-45-6789" not in text and "withdrawn" not in text


async def test_the_access_line_is_one_rendered_json_line(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = structlog.get_config()
    configure_logging("INFO", json=True)
    try:
        r = await stack.http.get("/v1/deadlines", headers=headers("operator"))
        assert r.status_code == 200, r.text
    finally:
        structlog.configure(**saved)
    err = capsys.readouterr().err
    [line] = [json.loads(x) for x in err.splitlines() if '"api request"' in x]
    assert line["route"] == "/v1/deadlines" and line["status"] == 200
    assert (line["actor"], line["role"]) == ("ops@example.org", "operator")
    assert line["level"] == "info" and "timestamp" in line
    assert KEYS["operator"][0] not in err


# --- Idempotent create ---------------------------------------------------------------------------


async def test_idempotency_key_creates_one_application(stack: Stack) -> None:
    key = {"Idempotency-Key": f"hire-{uuid.uuid4()}"}
    org = "sunrise-medical-group"
    first = await stack.create(organization_id=org, headers=key)
    assert first.status_code == 201, first.text
    app_id = first.json()["application_id"]
    assert app_id == idempotent_application_id(org, key["Idempotency-Key"])
    handle = stack.env.client.get_workflow_handle(application_workflow_id(app_id))
    run_id = (await handle.describe()).run_id

    again = await stack.create(organization_id=org, headers=key)
    assert again.status_code == 200, again.text
    assert again.json()["application_id"] == app_id
    assert again.json()["workflow_id"] == first.json()["workflow_id"]
    assert [e["event"] for e in again.json()["events"]] == [
        e["event"] for e in first.json()["events"]
    ]
    by_admin = await stack.create("admin", organization_id=org, headers=key)
    assert by_admin.status_code == 200, by_admin.text
    assert (await handle.describe()).run_id == run_id  # one workflow, one run

    # The same key for a different form is a conflict, naming the key.
    clinic = {"legal_name": "Sunrise Clinic LLC", "npi": "1234567893", "state": "FL"}
    other = await stack.create(organization_id=org, form="CMS-855B", details=clinic, headers=key)
    assert other.status_code == 409, other.text
    assert "Idempotency-Key" in other.json()["detail"]
    assert other.json()["application_id"] == app_id

    # Keys are per organization: the same key elsewhere is another application.
    elsewhere = await stack.create(organization_id="another-group", headers=key)
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["application_id"] != app_id

    # Without a key or an id, the id is derived from the request: a retried create (the same
    # body) finds the application the first one made; another body is another application.
    a, b = await stack.create(), await stack.create()
    assert (a.status_code, b.status_code) == (201, 200), (a.text, b.text)
    assert a.json()["application_id"] == b.json()["application_id"]
    c = await stack.create(reason="another new hire")
    assert c.status_code == 201, c.text
    assert c.json()["application_id"] != a.json()["application_id"]

    both = await stack.create(application_id="explicit-1", headers=key)
    assert both.status_code == 422, both.text
    assert both.json()["errors"][0]["field"] == "application_id"


async def test_client_given_application_id_repeats_answer_200(stack: Stack) -> None:
    first = await stack.create(application_id="given-1")
    assert first.status_code == 201, first.text
    again = await stack.create(application_id="given-1")
    assert again.status_code == 200, again.text
    assert again.json()["application_id"] == "given-1"
    clash = await stack.create(application_id="given-1", purpose="revalidation")
    assert clash.status_code == 409, clash.text
    assert "Choose another application_id" in clash.json()["detail"]
