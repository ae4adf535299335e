"""Dispositions of suspected exclusion matches: an operator clears or confirms one, with the
reason; submission waits for it (docs/regulation.md, "Data checks")."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Request
from pydantic import ConfigDict, Field
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.auth import AUTH_RESPONSES, Principal, Writer
from api.bodies import OperatorBody
from api.problems import Problem, problem_responses
from api.responses.applications import ApplicationView
from api.responses.enrollments import EnrollmentView
from api.temporal import client_of, is_not_found, not_found, refusal
from models.application import application_workflow_id
from models.data_checks import FindingDispositionRequest
from models.enrollment import enrollment_workflow_id
from models.records import Reason
from models.text import Text100
from workflows.application import ApplicationWorkflow
from workflows.enrollment import EnrollmentWorkflow

router = APIRouter(responses=AUTH_RESPONSES)


class DispositionBody(OperatorBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "finding_key": "exclusion:leie:3f2a9c0d1e4b5a6c:parties[0]",
                    "disposition": "cleared",
                    "reason": "The LEIE entry's date of birth and city differ (OIG verified)",
                }
            ]
        },
    )

    finding_key: Text100 = Field(description="The `key` of the finding")
    disposition: Literal["cleared", "confirmed"]
    reason: Reason

    def request(self, principal: Principal) -> FindingDispositionRequest:
        """The update's input: the actor and role are the API key's."""
        return FindingDispositionRequest(
            finding_key=self.finding_key,
            disposition=self.disposition,
            actor=principal.actor,
            role=principal.role,
            reason=self.reason,
        )


@router.post(
    "/v1/applications/{application_id}/finding-dispositions",
    tags=["applications"],
    operation_id="recordFindingDisposition",
    response_model=ApplicationView,
    summary="Clear or confirm a suspected exclusion match, with the reason",
    description=(
        "A name-only match of the provider, an owner or a managing employee against the OIG "
        "LEIE or SAM.gov holds submission until an operator decides it: `cleared` (not the "
        "same party; it stays as information) or `confirmed` (an exclusion, which blocks). The "
        "decision is a line of the application's log with the actor, role and reason, and is "
        "in its audit timeline. Needs the operator or admin role; an Idempotency-Key header "
        "makes a retry answer the same without recording twice."
    ),
    responses=problem_responses(
        {
            404: "No such application",
            409: "The application is no longer a draft",
            422: "No open suspected match has this key (names the open ones), or a bad body",
        }
    ),
)
async def record_finding_disposition(
    request: Request,
    application_id: str,
    principal: Writer,
    body: Annotated[DispositionBody, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ApplicationView:
    payload = body.request(principal)
    handle = client_of(request).get_workflow_handle(application_workflow_id(application_id))
    state = await _dispose(
        handle,
        ApplicationWorkflow.record_finding_disposition,
        payload,
        idempotency_key,
        lambda: not_found("application", application_id, "create it with POST /v1/applications"),
    )
    return ApplicationView.of(state)


@router.post(
    "/v1/enrollments/{enrollment_id}/finding-dispositions",
    tags=["enrollments"],
    operation_id="recordEnrollmentFindingDisposition",
    response_model=EnrollmentView,
    summary="Clear or confirm a suspected exclusion match of an enrollment, with the reason",
    description=(
        "A name-only match of the enrolled provider against the OIG LEIE or SAM.gov, found "
        "when a list was loaded: `cleared` (not the same party) or `confirmed`. The decision is "
        "a line of the enrollment's log with the actor, role and reason (in its audit "
        "timeline), and later runs of the checks keep it. Needs the operator or admin role."
    ),
    responses=problem_responses(
        {
            404: "No such enrollment",
            422: "No open suspected match has this key (names the open ones), or a bad body",
        }
    ),
)
async def record_enrollment_finding_disposition(
    request: Request,
    enrollment_id: str,
    principal: Writer,
    body: Annotated[DispositionBody, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> EnrollmentView:
    payload = body.request(principal)
    handle = client_of(request).get_workflow_handle(enrollment_workflow_id(enrollment_id))
    state = await _dispose(
        handle,
        EnrollmentWorkflow.record_finding_disposition,
        payload,
        idempotency_key,
        lambda: not_found("enrollment", enrollment_id, "import it with POST /v1/enrollments"),
    )
    return EnrollmentView.of(state)


async def _dispose(
    handle: WorkflowHandle[Any, Any],
    update: Any,
    payload: FindingDispositionRequest,
    idempotency_key: str | None,
    missing: Callable[[], Problem],
) -> Any:
    try:
        return await handle.execute_update(update, payload, id=idempotency_key or str(uuid.uuid4()))
    except WorkflowUpdateFailedError as exc:
        problem = refusal(exc)
        # The body has its fields at the top level, not under `data` as an event's.
        for error in problem.extra.get("errors") or []:
            error["field"] = error["field"].removeprefix("data.")
        raise problem from None
    except RPCError as exc:
        if is_not_found(exc):
            raise missing() from None
        raise
