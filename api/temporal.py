"""Temporal client glue for the API: reaching a workflow and turning its refusals into problems."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Principal
from api.problems import Problem, from_validation_error, invalid
from models.lifecycle import Lifecycle
from models.records import OperatorEvent
from workflows.settings import Settings

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


def operator_event(
    lifecycle: Lifecycle[Any],
    models: Mapping[str, type[OperatorEvent]],
    name: str,
    data: Mapping[str, Any],
    principal: Principal,
    reason: str,
    *,
    what: str = "an operator event",
) -> OperatorEvent:
    """The event an operator sent, validated as its workflow will: a known operator event of
    this lifecycle, its data checked by the event's model (422 naming `data.<field>`), and the
    actor and role taken from the API key, never from the body."""
    if not lifecycle.is_operator_event(name):
        raise invalid(
            f"'{name}' is not {what}. Use one of: {', '.join(lifecycle.operator_events)}.",
            [{"field": "event", "reason": "unknown event"}],
        )
    try:
        return models[name].model_validate(
            {
                **data,
                "event": name,
                "actor": principal.actor,
                "role": principal.role,
                "reason": reason,
            }
        )
    except ValidationError as exc:
        raise from_validation_error(exc, ("data",)) from None


async def execute_event(
    handle: WorkflowHandle[Any, Any],
    update: Any,
    payload: OperatorEvent,
    idempotency_key: str | None,
    closed: Callable[[], Awaitable[Problem]],
) -> Any:
    """Record an event as a workflow update (the key de-duplicates retries). A refusal becomes
    a 409/422 problem; a workflow that no longer takes updates becomes `closed()`'s problem."""
    try:
        return await handle.execute_update(update, payload, id=idempotency_key or str(uuid.uuid4()))
    except WorkflowUpdateFailedError as exc:
        raise refusal(exc) from None
    except RPCError as exc:
        if is_not_found(exc):
            raise await closed() from None
        raise
