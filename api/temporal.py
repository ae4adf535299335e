"""Temporal client glue for the API: reaching a workflow and turning its refusals into problems."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Problem
from models.settings import Settings

# Refusal types raised by the workflows' update validators and handlers.
STATE_CONFLICTS = {"IllegalTransition"}
DATA_PROBLEMS = {"InvalidEventData", "PresubmissionChecksFailed"}


def client_of(request: Request) -> Client:
    client: Client = request.app.state.client
    return client


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def not_found(kind: str, record_id: str, how_to_create: str) -> Problem:
    return Problem(
        404,
        f"Unknown {kind}",
        f"No {kind} '{record_id}' exists. Check the id, or {how_to_create}.",
        type_="https://enrollment-engine.dev/problems/not-found",
    )


def refusal(exc: WorkflowUpdateFailedError) -> Problem:
    cause = exc.cause
    if not isinstance(cause, ApplicationError):
        return Problem(500, "Event failed", str(cause or exc))
    details: dict[str, Any] = cause.details[0] if cause.details else {}
    kind = cause.type or "Refused"
    if kind in STATE_CONFLICTS:
        return Problem(
            409,
            "Event not allowed in this state",
            cause.message,
            type_="https://enrollment-engine.dev/problems/illegal-transition",
            state=details.get("status"),
            allowed_events=details.get("allowed_events", []),
        )
    field = details.get("field")
    findings = details.get("findings") or []
    errors = [{"field": f"data.{field}" if field else "data", "reason": cause.message}]
    errors += [
        {"field": f"data.{f['field']}" if f.get("field") else "data", "reason": f["message"]}
        for f in findings
    ]
    return Problem(
        422,
        "Event data refused",
        cause.message,
        type_=f"https://enrollment-engine.dev/problems/{kind}",
        state=details.get("status"),
        allowed_events=details.get("allowed_events", []),
        errors=errors,
        findings=findings,
    )


def is_not_found(exc: RPCError) -> bool:
    return exc.status == RPCStatusCode.NOT_FOUND
