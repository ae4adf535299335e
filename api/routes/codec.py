"""A codec server for the Temporal Web UI and CLI: decrypt (and encrypt) payloads for people
allowed to read them.

`POST /codec/decode` and `POST /codec/encode` take and return `{"payloads": [...]}`, each payload
in protobuf JSON (base64 `metadata` values and `data`), as the Web UI ("Codec Server" setting,
endpoint `<api>/codec`, with "Pass the user access token") and `temporal ... --codec-endpoint
<api>/codec --codec-auth "Bearer <key>"` send them. Both need an auditor or admin API key.
They use the same data converter's codec as the worker (one key ring, ENROLL_PAYLOAD_KEYS).

CORS answers the Web UI's origins: ENROLL_CODEC_CORS_ORIGINS (comma-separated, `*` for any),
default the dev server's UI at http://localhost:8233 and http://127.0.0.1:8233.

Every call is logged with the caller's actor and role, the namespace and the payload count:
never a payload.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.auth import ADMIN, AUDITOR, AUTH_RESPONSES, Principal, bearer, require
from api.problems import Problem
from api.temporal import client_of
from workflows.converter import PayloadDecryptionError

router = APIRouter(prefix="/codec", tags=["codec"], responses=AUTH_RESPONSES)
log = structlog.get_logger("api.codec")

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
async def preflight(request: Request) -> Response:
    headers = cors_headers(request)
    return Response(status_code=204 if headers else 403, headers=headers)


# The codec routes speak Temporal's codec-server protocol for the Web UI and CLI; they are not
# part of the REST API's OpenAPI document (which describes /v1 and the health checks).
@router.post("/decode", operation_id="decodePayloads", include_in_schema=False)
async def decode(request: Request, body: CodecBody, principal: CodecReader) -> JSONResponse:
    """Decrypt payloads (422 when one is malformed or cannot be decrypted)."""
    codec = client_of(request).data_converter.payload_codec
    payloads = _parse(body)
    log.info(
        "codec decode",
        actor=principal.actor,
        role=principal.role,
        count=len(payloads),
        namespace=request.headers.get("x-namespace"),
    )
    if codec is None:
        return _respond(request, payloads)
    try:
        decoded = await codec.decode(payloads)
    except PayloadDecryptionError as exc:
        raise Problem(
            422,
            "Payload not decrypted",
            str(exc),
            kind="payload-not-decrypted",
            headers=cors_headers(request),
        ) from None
    return _respond(request, decoded)


@router.post("/encode", operation_id="encodePayloads", include_in_schema=False)
async def encode(request: Request, body: CodecBody, principal: CodecReader) -> JSONResponse:
    """Encrypt payloads with the active key."""
    codec = client_of(request).data_converter.payload_codec
    payloads = _parse(body)
    log.info(
        "codec encode",
        actor=principal.actor,
        role=principal.role,
        count=len(payloads),
        namespace=request.headers.get("x-namespace"),
    )
    if codec is None:
        return _respond(request, payloads)
    return _respond(request, await codec.encode(payloads))
