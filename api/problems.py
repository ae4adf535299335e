"""Errors as RFC 9457 problem details, each naming the field or the state and what to do.

Every answer that is not a success is one of these, served as application/problem+json with a
`type` URI of its kind (https://enrollment-engine.dev/problems/<kind>): refusals the routes raise
(`Problem`), requests FastAPI cannot parse or validate, paths and methods the API does not have,
and failures nobody foresaw. The schemas below document them in the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, get_args, get_origin

import structlog
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException
from temporalio.service import RPCError

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPES = "https://enrollment-engine.dev/problems/"
SCHEMA_REFS = "#/components/schemas/"

log = structlog.get_logger("api.problems")


def problem_type(kind: str) -> str:
    """The `type` URI of a kind of problem, e.g. `not-found`."""
    return PROBLEM_TYPES + kind


class Problem(Exception):
    """A refusal a route raises; the handler answers it as problem+json. `extra` members (state,
    allowed_events, errors, ...) go into the body beside the standard ones, None ones left out."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = problem_type(kind)
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update({k: v for k, v in self.extra.items() if v is not None})
        return body

    def response(self, request: Request) -> JSONResponse:
        return JSONResponse(
            self.body(request.url.path),
            status_code=self.status,
            media_type=PROBLEM_JSON,
            headers=self.headers,
        )


# --- The documented shapes -----------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="The field, dotted (e.g. `data.request_date`), or `body`")
    reason: str = Field(description="What is wrong with it and, where it helps, what to send")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem. Kinds add their own members (see the other problem schemas)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="https://enrollment-engine.dev/problems/<kind>: what kind of problem",
        examples=["https://enrollment-engine.dev/problems/not-found"],
    )
    title: str
    status: int
    detail: str = Field(description="What happened and what to do about it")
    instance: str | None = Field(default=None, description="The path that was requested")


class ValidationProblem(ProblemDetails):
    """422: the request is malformed; `errors` names each field and why."""

    errors: list[FieldError]
    allowed_values: dict[str, list[str]] | None = Field(
        default=None, description="Query parameter -> the values it accepts"
    )


class ConflictProblem(ProblemDetails):
    """409: not possible in the record's current state (or the id is taken)."""

    state: str | None = Field(default=None, description="The record's status now")
    allowed_events: list[str] | None = Field(
        default=None, description="The events the record accepts now"
    )


class ForbiddenProblem(ProblemDetails):
    """403: the API key's role may not do this."""

    role: str
    required_roles: list[str]


PROBLEM_MODELS: tuple[type[ProblemDetails], ...] = (
    ProblemDetails,
    ValidationProblem,
    ConflictProblem,
    ForbiddenProblem,
)
# The schema each documented status answers with (others: ProblemDetails).
_STATUS_MODELS: dict[int, type[ProblemDetails]] = {
    403: ForbiddenProblem,
    409: ConflictProblem,
    422: ValidationProblem,
}


def problem_schemas() -> dict[str, Any]:
    """The problem schemas for the OpenAPI document's components (the routes refer to them)."""
    _, top = models_json_schema(
        [(model, "serialization") for model in PROBLEM_MODELS],
        ref_template=SCHEMA_REFS + "{model}",
    )
    schemas: dict[str, Any] = top["$defs"]
    return schemas


def problem_response(status: int, description: str) -> dict[str, Any]:
    """One documented error answer of a route (for its `responses=`)."""
    model = _STATUS_MODELS.get(status, ProblemDetails)
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": SCHEMA_REFS + model.__name__}}},
    }


def problem_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's documented error answers (`responses=`), from status -> when it happens."""
    return {status: problem_response(status, why) for status, why in described.items()}


# The 422 every route with parameters or a body may answer (a route may say more of its own).
MALFORMED = problem_responses({422: "Malformed request (names each field and why)"})


# What every route that reaches Temporal or the read model may answer when one is down
# (api/outages.py), and what every route that takes a body answers when it is too large
# (api/body_limit.py). Added to the document by `document_common_problems`.
UNAVAILABLE = 503
TOO_LARGE = 413
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "required": True,
        "description": "Seconds to wait before retrying",
        "schema": {"type": "string"},
    }
}


def document_common_problems(document: dict[str, Any], *, static_paths: Iterable[str]) -> None:
    """Document on every operation the problems no route raises itself: 413 where there is a
    body, 503 (with Retry-After) where Temporal or the read model is reached (every /v1 and
    /codec operation but `static_paths`, which answer from the code alone)."""
    static = tuple(static_paths)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault(
                    str(TOO_LARGE),
                    problem_response(TOO_LARGE, "The body is larger than the route takes"),
                )
            reaches = path.startswith(("/v1/", "/codec")) and not path.startswith(static)
            if reaches and str(UNAVAILABLE) not in responses:
                answer = problem_response(
                    UNAVAILABLE,
                    "Temporal, the worker or the read model is down or slow: names what, and "
                    "Retry-After says when to try again",
                )
                answer["headers"] = RETRY_AFTER_HEADER
                responses[str(UNAVAILABLE)] = answer


# --- Building them -------------------------------------------------------------------------------


def field_errors(errors: list[Any], prefix: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    out = []
    for e in errors:
        if e.get("type") == "json_invalid":
            # The location is the parser's character offset, not a field: name the body.
            at = e.get("loc", ())[-1]
            why = (e.get("ctx") or {}).get("error") or "not JSON"
            out.append({"field": "body", "reason": f"not valid JSON: {why} (at character {at})"})
            continue
        loc = [str(p) for p in (*prefix, *e.get("loc", ())) if p not in ("body", "query")]
        reason = str(e.get("msg", "")).removeprefix("Value error, ")
        out.append({"field": ".".join(loc) or "body", "reason": reason})
    return out


def invalid(detail: str, errors: list[dict[str, str]]) -> Problem:
    return Problem(422, "Invalid request", detail, kind="invalid-request", errors=errors)


def from_validation_error(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> Problem:
    return _fix_fields(field_errors(exc.errors(include_input=False), prefix))


def _fix_fields(errors: list[dict[str, str]]) -> Problem:
    summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
    return invalid(f"Fix these fields and send again: {summary}", errors)


def bad_parameter(name: str, value: str, reason: str, allowed: Iterable[str] = ()) -> Problem:
    """A query parameter the API cannot use, naming the values it accepts."""
    allowed = sorted(allowed)
    hint = f" Allowed values: {', '.join(allowed)}." if allowed else ""
    problem = invalid(
        f"Query parameter '{name}': {value!r} {reason}.{hint}",
        [{"field": name, "reason": f"{value!r} {reason}"}],
    )
    if allowed:
        problem.extra["allowed_values"] = {name: allowed}
    return problem


# --- Answering them ------------------------------------------------------------------------------


async def problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return exc.response(request)


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _fix_fields(field_errors(list(exc.errors()))).response(request)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """What FastAPI and Starlette answer themselves: a body that cannot be decoded, a path the
    API does not have (404), a method a path does not take (405)."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if isinstance(exc.__cause__, Problem):
        # A refusal met while FastAPI read the body (e.g. api/body_limit.py's 413).
        return exc.__cause__.response(request)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot even decode (not UTF-8, ...): malformed, so 422
        # like any other body that is not the JSON the route takes, with the decoder's reason.
        why = exc.__cause__ or exc.detail
        return _fix_fields([{"field": "body", "reason": f"not valid JSON: {why}"}]).response(
            request
        )
    if exc.status_code == 404:
        problem = Problem(
            404,
            "Unknown path",
            f"Nothing answers {where}. The API's paths are listed at /docs (and /openapi.json).",
            kind="unknown-path",
        )
    elif exc.status_code == 405:
        allowed = _allowed_methods(request) or (exc.headers or {}).get("Allow", "")
        problem = Problem(
            405,
            "Method not allowed",
            f"{request.url.path} does not take {request.method}; it takes "
            f"{allowed or 'other methods'} (see /docs).",
            kind="method-not-allowed",
        )
        problem.headers = {**(exc.headers or {}), "Allow": allowed}
        return problem.response(request)
    else:
        phrase = HTTPStatus(exc.status_code).phrase
        problem = Problem(
            exc.status_code,
            phrase,
            str(exc.detail),
            kind=phrase.lower().replace(" ", "-"),
        )
    problem.headers = dict(exc.headers or {})
    return problem.response(request)


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _single_valued(dependant: Any) -> set[str]:
    """The query parameters that take one value (not a list that may be repeated)."""
    names = {p.alias for p in dependant.query_params if not _takes_many(p.field_info.annotation)}
    for sub in dependant.dependencies:
        names |= _single_valued(sub)
    return names


def _takes_many(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_takes_many(a) for a in get_args(annotation))


async def known_query_parameters(request: Request) -> None:
    """An app-wide dependency: a query parameter a /v1 route does not take is refused (422 naming
    it), not ignored: a misspelt filter (`?stauts=...`) must not silently list everything."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.url.path.startswith("/v1/"):
        return  # the JSON API only: the web app's pages read their own query strings
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise invalid(
            f"Unknown query parameter(s): {', '.join(unknown)}. This route takes: {takes}.",
            [{"field": name, "reason": "not a parameter of this route"} for name in unknown],
        )
    # A single-valued parameter given twice (`?status=a&status=b`) would silently keep the
    # last one: refused, naming it, as an unknown one is.
    repeated = sorted(
        name for name in _single_valued(dependant) if len(request.query_params.getlist(name)) > 1
    )
    if repeated:
        raise invalid(
            f"Query parameter(s) given more than once: {', '.join(repeated)}; each takes one "
            "value.",
            [{"field": n, "reason": "takes one value, given more than once"} for n in repeated],
        )


def _allowed_methods(request: Request) -> str:
    """Every method the API documents at this path (Starlette's own 405 names only the first
    route's): e.g. GET and POST for /v1/applications."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    methods: set[str] = set()
    for template, operations in paths.items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {m.upper() for m in operations if m.lower() in _HTTP_METHODS}
    return ", ".join(sorted(methods))


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A failure no route foresaw: a problem that says to retry, never the exception's text
    (it could carry data). The server logs the traceback when the error leaves the app."""
    # A Temporal call's status says which of its failures this was (its message could carry data).
    status = exc.status.name if isinstance(exc, RPCError) else None
    log.error("unhandled error", path=request.url.path, error=type(exc).__name__, status=status)
    return Problem(
        500,
        "Internal error",
        f"The API failed answering {request.method} {request.url.path}. Retry the request "
        "(with the same Idempotency-Key or id, so nothing applies twice); if it fails again, "
        "the API log has the cause.",
        kind="internal-error",
    ).response(request)
