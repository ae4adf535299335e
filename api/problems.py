"""Errors as RFC 9457 problem details, each naming the field or the state and what to do."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
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


def field_errors(errors: list[Any], prefix: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    out = []
    for e in errors:
        loc = [str(p) for p in (*prefix, *e.get("loc", ())) if p not in ("body", "query")]
        reason = str(e.get("msg", "")).removeprefix("Value error, ")
        out.append({"field": ".".join(loc) or "body", "reason": reason})
    return out


def invalid(detail: str, errors: list[dict[str, str]]) -> Problem:
    return Problem(
        422,
        "Invalid request",
        detail,
        type_="https://enrollment-engine.dev/problems/invalid-request",
        errors=errors,
    )


def from_validation_error(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> Problem:
    errors = field_errors(exc.errors(include_input=False), prefix)
    summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
    return invalid(f"Fix these fields and send again: {summary}", errors)


async def problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return JSONResponse(
        exc.body(request.url.path),
        status_code=exc.status,
        media_type=PROBLEM_JSON,
        headers=exc.headers,
    )


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(list(exc.errors()))
    summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
    problem = invalid(f"Fix these fields and send again: {summary}", errors)
    return JSONResponse(problem.body(request.url.path), status_code=422, media_type=PROBLEM_JSON)
