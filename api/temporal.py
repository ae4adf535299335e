"""What the routes reach through the app: its Temporal client, settings and clock; and the glue
that records an operator event on a workflow, turning its refusals into problems."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Principal
from api.problems import Problem, from_validation_error, invalid, problem_responses
from models.lifecycle import Lifecycle
from models.records import EventRefused, OperatorEvent
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


async def now_of(request: Request) -> datetime:
    """The app's clock (`app.state.now`): the sandbox's clock in a sandbox, else the real time."""
    now: Callable[[], Awaitable[datetime]] = request.app.state.now
    return await now()


def not_found(record: str, record_id: str, how_to_create: str) -> Problem:
    return Problem(
        404,
        f"Unknown {record}",
        f"No {record} '{record_id}' exists. Check the id, or {how_to_create}.",
        kind="not-found",
    )


def refusal(exc: WorkflowUpdateFailedError) -> Problem:
    cause = exc.cause
    if not isinstance(cause, ApplicationError):
        return Problem(500, "Event failed", str(cause or exc), kind="event-failed")
    details: dict[str, Any] = cause.details[0] if cause.details else {}
    return _refused(cause.type or "Refused", cause.message, details)


def event_refusal(exc: EventRefused) -> Problem:
    """A refusal the API met itself, running the record's pure check."""
    return _refused(exc.code, exc.message, exc.details())


def _refused(code: str, message: str, details: dict[str, Any]) -> Problem:
    if code in STATE_CONFLICTS:
        return Problem(
            409,
            "Event not allowed in this state",
            message,
            kind="illegal-transition",
            state=details.get("status"),
            allowed_events=details.get("allowed_events", []),
        )
    field = details.get("field")
    findings = details.get("findings") or []
    errors = [{"field": f"data.{field}" if field else "data", "reason": message}]
    errors += [
        {"field": f"data.{f['field']}" if f.get("field") else "data", "reason": f["message"]}
        for f in findings
    ]
    return Problem(
        422,
        "Event data refused",
        message,
        kind=code,
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


def event_route_docs(record: str) -> dict[str, Any]:
    """What the OpenAPI document says of a route that records an operator event on a `record`:
    the same for an application and an enrollment."""
    return {
        "summary": "Record what happened (an operator event)",
        "description": (
            "Needs the operator or admin role; the actor and role recorded are the API key's. "
            "An event the lifecycle does not allow in the current state answers 409 with the "
            "state and `allowed_events`; data the event cannot use answers 422 naming the field. "
            "An `Idempotency-Key` header makes a retried event apply once."
        ),
        "responses": problem_responses(
            {
                404: f"No such {record}",
                409: f"Not allowed in this state, or the {record} is closed (names the state "
                "and the allowed events)",
                422: "Malformed request, or event data refused (names the field)",
            }
        ),
    }
