"""Applications: create a draft, record what happened, read the full state."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Header, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.problems import Problem, from_validation_error, invalid
from api.temporal import client_of, is_not_found, not_found, refusal, settings_of
from api.views import application_view
from models.application import (
    EVENT_MODELS,
    Actor,
    ApplicationCreate,
    ApplicationDetails,
    ApplicationEventRequest,
    ApplicationId,
    ApplicationState,
    OrganizationId,
    Reason,
    application_workflow_id,
)
from models.forms import FormInput, Purpose
from models.lifecycle import APPLICATION_LIFECYCLE, ApplicationEvent
from workflows.application import ApplicationWorkflow

router = APIRouter(prefix="/v1/applications", tags=["applications"])

OPERATOR_EVENTS = [e.value for e in ApplicationEvent if APPLICATION_LIFECYCLE.is_operator_event(e)]


class ApplicationCreateBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [
                {
                    "application_id": "jdoe-855i-2026",
                    "organization_id": "sunrise-medical-group",
                    "form": "CMS-855I",
                    "purpose": "initial",
                    "details": {
                        "legal_name": "Jane Q. Doe",
                        "npi": "1234567893",
                        "ssn": "123-45-6789",
                        "state": "FL",
                        "requested_effective_date": "2026-12-01",
                    },
                    "actor": "ops@sunrise.example",
                    "reason": "new hire starting in December",
                }
            ]
        },
    )

    application_id: ApplicationId | None = Field(
        default=None, description="Your id for the application; generated when omitted."
    )
    organization_id: OrganizationId | None = None
    form: FormInput
    purpose: Purpose
    time_zone: str | None = None
    details: ApplicationDetails = Field(default_factory=ApplicationDetails)
    actor: Actor
    reason: Reason = "new application"


class EventBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event": "development_requested",
                    "data": {"request_date": "2026-11-20", "items": ["State license copy"]},
                    "actor": "ops@sunrise.example",
                    "reason": "MAC letter received by email",
                }
            ]
        },
    )

    event: str = Field(description="One of the operator events of GET /v1/lifecycle.")
    data: dict[str, Any] = Field(default_factory=dict)
    actor: Actor
    reason: Reason


async def _query(request: Request, application_id: str) -> ApplicationState:
    handle = client_of(request).get_workflow_handle(application_workflow_id(application_id))
    try:
        return await handle.query(ApplicationWorkflow.state)
    except RPCError as exc:
        if is_not_found(exc):
            raise not_found(
                "application", application_id, "create it with POST /v1/applications"
            ) from None
        raise


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a draft application")
async def create_application(
    request: Request, body: Annotated[ApplicationCreateBody, Body()]
) -> dict[str, Any]:
    settings = settings_of(request)
    try:
        create = ApplicationCreate(
            application_id=body.application_id or uuid.uuid4().hex[:16],
            organization_id=body.organization_id or settings.default_organization,
            form=body.form,
            purpose=body.purpose,
            time_zone=body.time_zone or settings.default_time_zone,
            details=body.details,
            actor=body.actor,
            reason=body.reason,
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    client = client_of(request)
    try:
        await client.start_workflow(
            ApplicationWorkflow.run,
            create,
            id=application_workflow_id(create.application_id),
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        existing = await _query(request, create.application_id)
        same = (existing.form, existing.purpose, existing.organization_id) == (
            create.form,
            create.purpose,
            create.organization_id,
        )
        if not same:
            raise Problem(
                409,
                "Application id already used",
                f"Application '{create.application_id}' already exists as a "
                f"{existing.form} {existing.purpose} of '{existing.organization_id}'. "
                "Choose another application_id.",
                state=existing.status.value,
            ) from None
        request.state.replayed = True
        return application_view(existing)
    return application_view(await _query(request, create.application_id))


@router.get("/{application_id}", summary="Full state: status, identifiers, deadlines, log")
async def get_application(request: Request, application_id: str) -> dict[str, Any]:
    return application_view(await _query(request, application_id))


@router.post("/{application_id}/events", summary="Record what happened (an operator event)")
async def record_event(
    request: Request,
    application_id: str,
    body: Annotated[EventBody, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    try:
        event = ApplicationEvent(body.event)
    except ValueError:
        event = None
    if event is None or not APPLICATION_LIFECYCLE.is_operator_event(event):
        raise invalid(
            f"'{body.event}' is not an operator event. Use one of: {', '.join(OPERATOR_EVENTS)}.",
            [{"field": "event", "reason": "unknown event"}],
        )
    try:
        payload = EVENT_MODELS[event].model_validate(
            {**body.data, "event": event.value, "actor": body.actor, "reason": body.reason}
        )
    except ValidationError as exc:
        raise from_validation_error(exc, ("data",)) from None
    handle = client_of(request).get_workflow_handle(application_workflow_id(application_id))
    try:
        state = await handle.execute_update(
            ApplicationWorkflow.record_event,
            cast(ApplicationEventRequest, payload),
            id=idempotency_key or str(uuid.uuid4()),
        )
    except WorkflowUpdateFailedError as exc:
        raise refusal(exc) from None
    except RPCError as exc:
        if is_not_found(exc):
            # Either unknown, or closed: a closed application still answers queries.
            current = await _query(request, application_id)
            raise Problem(
                409,
                "Application closed",
                f"Application '{application_id}' is closed ({current.status.value}); "
                "nothing more can be recorded on it. Start a new application if needed.",
                state=current.status.value,
                allowed_events=[],
            ) from None
        raise
    return application_view(state)
