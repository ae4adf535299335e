"""Enrollments: import an existing one, record what happened, read its state, list them."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import ColumnElement
from sqlmodel import col
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.auth import AUTH_RESPONSES, Reader, Writer
from api.problems import Problem, from_validation_error
from api.reads import bad_parameter, choices, keyset_page
from api.routes.applications import MAC_JURISDICTIONS
from api.temporal import (
    client_of,
    execute_event,
    is_not_found,
    not_found,
    operator_event,
    settings_of,
)
from api.views import enrollment_view
from models.enrollment import (
    ENROLLMENT_EVENT_MODELS,
    ENROLLMENT_LIFECYCLE,
    EnrollmentStart,
    EnrollmentState,
    EnrollmentStatus,
    enrollment_workflow_id,
)
from models.forms import Form, FormInput, parse_form
from models.identifiers import NPI, PTAN, US_STATE_CODES, EnrollmentId, OrganizationId, StateCode
from models.read_model import EnrollmentRow
from models.records import Reason
from workflows.enrollment import EnrollmentWorkflow

router = APIRouter(prefix="/v1/enrollments", tags=["enrollments"], responses=AUTH_RESPONSES)

HOW_TO_CREATE = "import it with POST /v1/enrollments (or a roster with POST /v1/imports)"

DEFAULT_PAGE = 50
MAX_PAGE = 500
_MAC_BY_KEY = {j.upper(): j for j in MAC_JURISDICTIONS}
_NPI = re.compile(r"[0-9]{10}")

# What an import says about an enrollment that the workflow keeps for good: a repeat of the
# import must say the same, or it is about another enrollment (409).
IDENTITY_FIELDS = ("organization_id", "npi", "ptan", "form", "state", "effective_date")


def _refuse_actor(data: Any) -> Any:
    if isinstance(data, dict) and ("actor" in data or "role" in data):
        raise ValueError(
            "'actor' and 'role' come from your API key (Authorization: Bearer <key>); "
            "remove them from the body"
        )
    return data


class EnrollmentImportBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [
                {
                    "enrollment_id": "I20031103000001",
                    "organization_id": "sunrise-medical-group",
                    "npi": "1234567893",
                    "ptan": "00G577550",
                    "form": "CMS-855I",
                    "state": "FL",
                    "effective_date": "2023-04-01",
                    "revalidation_due_date": "2028-04-30",
                    "provider_type": "PRACTITIONER - FAMILY PRACTICE",
                    "reason": "onboarding the existing enrollment from the team spreadsheet",
                }
            ]
        },
    )

    enrollment_id: EnrollmentId = Field(description="PECOS Enrollment ID (ENRLMT_ID).")
    organization_id: OrganizationId | None = Field(
        default=None,
        description="The organisation the enrollment belongs to (default: the "
        "API's default organisation).",
    )
    npi: NPI
    ptan: PTAN
    form: FormInput
    state: StateCode
    effective_date: date
    revalidation_due_date: date | None = Field(
        default=None,
        description="From the CMS Revalidation Due Date List (data.cms.gov), a month end. "
        "Omitted: computed from the effective date (5 years, 3 for DMEPOS), the first not past.",
    )
    provider_type: str | None = Field(default=None, max_length=200)
    time_zone: str | None = None
    reason: Reason = "existing enrollment imported"

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        return _refuse_actor(data)


class EnrollmentEventBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event": "revalidation_notice_received",
                    "data": {"letter_date": "2026-11-02"},
                    "reason": "MAC revalidation email received",
                }
            ]
        },
    )

    event: str = Field(description="One of the enrollment operator events of GET /v1/lifecycle.")
    data: dict[str, Any] = Field(default_factory=dict)
    reason: Reason

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        return _refuse_actor(data)


def identity_differences(existing: EnrollmentState, start: EnrollmentStart) -> dict[str, Any]:
    """Fields where an import disagrees with the enrollment already running: field -> the
    existing and the sent value."""
    out: dict[str, Any] = {}
    for name in IDENTITY_FIELDS:
        have, sent = getattr(existing, name), getattr(start, name)
        if have != sent:
            out[name] = {"existing": _json(have), "sent": _json(sent)}
    return out


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else str(value)


async def query_enrollment(client: Client, enrollment_id: str) -> EnrollmentState:
    """The workflow's state; 404 problem when there is no such enrollment."""
    handle = client.get_workflow_handle(enrollment_workflow_id(enrollment_id))
    try:
        return await handle.query(EnrollmentWorkflow.state)
    except RPCError as exc:
        if is_not_found(exc):
            raise not_found("enrollment", enrollment_id, HOW_TO_CREATE) from None
        raise


async def start_enrollment(client: Client, task_queue: str, start: EnrollmentStart) -> bool:
    """Start the enrollment's workflow; False when it already exists (never a second one)."""
    try:
        await client.start_workflow(
            EnrollmentWorkflow.run,
            start,
            id=enrollment_workflow_id(start.enrollment_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Import an existing enrollment (approved before the engine knew it)",
    description=(
        "Needs the operator or admin role; the actor recorded is the API key's. Starts the "
        "enrollment's workflow (source `import`) with its clocks: revalidation (the due date "
        "from the CMS Revalidation Due Date List when given), non-billing from today. "
        "Idempotent on `enrollment_id`: repeating an import that already happened answers 200 "
        "with the enrollment as it is now; the same id with a different NPI, PTAN, form, state, "
        "organization, effective date or due date answers 409 naming the differences."
    ),
    responses={
        200: {"description": "Already imported by an earlier identical request"},
        409: {"description": "The enrollment id already exists with other data"},
    },
)
async def import_enrollment(
    request: Request,
    response: Response,
    principal: Writer,
    body: Annotated[EnrollmentImportBody, Body()],
) -> dict[str, Any]:
    settings = settings_of(request)
    try:
        start = EnrollmentStart(
            enrollment_id=body.enrollment_id,
            organization_id=body.organization_id or settings.default_organization,
            npi=body.npi,
            ptan=body.ptan,
            form=body.form,
            provider_type=body.provider_type,
            state=body.state,
            effective_date=body.effective_date,
            time_zone=body.time_zone or settings.default_time_zone,
            revalidation_due_date=body.revalidation_due_date,
            actor=principal.actor,
            reason=body.reason,
            source="import",
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    client = client_of(request)
    if await start_enrollment(client, settings.task_queue, start):
        return enrollment_view(await query_enrollment(client, start.enrollment_id))
    existing = await query_enrollment(client, start.enrollment_id)
    differences = identity_differences(existing, start)
    due = start.revalidation_due_date
    if due is not None and due != existing.revalidation_due_date:
        have = existing.revalidation_due_date
        differences["revalidation_due_date"] = {
            "existing": have.isoformat() if have else None,
            "sent": due.isoformat(),
        }
    if differences:
        listed = "; ".join(
            f"{name}: {d['existing']} (existing) vs {d['sent']} (sent)"
            for name, d in differences.items()
        )
        hint = (
            " A new due date is recorded with the event revalidation_notice_received "
            "(data.due_date)."
            if "revalidation_due_date" in differences
            else " Check the enrollment id, or correct the data you sent."
        )
        raise Problem(
            409,
            "Enrollment already exists with other data",
            f"Enrollment '{start.enrollment_id}' was already imported with different data: "
            f"{listed}.{hint}",
            type_="https://enrollment-engine.dev/problems/already-exists",
            state=existing.status.value,
            enrollment_id=existing.enrollment_id,
            differences=differences,
        )
    response.status_code = status.HTTP_200_OK
    return enrollment_view(existing)


@router.get(
    "/{enrollment_id}",
    summary="Full state: status, due dates, clocks with their explanations, allowed events, bar",
)
async def get_enrollment(request: Request, enrollment_id: str, principal: Reader) -> dict[str, Any]:
    return enrollment_view(await query_enrollment(client_of(request), enrollment_id))


@router.post(
    "/{enrollment_id}/events",
    summary="Record what happened (an operator event)",
    description=(
        "Needs the operator or admin role; the actor and role recorded are the API key's. "
        "An event the lifecycle does not allow in the current state answers 409 with the state "
        "and `allowed_events`; data the event cannot use answers 422 naming the field. "
        "An `Idempotency-Key` header makes a retried event apply once."
    ),
    responses={
        409: {"description": "Not allowed in this state (names the allowed events)"},
        422: {"description": "Event data refused (names the field)"},
    },
)
async def record_enrollment_event(
    request: Request,
    enrollment_id: str,
    principal: Writer,
    body: Annotated[EnrollmentEventBody, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    payload = operator_event(
        ENROLLMENT_LIFECYCLE,
        ENROLLMENT_EVENT_MODELS,
        body.event,
        body.data,
        principal,
        body.reason,
        what="an enrollment operator event",
    )
    client = client_of(request)

    async def closed() -> Problem:
        # Either unknown, or closed: a closed enrollment still answers queries.
        current = await query_enrollment(client, enrollment_id)
        return Problem(
            409,
            "Enrollment closed",
            f"Enrollment '{enrollment_id}' is closed ({current.status.value}); nothing more "
            "can be recorded on it. A new enrollment needs a new initial application.",
            state=current.status.value,
            allowed_events=[],
        )

    handle = client.get_workflow_handle(enrollment_workflow_id(enrollment_id))
    state = await execute_event(
        handle, EnrollmentWorkflow.record_event, payload, idempotency_key, closed
    )
    return enrollment_view(state)


@router.get(
    "",
    summary="List enrollments from the read model, newest change first",
    description=(
        "Served from the SQL read model (indexed), which the workflows keep current after every "
        "event; read one enrollment's full state with GET /v1/enrollments/{id}. "
        "`status`, `form`, `state` and `mac` may be repeated (any of the values matches). "
        "`due_before` keeps enrollments whose revalidation due date is strictly before that "
        "date; `deadline_before` those whose soonest open deadline is. Pages are ordered by "
        "`updated_at` descending, then `enrollment_id`; pass `next_cursor` back as `cursor` for "
        "the next page (null on the last page)."
    ),
)
async def list_enrollments(
    request: Request,
    principal: Reader,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    form: Annotated[list[str] | None, Query()] = None,
    state: Annotated[list[str] | None, Query(description="US state code, e.g. FL")] = None,
    mac: Annotated[list[str] | None, Query(description="MAC jurisdiction, e.g. JN")] = None,
    npi: Annotated[str | None, Query()] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    due_before: Annotated[
        date | None, Query(description="Revalidation due date strictly before this date")
    ] = None,
    deadline_before: Annotated[date | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, Any]:
    statuses = choices("status", status_, (s.value for s in EnrollmentStatus))
    forms = choices("form", form, (f.value for f in Form), lambda v: parse_form(v).value)
    states = choices("state", state, US_STATE_CODES, str.upper)
    macs = choices("mac", mac, MAC_JURISDICTIONS, lambda v: _MAC_BY_KEY.get(v.upper(), v))
    if npi is not None and not _NPI.fullmatch(npi):
        raise bad_parameter("npi", npi, "is not an NPI (10 digits)")

    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(col(EnrollmentRow.status).in_(statuses))
    if forms:
        conditions.append(col(EnrollmentRow.form).in_(forms))
    if states:
        conditions.append(col(EnrollmentRow.state).in_(states))
    if macs:
        conditions.append(col(EnrollmentRow.mac_jurisdiction).in_(macs))
    if npi is not None:
        conditions.append(col(EnrollmentRow.npi) == npi)
    if organization_id is not None:
        conditions.append(col(EnrollmentRow.organization_id) == organization_id)
    if due_before is not None:
        conditions.append(col(EnrollmentRow.revalidation_due_date) < due_before)
    if deadline_before is not None:
        conditions.append(col(EnrollmentRow.next_deadline) < deadline_before)
    return await keyset_page(
        request, EnrollmentRow, "enrollment_id", conditions, cursor=cursor, limit=limit
    )
