"""A codec server for the Temporal Web UI and CLI: decrypt (and encrypt) payloads for people
allowed to read them.

`POST /codec/decode` and `POST /codec/encode` take and return `{"payloads": [...]}`, each payload
in protobuf JSON (base64 `metadata` values and `data`), as the Web UI ("Codec Server" setting,
endpoint `<api>/codec`, with "Pass the user access token") and `temporal ... --codec-endpoint
<api>/codec --codec-auth "Bearer <key>"` send them. Both need an auditor or admin API key.
They use the same data converter's codec as the worker (one key ring, ENROLL_PAYLOAD_KEYS).

The Web UI of `temporal server start-dev` sends no credentials: an auditor opens a codec session
(`POST /codec/sessions` with their key; api/codec_sessions.py) and pastes the endpoint it
returns, `<api>/codec/s/<token>`, into the UI's codec setting.

CORS answers the Web UI's origins: ENROLL_CODEC_CORS_ORIGINS (comma-separated, `*` for any),
default the dev server's UI at http://localhost:8233 and http://127.0.0.1:8233.

Every call writes one log line (the access log's, api/access_log.py) with the caller's actor and
role, the operation, the namespace and the payload count: never a payload.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.auth import ADMIN, AUDITOR, AUTH_RESPONSES, Principal, bearer, require
from api.codec_sessions import (
    DEFAULT_HOURS,
    MAX_HOURS,
    SessionRefused,
    check_session,
    open_session,
)
from api.problems import Problem
from api.temporal import client_of
from models.written import WholeNumber
from workflows.converter import PayloadDecryptionError

router = APIRouter(prefix="/codec", tags=["codec"], responses=AUTH_RESPONSES)

ORIGINS_ENV = "ENROLL_CODEC_CORS_ORIGINS"
DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
MAX_PAYLOADS = 1000

_check_role = require(AUDITOR, ADMIN)


class CodecBody(BaseModel):
    payloads: list[dict[str, Any]] = Field(
        max_length=MAX_PAYLOADS,
        description="Payloads in protobuf JSON: base64 `metadata` values and base64 `data`",
    )


def allowed_origins(request: Request) -> tuple[str, ...]:
    configured = getattr(request.app.state, "codec_cors_origins", None)
    if configured is None:
        raw = os.environ.get(ORIGINS_ENV, "")
        configured = [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]
    return tuple(configured) or DEFAULT_ORIGINS


def cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin:
        return {}
    origins = allowed_origins(request)
    if "*" not in origins and origin.rstrip("/") not in origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


async def codec_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """An auditor or admin; refusals carry the CORS headers so the Web UI can show them."""
    try:
        return await _check_role(request, credentials)
    except Problem as problem:
        problem.headers = {**(problem.headers or {}), **cors_headers(request)}
        raise


CodecReader = Annotated[Principal, Security(codec_reader)]


def note_codec_call(request: Request, operation: str, count: int) -> None:
    """What the request's one access-log line adds for a codec call (never a payload): the
    UI decodes page by page, and one line per call is all an auditor's trail needs."""
    request.state.access_log = {
        "codec": operation,
        "count": count,
        "namespace": request.headers.get("x-namespace"),
    }


def _parse(body: CodecBody) -> list[Payload]:
    payloads = []
    for n, item in enumerate(body.payloads):
        try:
            payloads.append(ParseDict(item, Payload()))
        except Exception as exc:
            raise Problem(
                422,
                "Invalid payload",
                f"payloads[{n}] is not a Temporal Payload in protobuf JSON ({exc}); send "
                '{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}',
                kind="invalid-request",
                errors=[{"field": f"payloads.{n}", "reason": "not a Payload"}],
            ) from None
    return payloads


def _respond(request: Request, payloads: list[Payload]) -> JSONResponse:
    return JSONResponse(
        {"payloads": [MessageToDict(p) for p in payloads]}, headers=cors_headers(request)
    )


@router.options("/decode", include_in_schema=False)
@router.options("/encode", include_in_schema=False)
@router.options("/s/{token}/decode", include_in_schema=False)
@router.options("/s/{token}/encode", include_in_schema=False)
async def preflight(request: Request) -> Response:
    headers = cors_headers(request)
    return Response(status_code=204 if headers else 403, headers=headers)


async def _convert(
    request: Request, body: CodecBody, operation: Literal["decode", "encode"]
) -> JSONResponse:
    """Decrypt or encrypt the payloads (422 when one is malformed or cannot be decrypted)."""
    codec = client_of(request).data_converter.payload_codec
    payloads = _parse(body)
    note_codec_call(request, operation, len(payloads))
    if codec is None:
        return _respond(request, payloads)
    try:
        if operation == "decode":
            return _respond(request, await codec.decode(payloads))
        return _respond(request, await codec.encode(payloads))
    except PayloadDecryptionError as exc:
        raise Problem(
            422,
            "Payload not decrypted",
            str(exc),
            kind="payload-not-decrypted",
            headers=cors_headers(request),
        ) from None


# The codec routes speak Temporal's codec-server protocol for the Web UI and CLI; they are not
# part of the REST API's OpenAPI document (which describes /v1 and the health checks).
@router.post("/decode", operation_id="decodePayloads", include_in_schema=False)
async def decode(request: Request, body: CodecBody, principal: CodecReader) -> JSONResponse:
    """Decrypt payloads (422 when one is malformed or cannot be decrypted)."""
    return await _convert(request, body, "decode")


@router.post("/encode", operation_id="encodePayloads", include_in_schema=False)
async def encode(request: Request, body: CodecBody, principal: CodecReader) -> JSONResponse:
    """Encrypt payloads with the active key."""
    return await _convert(request, body, "encode")


# --- Codec sessions: the Web UI's way in (api/codec_sessions.py) -------------------------------


async def session_reader(request: Request, token: str) -> Principal:
    """The auditor or admin who opened the session in the path; 401 (with CORS headers, so
    the UI can say so) for a token that is forged, expired or whose key is gone."""
    try:
        principal = check_session(request.app.state.api_keys, token, datetime.now(UTC))
    except SessionRefused as exc:
        request.state.auth = "invalid"
        raise Problem(
            401,
            "Codec session refused",
            f"{exc}. An auditor opens one with POST /codec/sessions and their API key.",
            kind="unauthenticated",
            headers=cors_headers(request),
        ) from None
    request.state.principal = principal
    request.state.auth = "ok"
    return principal


SessionReader = Annotated[Principal, Depends(session_reader)]


@router.post("/s/{token}/decode", include_in_schema=False)
async def session_decode(request: Request, body: CodecBody, principal: SessionReader) -> Any:
    return await _convert(request, body, "decode")


@router.post("/s/{token}/encode", include_in_schema=False)
async def session_encode(request: Request, body: CodecBody, principal: SessionReader) -> Any:
    return await _convert(request, body, "encode")


class SessionBody(BaseModel):
    hours: WholeNumber = Field(
        default=DEFAULT_HOURS, ge=1, le=MAX_HOURS, description="How long the session lasts"
    )


class CodecSessionView(BaseModel):
    codec_endpoint: str = Field(
        description="Paste into the Temporal UI's codec server setting (browser setting)"
    )
    expires_at: datetime
    actor: str
    role: str
    how_to: str


# Like the codec routes, outside the REST API's OpenAPI document (README: Audit and data
# protection documents it).
@router.post(
    "/sessions",
    operation_id="openCodecSession",
    include_in_schema=False,
    summary="Open a codec session for the Temporal Web UI (auditor or admin)",
    description=(
        "The Web UI sends no credentials to a codec server, so it cannot decrypt payloads "
        "with an API key. An auditor or admin opens a session with their key and gets a codec "
        "endpoint URL carrying a short-lived signed token; pasted into the UI's codec server "
        "setting (a browser setting), it decrypts event data for that browser until it "
        "expires. Every decode is logged with the session's actor. Other roles get 403."
    ),
    status_code=201,
)
async def open_codec_session(
    request: Request,
    principal: CodecReader,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    body: Annotated[SessionBody | None, Body()] = None,
) -> CodecSessionView:
    assert credentials is not None  # CodecReader has authenticated it
    hours = (body or SessionBody()).hours
    session = open_session(
        request.app.state.api_keys, credentials.credentials, datetime.now(UTC), hours
    )
    endpoint = f"{str(request.base_url).rstrip('/')}/codec/s/{session.token}"
    return CodecSessionView(
        codec_endpoint=endpoint,
        expires_at=session.expires_at,
        actor=principal.actor,
        role=principal.role,
        how_to=(
            "In the Temporal UI open the codec server settings (the data encoder settings: the "
            "gear or the 'Codec Server' banner), paste codec_endpoint, choose your browser's "
            "setting over the cluster's, and apply. Event inputs and results then show "
            f"decrypted until {session.expires_at.isoformat()}."
        ),
    )
