"""Signing in to the web app: an API key once, then a signed session cookie.

The cookie is stateless, like a codec session (api/codec_sessions.py): `<claims>.<signature>`,
the claims naming the key by a prefix of its SHA-256 digest (never the key), its role, the
expiry and a random nonce; signed with HMAC-SHA-256 under a key derived from that digest and a
purpose label, so a web session and a codec token can never stand in for each other. Removing a
key from ENROLL_API_KEYS ends its sessions at once; changing its role ends them too.

Forms carry a CSRF token derived from the session (HMAC of its nonce), checked on every POST;
the cookie itself is HttpOnly and SameSite=Strict. Sign-in, before there is a session, is
protected the same way by a short-lived nonce cookie whose value the form echoes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from api.auth import WRITE_ROLES, ApiKeys, Principal
from api.problems import Problem
from api.temporal import now_of

COOKIE = "enroll_session"
SIGN_IN_COOKIE = "enroll_sign_in"
PATH = "/app"
SESSION_HOURS = 10  # a working day, with some slack
KEY_ID_BYTES = 8
PURPOSE = b"enrollment-engine web session v1"
MAX_FORM_FIELD = 32 * 1024 * 1024


class SessionRefused(ValueError):
    """The cookie is malformed, forged, expired, or its key is gone (the message says which)."""


@dataclass(frozen=True)
class WebSession:
    principal: Principal
    csrf: str
    expires_at: datetime

    @property
    def can_write(self) -> bool:
        return self.principal.role in WRITE_ROLES


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _session_key(digest: bytes) -> bytes:
    return hmac.new(digest, PURPOSE, hashlib.sha256).digest()


def _sign(digest: bytes, claims: str) -> str:
    return _b64(hmac.new(_session_key(digest), claims.encode(), hashlib.sha256).digest())


def _csrf(digest: bytes, nonce: str) -> str:
    return _b64(hmac.new(_session_key(digest), f"csrf:{nonce}".encode(), hashlib.sha256).digest())


def open_session(keys: ApiKeys, key: str, now: datetime) -> tuple[str, WebSession]:
    """The cookie value and the session for a key; SessionRefused when the key is unknown."""
    principal = keys.lookup(key)
    if principal is None:
        raise SessionRefused("That API key is not recognised.")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    expires = (now + timedelta(hours=SESSION_HOURS)).replace(microsecond=0)
    nonce = secrets.token_urlsafe(16)
    claims = _b64(
        json.dumps(
            {
                "k": digest[:KEY_ID_BYTES].hex(),
                "r": principal.role,
                "exp": int(expires.timestamp()),
                "n": nonce,
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{claims}.{_sign(digest, claims)}", WebSession(principal, _csrf(digest, nonce), expires)


def check_session(keys: ApiKeys, cookie: str, now: datetime) -> WebSession:
    """The session a cookie stands for; SessionRefused if it may not be used."""
    claims, _, signature = cookie.partition(".")
    try:
        data = json.loads(_unb64(claims))
        key_id, role = bytes.fromhex(data["k"]), data["r"]
        expires, nonce = int(data["exp"]), str(data["n"])
    except (ValueError, KeyError, TypeError):
        raise SessionRefused("The session cookie is malformed.") from None
    for digest, principal in keys.entries:
        if digest[:KEY_ID_BYTES] != key_id:
            continue
        if not hmac.compare_digest(_sign(digest, claims), signature):
            raise SessionRefused("The session cookie is not signed by its key.")
        if principal.role != role:
            raise SessionRefused("Your key's role changed since you signed in.")
        expires_at = datetime.fromtimestamp(expires, UTC)
        if expires_at <= now:
            raise SessionRefused("Your session has expired.")
        return WebSession(principal, _csrf(digest, nonce), expires_at)
    raise SessionRefused("The key you signed in with is no longer configured.")


def set_cookie(request: Request, response: Response, name: str, value: str, hours: float) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(hours * 3600),
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        # After signing in, back to the page the form was on (a form's action takes no GET).
        target = request.url.path.removesuffix("/events")
    return f"{PATH}/sign-in?next={quote(target, safe='')}"


async def web_session(request: Request) -> WebSession:
    """The signed-in user; a page without a good session redirects to sign-in (303)."""
    cookie = request.cookies.get(COOKIE)
    if cookie:
        try:
            session = check_session(request.app.state.api_keys, cookie, await now_of(request))
        except SessionRefused:
            request.state.auth = "invalid"
        else:
            request.state.principal = session.principal
            request.state.auth = "ok"
            return session
    else:
        request.state.auth = "missing"
    raise Problem(
        303,
        "Sign in",
        "Sign in with your API key first.",
        kind="unauthenticated",
        headers={"Location": sign_in_url(request)},
    )


Viewer = Annotated[WebSession, Depends(web_session)]


def check_csrf(session: WebSession, token: str | None) -> None:
    if token is None or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise Problem(
            403,
            "Form expired",
            "The form's CSRF token does not match your session: reload the page and send it again.",
            kind="forbidden",
        )


async def web_writer(request: Request) -> WebSession:
    """The signed-in user, for a POST that changes something: operator or admin, and the
    form's CSRF token matching the session. An auditor is refused (403), whatever they send."""
    session = await web_session(request)
    if not session.can_write:
        request.state.auth = "forbidden"
        raise Problem(
            403,
            "Role not allowed",
            f"Actor '{session.principal.actor}' has role '{session.principal.role}', which "
            "reads everything and changes nothing; this needs the operator or admin role.",
            kind="forbidden",
            role=session.principal.role,
            required_roles=list(WRITE_ROLES),
        )
    # Read once here (Starlette keeps it for the route): a form field may be large, e.g. the
    # problems of a big roster posted back for download (the default cap is 1 MB).
    form = await request.form(max_part_size=MAX_FORM_FIELD)
    token = form.get("csrf")
    check_csrf(session, token if isinstance(token, str) else None)
    return session


Editor = Annotated[WebSession, Depends(web_writer)]
