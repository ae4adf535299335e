"""Enrollments: import an existing one, record what happened, read its state, list them."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Body, Header, Query, Request, Response, status
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from sqlmodel import col

from api.auth import AUTH_RESPONSES, Reader, Writer
from api.bodies import (
    EventBodyBase,
    IsoDate,
    MonthEndDate,
    OperatorBody,
    TimeZoneName,
    event_variants,
)
from api.problems import MALFORMED, Problem, from_validation_error, problem_responses
from api.reads import RecordQuery, choices, keyset_page, one_of
from api.records import identity_differences, query_enrollment, start_enrollment
from api.responses.common import created
from api.responses.enrollments import EnrollmentListItem, EnrollmentPage, EnrollmentView
from api.routes.notifications import with_failing_notifications
from api.temporal import (
    client_of,
    event_route_docs,
    execute_event,
    operator_event,
    settings_of,
)
from models.enrollment import (
    ENROLLMENT_EVENT_MODELS,
    ENROLLMENT_LIFECYCLE,
    EnrollmentStart,
    EnrollmentStatus,
    enrollment_workflow_id,
)
from models.forms import Form, FormInput
from models.identifiers import NPI, PTAN, EnrollmentId, OrganizationId, StateCode
from models.read_model import EnrollmentRow
from models.records import Reason
from models.text import Line
from workflows.enrollment import EnrollmentWorkflow
from workflows.patches import CURRENT_GENERATION

router = APIRouter(
    prefix="/v1/enrollments",
    tags=["enrollments"],
    responses={**AUTH_RESPONSES, **MALFORMED},
)


class EnrollmentImportBody(OperatorBody):
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
                    "legal_name": "Jane Q. Doe",
                    "effective_date": "2023-04-01",
                    "revalidation_due_date": "2028-04-30",
                    "provider_type": "PRACTITIONER - FAMILY PRACTICE",
                    "reason": "onboarding the existing enrollment from the team spreadsheet",
                }
            ],
            # A CMS-855O enrollment does not revalidate (424.515): it takes no due date.
            "if": {"properties": {"form": {"const": Form.CMS_855O.value}}, "required": ["form"]},
            "then": {"properties": {"revalidation_due_date": {"type": "null"}}},
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
    effective_date: IsoDate
    revalidation_due_date: MonthEndDate | None = Field(
        default=None,
        description="From the CMS Revalidation Due Date List (data.cms.gov), a month end. "
        "Omitted: computed from the effective date (5 years, 3 for DMEPOS), the first not past.",
    )
    legal_name: Line | None = Field(
        default=None, max_length=300, description="The provider's legal name, shown beside the NPI"
    )
    provider_type: Line | None = Field(default=None, max_length=200)
    time_zone: TimeZoneName | None = None
    reason: Reason = "existing enrollment imported"


class EnrollmentEventBody(EventBodyBase):
    documented: ClassVar[TypeAdapter[Any]] = event_variants(
        ENROLLMENT_EVENT_MODELS, ENROLLMENT_LIFECYCLE.operator_events, prefix="Enrollment"
    )
    example: ClassVar[dict[str, Any]] = {
        "event": "revalidation_notice_received",
        "data": {"letter_date": "2026-11-02"},
        "reason": "MAC revalidation email received",
    }

    event: Line = Field(description="One of the enrollment operator events of GET /v1/lifecycle.")
    data: dict[str, Any] = Field(default_factory=dict)
    reason: Reason


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="importEnrollment",
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
        200: {"model": EnrollmentView, "description": "Already imported by an earlier request"},
        201: created("The enrollment; Location is its URL"),
        **problem_responses({409: "The enrollment id already exists with other data"}),
    },
)
async def import_enrollment(
    request: Request,
    response: Response,
    principal: Writer,
    body: Annotated[EnrollmentImportBody, Body()],
) -> EnrollmentView:
    settings = settings_of(request)
    organization_id = body.organization_id or settings.default_organization
    try:
        start = EnrollmentStart(
            enrollment_id=body.enrollment_id,
            organization_id=organization_id,
            npi=body.npi,
            ptan=body.ptan,
            form=body.form,
            legal_name=body.legal_name,
            provider_type=body.provider_type,
            state=body.state,
            effective_date=body.effective_date,
            time_zone=body.time_zone or settings.time_zone_for(organization_id),
            revalidation_due_date=body.revalidation_due_date,
            actor=principal.actor,
            reason=body.reason,
            generation=CURRENT_GENERATION,
            source="import",
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    client = client_of(request)
    if await start_enrollment(client, settings.task_queue, start):
        response.headers["Location"] = str(
            request.url_for("get_enrollment", enrollment_id=start.enrollment_id)
        )
        return EnrollmentView.of(await query_enrollment(client, start.enrollment_id))
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
            kind="already-exists",
            state=existing.status.value,
            enrollment_id=existing.enrollment_id,
            differences=differences,
        )
    response.status_code = status.HTTP_200_OK
    return EnrollmentView.of(existing)


@router.get(
    "/{enrollment_id}",
    operation_id="getEnrollment",
    responses=problem_responses({404: "No such enrollment"}),
    summary="Full state: status, due dates, clocks with their explanations, allowed events, bar",
)
async def get_enrollment(request: Request, enrollment_id: str, principal: Reader) -> EnrollmentView:
    view = EnrollmentView.of(await query_enrollment(client_of(request), enrollment_id))
    return await with_failing_notifications(request, view)


@router.post(
    "/{enrollment_id}/events",
    operation_id="recordEnrollmentEvent",
    **event_route_docs("enrollment"),
)
async def record_enrollment_event(
    request: Request,
    enrollment_id: str,
    principal: Writer,
    body: Annotated[EnrollmentEventBody, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> EnrollmentView:
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
            kind="record-closed",
            state=current.status.value,
            allowed_events=[],
        )

    handle = client.get_workflow_handle(enrollment_workflow_id(enrollment_id))
    state = await execute_event(
        request,
        handle,
        EnrollmentWorkflow.record_event,
        payload,
        body,
        closed,
        poll_route="poll_enrollment_event",
        idempotency_key=idempotency_key,
        enrollment_id=enrollment_id,
    )
    return EnrollmentView.of(state)


@router.get(
    "",
    operation_id="listEnrollments",
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
    filters: RecordQuery,
    status_: Annotated[
        list[str] | None,
        Query(alias="status", json_schema_extra=one_of(s.value for s in EnrollmentStatus)),
    ] = None,
    due_before: Annotated[
        IsoDate | None, Query(description="Revalidation due date strictly before this date")
    ] = None,
) -> EnrollmentPage:
    statuses = choices("status", status_, (s.value for s in EnrollmentStatus))
    conditions = filters.conditions(EnrollmentRow)
    if statuses:
        conditions.append(col(EnrollmentRow.status).in_(statuses))
    if due_before is not None:
        conditions.append(col(EnrollmentRow.revalidation_due_date) < due_before)
    rows, next_cursor = await keyset_page(
        request, EnrollmentRow, "enrollment_id", conditions, filters
    )
    return EnrollmentPage(
        items=[EnrollmentListItem.model_validate(row) for row in rows], next_cursor=next_cursor
    )
