"""The record pages: one application or enrollment, everything about it on one page, and its
allowed next events as forms. Events go through the API's own route functions (the same
validation, refusals and idempotency as POST /v1/.../events), not HTTP to ourselves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from api.auth import Principal
from api.problems import Problem
from api.reads import engine_of
from api.records import query_application, query_enrollment
from api.responses.applications import ApplicationView
from api.responses.enrollments import EnrollmentView
from api.routes.applications import EventBody, record_event
from api.routes.enrollments import EnrollmentEventBody, record_enrollment_event
from api.temporal import client_of, now_of
from api.web.event_forms import FormField, FormProblem, event_data, event_fields
from api.web.pages import render
from api.web.record_facts import application_facts, enrollment_facts, recent_notifications
from api.web.session import Editor, Viewer, WebSession
from api.web.svg import lifecycle_svg, moves_from
from models.application import APPLICATION_LIFECYCLE, EVENT_MODELS
from models.calendar import local_date
from models.enrollment import ENROLLMENT_EVENT_MODELS, ENROLLMENT_LIFECYCLE
from models.lifecycle import Lifecycle

router = APIRouter(prefix="/app")


@dataclass(frozen=True)
class RecordKind:
    name: str  # application, enrollment
    lifecycle: Lifecycle[Any]
    models: Mapping[str, type[BaseModel]]
    load: Callable[[Request, str], Awaitable[ApplicationView | EnrollmentView]]
    record: Callable[[Request, str, Principal, str, dict[str, Any], str, str], Awaitable[Any]]
    facts: Callable[[Any], list[tuple[str, str]]]


async def _load_application(request: Request, record_id: str) -> ApplicationView:
    return ApplicationView.of(await query_application(client_of(request), record_id))


async def _load_enrollment(request: Request, record_id: str) -> EnrollmentView:
    return EnrollmentView.of(await query_enrollment(client_of(request), record_id))


async def _record_application(
    request: Request,
    record_id: str,
    principal: Principal,
    event: str,
    data: dict[str, Any],
    reason: str,
    key: str,
) -> Any:
    body = EventBody(event=event, data=data, reason=reason)
    return await record_event(request, record_id, principal, body, key)


async def _record_enrollment(
    request: Request,
    record_id: str,
    principal: Principal,
    event: str,
    data: dict[str, Any],
    reason: str,
    key: str,
) -> Any:
    body = EnrollmentEventBody(event=event, data=data, reason=reason)
    return await record_enrollment_event(request, record_id, principal, body, key)


KINDS = {
    "applications": RecordKind(
        "application",
        APPLICATION_LIFECYCLE,
        EVENT_MODELS,
        _load_application,
        _record_application,
        application_facts,
    ),
    "enrollments": RecordKind(
        "enrollment",
        ENROLLMENT_LIFECYCLE,
        ENROLLMENT_EVENT_MODELS,
        _load_enrollment,
        _record_enrollment,
        enrollment_facts,
    ),
}


@dataclass(frozen=True)
class Refusal:
    event: str
    title: str
    detail: str
    errors: list[str]


async def _page(
    request: Request,
    session: WebSession,
    kind: RecordKind,
    record_id: str,
    *,
    refusal: Refusal | None = None,
    values: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        view = await kind.load(request, record_id)
    except Problem as p:
        return render(
            request, "error.html", session, status_code=p.status, title=p.title, detail=p.detail
        )
    except RPCError as exc:
        return _temporal_down(request, session, exc)
    today = local_date(await now_of(request), view.time_zone)
    notifications = await asyncio.to_thread(
        recent_notifications, engine_of(request), view.workflow_id
    )
    forms: dict[str, tuple[FormField, ...]] = {
        e: event_fields(kind.models[e]) for e in view.allowed_events if e in kind.models
    }
    return render(
        request,
        "record.html",
        session,
        status_code=status_code,
        kind=kind.name,
        base=f"/app/{kind.name}s/{record_id}",
        record_id=record_id,
        view=view,
        facts=kind.facts(view),
        today=today,
        days_left=lambda d: (d - today).days,
        moves=moves_from(kind.lifecycle, view.status.value, view.allowed_events),
        diagram=lifecycle_svg(kind.lifecycle.describe(), view.status.value, view.allowed_events),
        forms=forms,
        refusal=refusal,
        values=values or {},
        recorded=request.query_params.get("recorded"),
        new_key=lambda: uuid.uuid4().hex,
        timeline=list(reversed(view.events)),
        notifications=notifications,
    )


def _temporal_down(request: Request, session: WebSession, exc: RPCError) -> HTMLResponse:
    # The status name only: an RPC message may echo what was sent.
    return render(
        request,
        "error.html",
        session,
        status_code=503,
        title="Temporal did not answer",
        detail=f"The record is read from its workflow, and Temporal did not answer "
        f"({exc.status.name if exc.status else 'no status'}). Try again in a moment: a form "
        "sent again records its event once. Today and the Portfolio are served from the read "
        "model meanwhile.",
    )


@router.get("/{kinds}/{record_id}", response_class=HTMLResponse)
async def record_page(request: Request, kinds: str, record_id: str, session: Viewer) -> Response:
    kind = KINDS.get(kinds)
    if kind is None:
        return render(
            request,
            "error.html",
            session,
            status_code=404,
            title="Unknown page",
            detail=f"There is no page /app/{kinds}: records are applications or enrollments.",
        )
    return await _page(request, session, kind, record_id)


@router.post("/{kinds}/{record_id}/events")
async def record_page_event(
    request: Request, kinds: str, record_id: str, session: Editor
) -> Response:
    kind = KINDS.get(kinds)
    if kind is None:
        return await record_page(request, kinds, record_id, session)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    event = values.get("event", "")
    reason = values.get("reason", "").strip()
    key = values.get("idempotency_key") or uuid.uuid4().hex
    model = kind.models.get(event)
    try:
        if model is None:
            raise FormProblem("event", f"'{event}' is not an event of this {kind.name}")
        data = event_data(event_fields(model), values)
        await kind.record(request, record_id, session.principal, event, data, reason, key)
    except FormProblem as exc:
        refusal = Refusal(event, "Check the form", str(exc), [])
        return await _page(
            request, session, kind, record_id, refusal=refusal, values=values, status_code=422
        )
    except ValidationError as exc:
        errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        refusal = Refusal(event, "Check the form", "The form is incomplete.", errors)
        return await _page(
            request, session, kind, record_id, refusal=refusal, values=values, status_code=422
        )
    except RPCError as exc:
        return _temporal_down(request, session, exc)
    except Problem as p:
        errors = [
            f"{e['field']}: {e['reason']}"
            for e in p.extra.get("errors") or []
            if e.get("reason") != p.detail
        ]
        refusal = Refusal(event, p.title, p.detail, errors)
        return await _page(
            request, session, kind, record_id, refusal=refusal, values=values,
            status_code=p.status,
        )  # fmt: skip
    return RedirectResponse(f"/app/{kinds}/{record_id}?recorded={event}", status_code=303)
