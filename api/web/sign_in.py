"""Sign-in and sign-out: an API key (the same keys and roles as the API) becomes a signed
session cookie (api/web/session.py)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.temporal import now_of
from api.web.pages import render
from api.web.session import (
    COOKIE,
    PATH,
    SESSION_HOURS,
    SIGN_IN_COOKIE,
    SessionRefused,
    open_session,
    set_cookie,
)

router = APIRouter(prefix="/app")


def _safe_next(target: str | None) -> str:
    """Only a path of this app: never another site (an open redirect)."""
    if target and target.startswith(f"{PATH}/") and not target.startswith("//"):
        return target
    return f"{PATH}/today"


def _form(request: Request, next_: str | None, error: str | None, status: int) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    response = render(
        request,
        "sign_in.html",
        None,
        status_code=status,
        nonce=nonce,
        next=_safe_next(next_),
        error=error,
    )
    set_cookie(request, response, SIGN_IN_COOKIE, nonce, 1)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _form(request, next, None, 200)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    api_key: Annotated[str, Form(max_length=500)],
    nonce: Annotated[str, Form(max_length=100)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), nonce.encode()):
        request.state.auth = "invalid"
        return _form(request, next, "The sign-in form expired: please sign in again.", 403)
    try:
        cookie, session = open_session(
            request.app.state.api_keys, api_key.strip(), await now_of(request)
        )
    except SessionRefused as exc:
        request.state.auth = "invalid"
        return _form(request, next, f"{exc} Check the key and try again.", 401)
    request.state.principal = session.principal
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(request, response, COOKIE, cookie, SESSION_HOURS)
    response.delete_cookie(SIGN_IN_COOKIE, path=PATH)
    return response


@router.post("/sign-out")
async def sign_out() -> Response:
    # No CSRF check needed: signing someone out changes nothing they could be tricked into.
    response = RedirectResponse(f"{PATH}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response
