"""Signing in to the web app over real HTTP: an API key becomes a signed, HttpOnly,
SameSite=Strict session cookie; a bad key, a forged or expired cookie, a missing sign-in nonce
and a key since removed all fail closed."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from api.app import create_app
from api.auth import parse_api_keys
from api.web.session import COOKIE, SessionRefused, check_session, open_session
from tests.integration.test_api_reads import _serve
from tests.integration.test_auth import API_KEYS, KEYS
from workflows.settings import Settings


@pytest.fixture
async def web(sqlite_engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(api_keys=API_KEYS, log_json=False)
    # No Temporal needed: these pages read only the read model.
    app = create_app(settings, client=object(), engine=sqlite_engine)  # type: ignore[arg-type]
    async with _serve(app) as http:
        yield http


async def sign_in(http: httpx.AsyncClient, key: str, next_: str = "/app/today") -> httpx.Response:
    form = await http.get("/app/sign-in")
    assert form.status_code == 200
    found = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert found
    return await http.post(
        "/app/sign-in", data={"api_key": key, "nonce": found.group(1), "next": next_}
    )


async def test_a_page_without_a_session_redirects_to_sign_in(web: httpx.AsyncClient) -> None:
    r = await web.get("/app/today", params={"q": "x"})
    assert r.status_code == 303
    assert r.headers["location"] == "/app/sign-in?next=%2Fapp%2Ftoday%3Fq%3Dx"


async def test_a_good_key_gets_a_signed_strict_http_only_cookie(web: httpx.AsyncClient) -> None:
    r = await sign_in(web, KEYS["operator"][0], "/app/today?within=7")
    assert r.status_code == 303 and r.headers["location"] == "/app/today?within=7"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/app" in cookie
    assert KEYS["operator"][0] not in cookie
    page = await web.get("/app/today")
    assert page.status_code == 200
    assert KEYS["operator"][1] in page.text and "operator" in page.text


async def test_sign_in_never_redirects_to_another_site(web: httpx.AsyncClient) -> None:
    r = await sign_in(web, KEYS["auditor"][0], "https://evil.example/app/today")
    assert r.status_code == 303 and r.headers["location"] == "/app/today"


async def test_an_unknown_key_is_refused_with_a_message(web: httpx.AsyncClient) -> None:
    r = await sign_in(web, "not-a-key-" + "z" * 30)
    assert r.status_code == 401
    assert "That API key is not recognised" in r.text
    assert (await web.get("/app/today")).status_code == 303


async def test_sign_in_without_the_form_nonce_is_refused(web: httpx.AsyncClient) -> None:
    r = await web.post(
        "/app/sign-in", data={"api_key": KEYS["operator"][0], "nonce": "forged-nonce-value"}
    )
    assert r.status_code == 403 and "expired" in r.text
    assert (await web.get("/app/today")).status_code == 303


async def test_a_tampered_cookie_is_refused(web: httpx.AsyncClient) -> None:
    r = await sign_in(web, KEYS["auditor"][0])
    assert r.status_code == 303
    value = web.cookies[COOKIE]
    claims, _, signature = value.partition(".")
    # Claim the operator role with the auditor's signature.
    forged = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))) | {
        "r": "operator"
    }
    web.cookies.clear()
    raw = json.dumps(forged, separators=(",", ":")).encode()
    web.cookies.set(
        COOKIE,
        base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + signature,
        path="/app",
    )
    assert (await web.get("/app/today")).status_code == 303


async def test_sign_out_ends_the_session(web: httpx.AsyncClient) -> None:
    await sign_in(web, KEYS["operator"][0])
    r = await web.post("/app/sign-out")
    assert r.status_code == 303
    assert (await web.get("/app/today")).status_code == 303


def test_a_session_ends_when_its_key_is_removed_or_it_expires() -> None:
    keys = parse_api_keys(API_KEYS)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    cookie, session = open_session(keys, KEYS["admin"][0], now)
    assert check_session(keys, cookie, now).csrf == session.csrf
    fewer = parse_api_keys(json.dumps({KEYS["operator"][0]: {"actor": "o", "role": "operator"}}))
    with pytest.raises(SessionRefused, match="no longer configured"):
        check_session(fewer, cookie, now)
    with pytest.raises(SessionRefused, match="expired"):
        check_session(keys, cookie, now + timedelta(hours=11))
    other, _ = open_session(keys, KEYS["admin"][0], now)
    assert check_session(keys, other, now).csrf != session.csrf  # one token per session


async def test_the_access_log_names_the_page_and_the_actor_never_the_search(
    web: httpx.AsyncClient,
) -> None:
    with capture_logs() as logs:
        await sign_in(web, KEYS["auditor"][0])
        r = await web.get("/app/today", params={"q": "Ophelia Quincy-Marlowe"})
        assert r.status_code == 200
    lines = [e for e in logs if e["event"] == "api request"]
    assert [(e["method"], e["route"], e["status"], e["actor"]) for e in lines] == [
        ("GET", "/app/sign-in", 200, "anonymous"),
        ("POST", "/app/sign-in", 303, KEYS["auditor"][1]),
        ("GET", "/app/today", 200, KEYS["auditor"][1]),
    ]
    assert "Ophelia" not in repr(logs) and KEYS["auditor"][0] not in repr(logs)


async def test_pages_are_not_cached_nor_framed_and_assets_come_from_the_package(
    web: httpx.AsyncClient,
) -> None:
    page = await web.get("/app/sign-in")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for src in re.findall(r'(?:href|src)="([^"]+)"', page.text):
        assert src.startswith("/app/") or src.startswith("#"), src
        if src.startswith("/app/static/"):
            assert (await web.get(src)).status_code == 200
    assert (await web.get("/app/static/../app.py")).status_code == 404


async def test_a_form_posted_after_the_session_ended_leads_back_to_its_page(
    web: httpx.AsyncClient,
) -> None:
    r = await web.post("/app/applications/a-1/events", data={"event": "withdrawn"})
    assert r.status_code == 303
    assert r.headers["location"] == "/app/sign-in?next=%2Fapp%2Fapplications%2Fa-1"
