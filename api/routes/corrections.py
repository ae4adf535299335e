"""Corrections: an on-time event recorded late on a closed application (admin, audited). The
closed application is reopened from its last state, carrying the closed run's request ids so
that a retried correction applies once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Request, Security
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.auth import ADMIN, AUTH_RESPONSES, Principal, require
from api.problems import MALFORMED, Problem, problem_responses
from api.records import query_application
from api.responses.applications import ApplicationView
from api.routes.applications import EventBody, record_application_event
from api.temporal import (
    client_of,
    event_id,
    event_refusal,
    key_reused,
    now_of,
    operator_event,
    settings_of,
)
from models.application import (
    APPLICATION_LIFECYCLE,
    EVENT_MODELS,
    ApplicationCreate,
    ApplicationReopen,
    EventRefused,
    application_workflow_id,
    check_event,
)
from workflows.application import ApplicationWorkflow
from workflows.audit.chain import REOPENS_RUN
from workflows.patches import CURRENT_GENERATION
from workflows.requests import RecentRequests

router = APIRouter(
    prefix="/v1/applications",
    tags=["applications"],
    responses={**AUTH_RESPONSES, **MALFORMED},
)


@router.post(
    "/{application_id}/corrections",
    operation_id="correctApplication",
    summary="Record an on-time event late, on a closed application (admin, audited)",
    description=(
        "Needs the admin role and a reason. For an event dated inside a window whose "
        "consequence the engine applied (e.g. a development response dated day 30, found on "
        "day 50) after the application closed: the application is reopened from its last "
        "state (its log says who reopened it and why) and the event is recorded, withdrawing "
        "the engine's consequence. An application still open takes the event as "
        "POST /v1/applications/{id}/events would. An event the closed application would "
        "refuse answers 409/422 and reopens nothing."
    ),
    responses=problem_responses(
        {
            404: "No such application",
            409: "Not allowed in this state (names the state and the allowed events)",
            422: "Malformed request, or event data refused (names the field)",
        }
    ),
)
async def correct_application(
    request: Request,
    application_id: str,
    principal: Annotated[Principal, Security(require(ADMIN))],
    body: Annotated[EventBody, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ApplicationView:
    payload = operator_event(
        APPLICATION_LIFECYCLE, EVENT_MODELS, body.event, body.data, principal, body.reason
    )
    client = client_of(request)
    handle = client.get_workflow_handle(application_workflow_id(application_id))
    current = await query_application(client, application_id)
    description = await handle.describe()
    if description.status != WorkflowExecutionStatus.RUNNING:
        # The closed run's request ids go to the reopened one: a retry of a request the closed
        # run applied is answered by the reopened run with the record as it is, not applied.
        recent = await handle.query(ApplicationWorkflow.recent_requests)
        known = RecentRequests(recent)
        update_id = event_id(request.method, request.url.path, body, idempotency_key)
        if update_id in known:
            # A retry of a correction applied by a run that has closed again since: answered
            # with the record as it is; nothing is reopened, nothing applied twice.
            return ApplicationView.of(current)
        if known.reuses_key(update_id):
            raise key_reused(idempotency_key)
        try:
            check_event(current, payload, await now_of(request))
        except EventRefused as exc:
            raise event_refusal(exc) from None
        create = ApplicationCreate(
            application_id=current.application_id,
            organization_id=current.organization_id,
            form=current.form,
            purpose=current.purpose,
            time_zone=current.time_zone,
            actor=principal.actor,
            role=principal.role,
            reason=body.reason,
            reopen=ApplicationReopen(
                state=current, previous_run_id=description.run_id, recent_requests=recent
            ),
            generation=CURRENT_GENERATION,
        )
        try:
            handle = await client.start_workflow(
                ApplicationWorkflow.run,
                create,
                id=handle.id,
                task_queue=settings_of(request).task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                memo={REOPENS_RUN: description.run_id},
            )
        except WorkflowAlreadyStartedError:  # reopened by a concurrent correction
            pass

    async def closed() -> Problem:
        return Problem(
            409,
            "Application closed",
            f"Application '{application_id}' closed again before the correction was recorded; "
            "send it again.",
            kind="record-closed",
        )

    return await record_application_event(
        request, handle, application_id, payload, body, closed, idempotency_key
    )
