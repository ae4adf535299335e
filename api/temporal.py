"""What the routes reach through the app: its Temporal client, settings and clock; and the glue
that records an operator event on a workflow, turning its refusals into problems."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Principal
from api.outages import CALL_BOUND, EventPending
from api.problems import Problem, from_validation_error, invalid, problem_responses
from api.responses.common import event_accepted
from models.lifecycle import Lifecycle
from models.records import EventRefused, OperatorEvent
from workflows.record import KEY_REUSED
from workflows.requests import DERIVED, KEYED
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


def event_id(method: str, path: str, body: BaseModel, idempotency_key: str | None) -> str:
    """The update id an event is recorded under, derived from the request so that a retry of
    the same request is the same update, applied once (Temporal refuses a second update with
    an id it has seen; the workflow remembers recent ids across continue-as-new).

    Without an Idempotency-Key: `req-` + SHA-256 of the method, the path and the canonical body
    (its JSON with sorted keys and no whitespace, as validated). With one: `key-` + a digest of
    the key + a digest of that request, so the workflow can tell the same key sent with another
    body (409 naming the key) from a retry."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    request_digest = _digest(f"{method.upper()}\n{path}\n{canonical}")
    if idempotency_key is None:
        return DERIVED + request_digest[:40]
    return f"{KEYED}{_digest(idempotency_key)[:24]}-{request_digest[:16]}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def execute_event(
    request: Request,
    handle: WorkflowHandle[Any, Any],
    update: Any,
    payload: OperatorEvent,
    body: BaseModel,
    closed: Callable[[], Awaitable[Problem]],
    *,
    poll_route: str,
    idempotency_key: str | None = None,
    **record: str,
) -> Any:
    """Record the event `request` carries (`body`, validated as `payload`) as a workflow update
    whose id is derived from the request (event_id), so a retry of it is applied once. A refusal
    becomes a 409/422 problem; a workflow that no longer takes updates becomes `closed()`'s
    problem. Bounded: an update no worker accepts within CALL_BOUND is a 503 naming what is
    down; one accepted but not finished within the bound again is EventPending (202 with a link
    to `poll_route`, addressed by the record's path parameters `record` and the update id)."""
    update_id = event_id(request.method, request.url.path, body, idempotency_key)

    def poll_url() -> str:
        # Built only for a 202: url_for walks every route of the app (issue 22: 4% of the
        # API's time when built for each event).
        return str(request.url_for(poll_route, event_id=update_id, **record))

    try:
        accepted = await handle.start_update(
            update,
            payload,
            id=update_id,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            rpc_timeout=CALL_BOUND,
        )
    except WorkflowUpdateFailedError as exc:
        raise update_refusal(exc, idempotency_key) from None
    except RPCError as exc:
        if is_not_found(exc):
            raise await closed() from None
        raise
    return await update_outcome(accepted, update_id, poll_url, idempotency_key)


def update_refusal(exc: WorkflowUpdateFailedError, idempotency_key: str | None) -> Problem:
    """The problem a refused update answers: a reused Idempotency-Key (409 naming it), else
    the workflow's refusal (409/422)."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type == KEY_REUSED:
        return key_reused(idempotency_key)
    return refusal(exc)


def key_reused(idempotency_key: str | None) -> Problem:
    return Problem(
        409,
        "Idempotency-Key already used",
        f"Idempotency-Key '{idempotency_key}' was already used on this record for another "
        "request (another event or other data); nothing was recorded. Use a new key for a "
        "new event, or send the first request again unchanged.",
        kind="idempotency-key-reused",
    )


async def update_outcome(
    accepted: WorkflowUpdateHandle[Any],
    update_id: str,
    poll_url: str | Callable[[], str],
    idempotency_key: str | None = None,
) -> Any:
    """The result of an accepted update; EventPending (with `poll_url`, or what it builds)
    when it takes longer than the bound."""
    try:
        return await asyncio.wait_for(
            accepted.result(rpc_timeout=CALL_BOUND), CALL_BOUND.total_seconds() + 1
        )
    except WorkflowUpdateFailedError as exc:
        raise update_refusal(exc, idempotency_key) from None
    except (TimeoutError, RPCTimeoutOrCancelledError):
        url = poll_url if isinstance(poll_url, str) else poll_url()
        raise EventPending(url, update_id) from None


async def poll_event(
    handle: WorkflowHandle[Any, Any], update: Any, update_id: str, poll_url: str
) -> Any:
    """The outcome of an event sent earlier (the 202's link): its result once applied, its
    refusal as it was answered, 404 for an id the record never received."""
    try:
        return await update_outcome(
            handle.get_update_handle_for(update, update_id), update_id, poll_url
        )
    except RPCError as exc:
        if is_not_found(exc):
            raise Problem(
                404,
                "Unknown event",
                f"No event with id '{update_id}' was received by '{handle.id}' (in its current "
                "run). Send the event again with the same request: it applies once.",
                kind="not-found",
            ) from None
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
            "A retried request applies once: the event's id is derived from the request "
            "(method, path and body) or, with an `Idempotency-Key` header, from the key; a key "
            "sent again with another body answers 409 naming the key. An event the workflow "
            "accepted but has not finished within a few seconds answers 202 with a link to poll "
            "for its outcome; an outage answers 503 naming what is down, with Retry-After."
        ),
        "responses": {
            202: event_accepted("Accepted, not yet applied: poll the Location for the outcome"),
            **problem_responses(
                {
                    404: f"No such {record}",
                    409: f"Not allowed in this state, or the {record} is closed (names the state "
                    "and the allowed events)",
                    422: "Malformed request, or event data refused (names the field)",
                }
            ),
        },
    }
