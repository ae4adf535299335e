"""The API's own contract, over real HTTP: the OpenAPI document names every operation and gives a
schema for every answer; creates answer 201 with Location; every error is problem+json with a
type URI; answers are their response models (no workflow internals, sensitive values masked);
/docs and /redoc need no internet."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine
from api.app import create_app
from api.problems import PROBLEM_JSON, PROBLEM_MODELS, PROBLEM_TYPES
from models.application import application_workflow_id
from tests.integration.test_api_reads import (
    API_KEYS,
    AUTH,
    Stack,
    _serve,
    eventually,
    stack,
    unique,
)
from tests.integration.test_enrollments_api import enrollment_id
from workflows.settings import Settings

__all__ = ["stack"]  # the fixture, used by name

OPERATION_IDS = {
    "createApplication",
    "getApplication",
    "recordApplicationEvent",
    "getApplicationEventOutcome",
    "correctApplication",
    "listApplications",
    "getSupportPacket",
    "importEnrollment",
    "getEnrollment",
    "recordEnrollmentEvent",
    "getEnrollmentEventOutcome",
    "listEnrollments",
    "importRoster",
    "listReferenceLoads",
    "loadReferenceFile",
    "recordEnrollmentFindingDisposition",
    "getReassignmentGraph",
    "checkClaimReadiness",
    "checkClaimsReadinessCsv",
    "recordFindingDisposition",
    "listDeadlines",
    "getLifecycle",
    "getLifecycleMermaid",
    "getProvider",
    "getAuditExport",
    "listIncidents",
    "retryIncidents",
    "listNotifications",
    "resendNotification",
    "acknowledgeNotification",
    "getPecosAccess",
    "recordPecosAccessEvent",
    "getHealth",
    "getReadiness",
}
PROBLEM_REFS = {f"#/components/schemas/{model.__name__}" for model in PROBLEM_MODELS}
SENSITIVE = {
    "legal_name": "Jane Doe",
    "npi": "1234567893",
    "state": "FL",
    **{"ssn": "123-45-6789", "ein": "12-3456789", "date_of_birth": "1980-02-03"},
}
# What a workflow's state holds for its own bookkeeping, never part of an answer.
INTERNALS = {"before_consequence", "consequence_clock", "late_recording_grace", "cycle_completed"}


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    ]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def assert_problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_TYPES + kind, problem
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


# --- The document ---------------------------------------------------------------------------------


async def test_the_document_names_every_operation_and_documents_every_answer(
    stack: Stack,
) -> None:
    document = (await stack.http.get("/openapi.json")).json()
    tags = {t["name"] for t in document["tags"]}
    seen: list[str] = []
    for name, op in operations(document):
        operation_id = op["operationId"]
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", operation_id), (name, operation_id)
        seen.append(operation_id)
        assert op["tags"] and set(op["tags"]) <= tags, name
        for status, answer in op["responses"].items():
            content = answer.get("content")
            assert content, f"{name} {status}: no content documented"
            if status.startswith("2"):
                for media_type, body in content.items():
                    assert body.get("schema"), f"{name} {status} {media_type}: no schema"
                    if media_type == "application/json":
                        schema = resolve(document, body["schema"])
                        assert schema.get("properties"), f"{name} {status}: not a model"
            else:
                assert list(content) == [PROBLEM_JSON], f"{name} {status}: {list(content)}"
                assert content[PROBLEM_JSON]["schema"]["$ref"] in PROBLEM_REFS, name
            if status == "201":
                assert answer["headers"]["Location"]["required"] is True, name
            if status == "401":
                assert answer["headers"]["WWW-Authenticate"]["required"] is True, name
        if name.startswith(("GET /v1", "POST /v1")):
            assert {"401", "403"} <= set(op["responses"]), name
    assert tags == {t for _, op in operations(document) for t in op["tags"]}  # no empty one
    assert len(seen) == len(set(seen)), sorted(seen)
    assert set(seen) == OPERATION_IDS
    for ref in PROBLEM_REFS:
        problem = resolve(document, {"$ref": ref})
        assert {"type", "title", "status", "detail"} <= set(problem["required"]), ref


async def test_answers_are_their_models_with_sensitive_values_masked(stack: Stack) -> None:
    document = (await stack.http.get("/openapi.json")).json()

    def documented(schema_name: str) -> set[str]:
        return set(document["components"]["schemas"][schema_name]["properties"])

    created = await stack.create(form="CMS-855I", purpose="initial", details=SENSITIVE)
    assert set(created) == documented("ApplicationView")
    assert not INTERNALS & set(created)
    details = created["details"]
    assert set(details) == documented("ApplicationDetailsView")
    assert (details["ssn"], details["ein"], details["date_of_birth"]) == (
        "***-**-6789",
        "**-***6789",
        "[REDACTED]",
    )
    assert created["workflow_id"] == application_workflow_id(created["application_id"])
    assert "submit" in created["allowed_events"]
    [clock] = (await stack.record(created["application_id"], "submit"))["clocks"]
    assert set(clock) == documented("ClockView") and "explanation" in clock

    made = await stack.http.post("/v1/enrollments", json=enrollment(unique("org")))
    assert made.status_code == 201, made.text
    assert set(made.json()) == documented("EnrollmentView")
    assert not INTERNALS & set(made.json())


def enrollment(organization_id: str) -> dict[str, Any]:
    return {
        "enrollment_id": enrollment_id(),
        "organization_id": organization_id,
        "npi": "1234567893",
        "ptan": "00G577550",
        "form": "CMS-855I",
        "state": "FL",
        "effective_date": "2023-04-01",
        "reason": "contract test",
    }


# --- 201 and Location -----------------------------------------------------------------------------


async def test_every_create_answers_201_with_the_location_of_what_it_made(stack: Stack) -> None:
    body = {"form": "CMS-855I", "purpose": "initial", "reason": "contract test"}
    for path, payload, key in (
        ("/v1/applications", {**body, "application_id": unique("loc")}, "application_id"),
        ("/v1/enrollments", enrollment(unique("org")), "enrollment_id"),
    ):
        made = await stack.http.post(path, json=payload)
        assert made.status_code == 201, made.text
        location = made.headers["location"]
        assert urlsplit(location).path == f"{path}/{made.json()[key]}"
        shown = await stack.http.get(location)
        assert shown.status_code == 200 and shown.json()[key] == made.json()[key]
        again = await stack.http.post(path, json=payload)
        assert again.status_code == 200 and again.json()[key] == made.json()[key]


# --- Problems -------------------------------------------------------------------------------------


async def test_every_error_is_a_problem_with_a_type(stack: Stack) -> None:
    assert_problem(await stack.http.get("/v1/no-such-resource"), 404, "unknown-path")
    assert_problem(await stack.http.delete("/v1/applications"), 405, "method-not-allowed")
    assert_problem(await stack.http.get("/v1/applications/nope"), 404, "not-found")
    assert_problem(await stack.http.get("/v1/audit/nope"), 404, "not-found")
    assert_problem(
        await stack.http.get("/v1/applications", params={"limit": 0}), 422, "invalid-request"
    )
    assert_problem(
        await stack.http.get("/v1/lifecycle", headers={"Authorization": "Bearer unknown"}),
        401,
        "unauthenticated",
    )

    app_id = (await stack.create(form="CMS-855I", purpose="initial"))["application_id"]
    illegal = await stack.event(app_id, "approved", ptan="PT1", approval_date="2026-01-01")
    problem = assert_problem(illegal, 409, "illegal-transition")
    assert problem["state"] == "draft" and "submit" in problem["allowed_events"]

    withdrawn = await stack.event(app_id, "withdrawn")
    assert withdrawn.status_code == 200, withdrawn.text
    handle = stack.env.client.get_workflow_handle(application_workflow_id(app_id))

    async def ended() -> bool:  # a withdrawn draft has no clock left: its workflow ends
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(ended, "the withdrawn application's workflow completed")
    submit = await stack.event(app_id, "submit", web_tracking_id="WT-2026-000001")
    closed = assert_problem(submit, 409, "record-closed")
    assert closed["state"] == "withdrawn" and closed["allowed_events"] == []
    # A closed record takes no bookkeeping either: it is history (reopening is an admin's
    # audited correction).
    assign = await stack.event(app_id, "assigned", assignee="bea@example.org")
    assert assert_problem(assign, 409, "record-closed")["state"] == "withdrawn"

    table = (await stack.http.get("/v1/lifecycle", headers=AUTH)).json()["application"]
    (assigned,) = [e for e in table["events"] if e["name"] == "assigned"]
    assert assigned["bookkeeping"] is True and "withdrawn" in assigned["states"]
    assert assigned["data_fields"]["assignee"]["required"] is True
    assert "bookkeeping" not in next(e for e in table["events"] if e["name"] == "submit")
    assert not [t for t in table["transitions"] if t["event"] in ("assigned", "note_added")]


async def test_a_failure_no_route_foresaw_is_a_500_problem_without_its_text(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    schemaless = create_db_engine("sqlite://")  # a read model without its tables
    settings = Settings(log_json=False, api_keys=API_KEYS)
    try:
        app = create_app(settings, client=time_skipping_env.client, engine=schemaless)
        async with _serve(app, AUTH) as http:
            r = await http.get("/v1/applications")
    finally:
        schemaless.dispose()
    problem = assert_problem(r, 500, "internal-error")
    assert "GET /v1/applications" in problem["detail"] and "Retry" in problem["detail"]
    assert "no such table" not in r.text and "SELECT" not in r.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"form": "CMS-855I",,}', "not valid JSON: Expecting property name enclosed in double"),
        (b'{"form": "CMS-855I"', "not valid JSON: Expecting ',' delimiter"),
        (b'{"form": "\xc3\x28"}', "not valid JSON: 'utf-8' codec can't decode byte 0xc3"),
    ],
)
async def test_a_body_that_is_not_json_is_422_naming_the_body(
    stack: Stack, body: bytes, reason: str
) -> None:
    r = await stack.http.post(
        "/v1/applications", content=body, headers={"content-type": "application/json"}
    )
    problem = assert_problem(r, 422, "invalid-request")
    [error] = problem["errors"]
    assert error["field"] == "body"
    assert error["reason"].startswith(reason), error


# --- Offline docs ---------------------------------------------------------------------------------


class _Assets(HTMLParser):
    """Every URL a page loads: src and href attributes, ReDoc's spec-url, Swagger UI's url."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.script = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url") and v]

    def handle_data(self, data: str) -> None:
        self.script += data


CONTENT_TYPES = {
    ".js": ("application/javascript", "text/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_local_assets(stack: Stack, page: str) -> None:
    r = await stack.http.get(page, headers={"Authorization": ""})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    parsed = _Assets()
    parsed.feed(r.text)
    urls = parsed.urls + re.findall(r"\burl:\s*'([^']+)'", parsed.script)
    assert "/openapi.json" in urls
    assert any(u.endswith(".js") for u in urls)
    assert not re.search(r"https?://|//[a-z]", r.text.replace("window.location.origin", ""))
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await stack.http.get(url, headers={"Authorization": ""})
        assert asset.status_code == 200, url
        expected = CONTENT_TYPES[url[url.rindex(".") :]]
        assert asset.headers["content-type"].startswith(expected), (url, asset.headers)
        assert asset.content, url
