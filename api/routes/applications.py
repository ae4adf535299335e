"""Applications: create a draft, record what happened, read the full state, list them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Body, Header, Query, Request, Response, status
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from sqlmodel import col
from temporalio.client import WorkflowHandle

from api.auth import AUTH_RESPONSES, Reader, Writer
from api.bodies import EventBodyBase, OperatorBody, TimeZoneName, event_variants
from api.problems import MALFORMED, Problem, from_validation_error, invalid, problem_responses
from api.reads import RecordQuery, choices, keyset_page, known_enrollments, one_of
from api.records import query_application, start_application
from api.responses.applications import ApplicationListItem, ApplicationPage, ApplicationView
from api.responses.common import created
from api.routes.notifications import with_failing_notifications
from api.temporal import (
    client_of,
    event_route_docs,
    execute_event,
    now_of,
    operator_event,
    settings_of,
)
from models.application import (
    APPLICATION_LIFECYCLE,
    EVENT_MODELS,
    ApplicationCreate,
    ApplicationDetails,
    ApplicationId,
    ApplicationStatus,
    application_workflow_id,
)
from models.calendar import local_date
from models.checks import KnownEnrollment, reenrollment_bar_message
from models.forms import FormInput, Purpose, form_purpose_schema
from models.identifiers import OrganizationId
from models.read_model import ApplicationRow
from models.records import OperatorEvent, Reason
from models.text import Line
from workflows.application import ApplicationWorkflow
from workflows.patches import CURRENT_GENERATION

router = APIRouter(
    prefix="/v1/applications",
    tags=["applications"],
    responses={**AUTH_RESPONSES, **MALFORMED},
)


def idempotent_application_id(organization_id: str, idempotency_key: str) -> str:
    """The application id an Idempotency-Key stands for: the same (organization, key) always
    names the same application, so a retried create finds the workflow the first one started."""
    digest = hashlib.sha256(f"{organization_id}\n{idempotency_key}".encode()).hexdigest()
    return f"idem-{digest[:24]}"


def request_application_id(organization_id: str, body: ApplicationCreateBody) -> str:
    """The application id a create without id or key stands for: a digest of the organization
    and the canonical body (sorted keys, no whitespace), the same for every retry."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{organization_id}\n{canonical}".encode()).hexdigest()
    return f"req-{digest[:24]}"


class ApplicationCreateBody(OperatorBody):
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
                    "reason": "new hire starting in December",
                }
            ],
            # Which purposes each form carries (models/forms.py ALLOWED_PURPOSES).
            **form_purpose_schema(),
        },
    )

    application_id: ApplicationId | None = Field(
        default=None, description="Your id for the application; generated when omitted."
    )
    organization_id: OrganizationId | None = None
    form: FormInput
    purpose: Purpose
    time_zone: TimeZoneName | None = None
    details: ApplicationDetails = Field(default_factory=ApplicationDetails)
    reason: Reason = "new application"


class EventBody(EventBodyBase):
    documented: ClassVar[TypeAdapter[Any]] = event_variants(
        EVENT_MODELS, APPLICATION_LIFECYCLE.operator_events, prefix="Application"
    )
    example: ClassVar[dict[str, Any]] = {
        "event": "development_requested",
        "data": {"request_date": "2026-11-20", "items": ["State license copy"]},
        "reason": "MAC letter received by email",
    }

    event: Line = Field(description="One of the operator events of GET /v1/lifecycle.")
    data: dict[str, Any] = Field(default_factory=dict)
    reason: Reason


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="createApplication",
    summary="Create a draft application",
    description=(
        "Needs the operator or admin role; the actor and role recorded are the API key's. "
        "Creating is idempotent: give your own `application_id`, or an `Idempotency-Key` header "
        "(the application id is then derived from the organization and the key). A repeat of a "
        "create that already happened answers 200 with the application as it is now; the same "
        "id for a different form, purpose or organization answers 409. An initial "
        "application for an NPI whose enrollment was revoked answers 409 "
        "(`reenrollment-barred`) until the re-enrollment bar ends, naming the revocation and "
        "the bar's last day (42 CFR 424.535(c), 424.526); one for an NPI already enrolled in "
        "the same form and state carries an `already_enrolled` finding naming that enrollment."
    ),
    responses={
        200: {"model": ApplicationView, "description": "Already created by an earlier request"},
        201: created("The draft; Location is its URL"),
        **problem_responses(
            {
                409: "The id or Idempotency-Key is already used for another form or purpose, "
                "or the NPI is under a re-enrollment bar"
            }
        ),
    },
)
async def create_application(
    request: Request,
    response: Response,
    principal: Writer,
    body: Annotated[ApplicationCreateBody, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Makes a retried create safe when you do not choose application_id.",
        ),
    ] = None,
) -> ApplicationView:
    settings = settings_of(request)
    if body.application_id and idempotency_key:
        raise invalid(
            "Send either application_id or an Idempotency-Key header, not both: each one names "
            "the application to create.",
            [{"field": "application_id", "reason": "given together with Idempotency-Key"}],
        )
    organization_id = body.organization_id or settings.default_organization
    if body.application_id:
        application_id = body.application_id
    elif idempotency_key:
        application_id = idempotent_application_id(organization_id, idempotency_key)
    else:
        # Neither: the id is derived from the request, so that a create retried without a key
        # finds the workflow the first one started (Temporal keeps one workflow per id) instead
        # of making a second application. The same body sent twice is the same application.
        application_id = request_application_id(organization_id, body)
    known = (
        await known_enrollments(request, body.details.npi)
        if body.purpose == Purpose.INITIAL
        else ()
    )
    try:
        create = ApplicationCreate(
            application_id=application_id,
            organization_id=organization_id,
            form=body.form,
            purpose=body.purpose,
            time_zone=body.time_zone or settings.time_zone_for(organization_id),
            details=body.details,
            actor=principal.actor,
            role=principal.role,
            reason=body.reason,
            known_enrollments=known,
            generation=CURRENT_GENERATION,
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    _refuse_if_barred(known, local_date(await now_of(request), create.time_zone))
    client = client_of(request)
    existing, started = await start_application(client, settings.task_queue, create)
    if not started:
        same = (existing.form, existing.purpose, existing.organization_id) == (
            create.form,
            create.purpose,
            create.organization_id,
        )
        if not same:
            used = (
                f"Idempotency-Key '{idempotency_key}' was already used to create"
                if idempotency_key
                else f"Application '{create.application_id}' already exists as"
            )
            fix = (
                "Use a new Idempotency-Key."
                if idempotency_key
                else "Choose another application_id."
            )
            raise Problem(
                409,
                "Application id already used",
                f"{used} a {existing.form} {existing.purpose} of "
                f"'{existing.organization_id}' (application '{existing.application_id}'). {fix}",
                kind="already-exists",
                state=existing.status.value,
                application_id=existing.application_id,
            ) from None
        response.status_code = status.HTTP_200_OK
        return ApplicationView.of(existing)
    response.headers["Location"] = str(
        request.url_for("get_application", application_id=create.application_id)
    )
    return ApplicationView.of(existing)


def _refuse_if_barred(known: tuple[KnownEnrollment, ...], today: date) -> None:
    """An initial application for an NPI under a re-enrollment bar would be returned
    (42 CFR 424.526): refused, naming the revocation and the bar's last day."""
    for enrollment in known:
        barred = reenrollment_bar_message(enrollment, today)
        if barred is not None:
            raise Problem(
                409,
                "Re-enrollment bar",
                barred,
                kind="reenrollment-barred",
                enrollment_id=enrollment.enrollment_id,
                barred_through=enrollment.barred_through.isoformat()
                if enrollment.barred_through
                else None,
            )


@router.get(
    "/{application_id}",
    operation_id="getApplication",
    summary="Full state: status, identifiers, deadlines, log",
    responses=problem_responses({404: "No such application"}),
)
async def get_application(
    request: Request, application_id: str, principal: Reader
) -> ApplicationView:
    view = ApplicationView.of(await query_application(client_of(request), application_id))
    return await with_failing_notifications(request, view)


@router.post(
    "/{application_id}/events",
    operation_id="recordApplicationEvent",
    **event_route_docs("application"),
)
async def record_event(
    request: Request,
    application_id: str,
    principal: Writer,
    body: Annotated[EventBody, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ApplicationView:
    payload = operator_event(
        APPLICATION_LIFECYCLE, EVENT_MODELS, body.event, body.data, principal, body.reason
    )
    client = client_of(request)

    async def closed() -> Problem:
        # Either unknown, or closed: a closed application still answers queries.
        current = await query_application(client, application_id)
        return Problem(
            409,
            "Application closed",
            f"Application '{application_id}' is closed ({current.status.value}); "
            "nothing more can be recorded on it. Start a new application if needed.",
            kind="record-closed",
            state=current.status.value,
            allowed_events=[],
        )

    handle = client.get_workflow_handle(application_workflow_id(application_id))
    return await record_application_event(
        request, handle, application_id, payload, body, closed, idempotency_key
    )


async def record_application_event(
    request: Request,
    handle: WorkflowHandle[Any, Any],
    application_id: str,
    payload: OperatorEvent,
    body: EventBody,
    closed: Callable[[], Awaitable[Problem]],
    idempotency_key: str | None,
) -> ApplicationView:
    """The event recorded on the application's running workflow (api/temporal.py
    execute_event), its outcome polled at GET /v1/applications/{id}/events/{event_id}."""
    state = await execute_event(
        request,
        handle,
        ApplicationWorkflow.record_event,
        payload,
        body,
        closed,
        poll_route="poll_application_event",
        idempotency_key=idempotency_key,
        application_id=application_id,
    )
    return ApplicationView.of(state)


@router.get(
    "",
    operation_id="listApplications",
    summary="List applications from the read model, newest change first",
    description=(
        "Served from the SQL read model (indexed), which the workflows keep current after every "
        "event; read one application's full state with GET /v1/applications/{id}. "
        "`status`, `form`, `state` and `mac` may be repeated (any of the values matches). "
        "`deadline_before` keeps applications whose soonest open deadline is strictly before "
        "that date. Pages are ordered by `updated_at` descending, then `application_id`; pass "
        "`next_cursor` back as `cursor` for the next page (null on the last page)."
    ),
)
async def list_applications(
    request: Request,
    principal: Reader,
    filters: RecordQuery,
    status_: Annotated[
        list[str] | None,
        Query(alias="status", json_schema_extra=one_of(s.value for s in ApplicationStatus)),
    ] = None,
) -> ApplicationPage:
    statuses = choices("status", status_, (s.value for s in ApplicationStatus))
    conditions = filters.conditions(ApplicationRow)
    if statuses:
        conditions.append(col(ApplicationRow.status).in_(statuses))
    rows, next_cursor = await keyset_page(
        request, ApplicationRow, "application_id", conditions, filters
    )
    return ApplicationPage(
        items=[ApplicationListItem.model_validate(row) for row in rows], next_cursor=next_cursor
    )
