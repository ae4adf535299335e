"""Every answer that is not a success is problem+json, and the document says so: bodies too
large are refused (413) without being read, a method a path does not take names every method it
does take, and 413/503 are documented where they can happen. Served over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client

from activities.database import create_db_engine
from api.app import create_app
from api.body_limit import BODY_LIMITS, DEFAULT_BODY_LIMIT
from api.problems import PROBLEM_JSON
from tests.integration.test_api_reads import _serve
from workflows.settings import Settings

KEY = "error-shape-operator-" + "k" * 24
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # None of these requests reaches Temporal or the database: no server behind the client.
    engine = create_db_engine("sqlite://")
    settings = Settings(
        log_json=False, api_keys=json.dumps({KEY: {"actor": "a@example.org", "role": "operator"}})
    )
    app = create_app(settings, client=cast(Client, object()), engine=engine)
    async with _serve(app, AUTH) as client:
        yield client
    engine.dispose()


async def _raw(http: httpx.AsyncClient, head: str, body: bytes) -> tuple[int, dict[str, str], Any]:
    """Send `head` and the start of a body on a bare connection and read the answer: the body
    is never finished, so only an answer given without reading it all comes back."""
    url = httpx.URL(str(http.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 20)
        headers: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 20)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        payload = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 20)
        return int(status_line.split()[1]), headers, json.loads(payload)
    finally:
        writer.close()


async def test_a_declared_body_over_the_limit_is_refused_unread(http: httpx.AsyncClient) -> None:
    ten_mb = 10 * 1024 * 1024
    head = (
        "POST /v1/applications HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {ten_mb}\r\n"
    )
    status, headers, problem = await _raw(http, head, b'{"form": ')
    assert status == 413
    assert headers["content-type"] == PROBLEM_JSON
    assert problem["type"].endswith("/body-too-large")
    assert problem["limit_bytes"] == DEFAULT_BODY_LIMIT
    assert "1,048,576 bytes" in problem["detail"]


async def test_a_chunked_body_is_refused_once_past_the_limit(http: httpx.AsyncClient) -> None:
    head = (
        "POST /v1/applications/any/events HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
    )
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20))  # 1.25 MiB
    status, headers, problem = await _raw(http, head, body)
    assert status == 413, problem
    assert headers["content-type"] == PROBLEM_JSON
    assert problem["type"].endswith("/body-too-large")


async def test_a_roster_import_takes_more_than_the_default(http: httpx.AsyncClient) -> None:
    assert (DEFAULT_BODY_LIMIT, BODY_LIMITS["/v1/imports"]) == (1024 * 1024, 64 * 1024 * 1024)
    r = await http.post(
        "/v1/imports",
        content=json.dumps({"roster_csv": "x" * (2 * DEFAULT_BODY_LIMIT)}),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code != 413, r.text


async def test_a_method_a_path_does_not_take_names_every_one_it_does(
    http: httpx.AsyncClient,
) -> None:
    r = await http.delete("/v1/applications")
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["allow"] == "GET, POST"
    assert "it takes GET, POST" in r.json()["detail"]


@pytest.mark.parametrize(
    ("request_args", "kind"),
    [
        ({"method": "GET", "url": "/v1/nothing-here"}, "unknown-path"),
        (
            {"method": "POST", "url": "/v1/applications", "content": b"{not json"},
            "invalid-request",
        ),
        (
            {"method": "POST", "url": "/v1/applications", "content": b"\xff\xfe"},
            "invalid-request",
        ),
    ],
    ids=["unknown-route", "unparsable-body", "undecodable-body"],
)
async def test_unknown_routes_and_unparsable_bodies_are_problems(
    http: httpx.AsyncClient, request_args: dict[str, Any], kind: str
) -> None:
    r = await http.request(**request_args, headers={"Content-Type": "application/json"})
    assert r.headers["content-type"] == PROBLEM_JSON, r.text
    assert r.json()["type"].endswith("/" + kind)
    assert "detail" in r.json() and r.json()["status"] == r.status_code


async def test_the_document_names_413_and_503_where_they_can_happen(
    http: httpx.AsyncClient,
) -> None:
    document = (await http.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            if "requestBody" in operation:
                assert PROBLEM_JSON in responses["413"]["content"], where
            if path.startswith("/v1/") and not path.startswith("/v1/lifecycle"):
                assert PROBLEM_JSON in responses["503"]["content"], where
                assert "Retry-After" in responses["503"]["headers"], where
            for status, answer in responses.items():
                if status.startswith(("4", "5")):
                    assert list(answer["content"]) == [PROBLEM_JSON], f"{where} {status}"


async def test_an_unknown_query_parameter_is_refused_naming_it(http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/applications", params={"stauts": "draft"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["errors"] == [{"field": "stauts", "reason": "not a parameter of this route"}]
    assert "status" in r.json()["detail"]  # what the route does take


async def test_a_date_is_written_yyyy_mm_dd_not_as_a_number(http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/applications", params={"deadline_before": "0"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "deadline_before"
    assert "YYYY-MM-DD" in r.json()["errors"][0]["reason"]


async def test_a_single_valued_query_parameter_given_twice_is_refused_naming_it(
    http: httpx.AsyncClient,
) -> None:
    # Kept silently as the last value before: `?limit=5&limit=500` listed 500.
    r = await http.get("/v1/applications", params=[("limit", "5"), ("limit", "500")])
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "limit", "reason": "takes one value, given more than once"}
    ]
    # A list parameter still takes many: the deadlines' `kind` may be repeated (the second
    # value is refused for what it is, not for being a second one).
    many = await http.get("/v1/deadlines", params=[("kind", "standing"), ("kind", "nonsense")])
    assert many.status_code == 422, many.text
    [error] = many.json()["errors"]
    assert error["field"] == "kind" and "more than once" not in error["reason"], error
