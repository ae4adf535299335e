"""PECOS access hygiene per organisation (workflows/pecos_access.py): who can act for it in
PECOS, their logins and password changes, reminders and the fewer-than-two finding. The first
event recorded for an organisation starts its workflow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.auth import AUTH_RESPONSES, Reader, Writer
from api.problems import Problem, problem_responses
from api.responses.pecos_access import PecosAccessView, PecosUserView
from api.temporal import client_of, is_not_found, now_of, settings_of
from models.calendar import local_date
from models.pecos_access import AccessEvent, AccessState, can_act
from workflows.pecos_access import PecosAccessWorkflow, pecos_access_id

router = APIRouter(
    prefix="/v1/organizations/{organization_id}/pecos-access",
    tags=["pecos-access"],
    responses={**AUTH_RESPONSES, **problem_responses({422: "A bad event (names the field)"})},
)
OrganizationId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


async def _view(request: Request, state: AccessState) -> PecosAccessView:
    today = local_date(await now_of(request), state.time_zone)
    users = [
        PecosUserView(
            user=u.user,
            role=u.role.value,
            password_changed_on=u.password_changed_on,
            password_expires_on=u.password_expires_on,
            last_login_on=u.last_login_on,
            locked_on=u.locked_on,
            can_act=can_act(u, today),
        )
        for u in sorted(state.users.values(), key=lambda u: u.user)
    ]
    return PecosAccessView(
        organization_id=state.organization_id,
        workflow_id=pecos_access_id(state.organization_id),
        today=today,
        users=users,
        can_act=sum(u.can_act for u in users),
        short_handed_since=state.short_handed_since,
        reminders_sent=state.reminders_sent,
    )


@router.get(
    "",
    summary="Who can act for the organisation in PECOS, and when passwords and accounts lapse",
    operation_id="getPecosAccess",
    response_model=PecosAccessView,
    responses=problem_responses({404: "Nothing recorded for this organisation yet"}),
)
async def get_pecos_access(
    request: Request, organization_id: OrganizationId, principal: Reader
) -> PecosAccessView:
    handle = client_of(request).get_workflow_handle(pecos_access_id(organization_id))
    try:
        state = await handle.query(PecosAccessWorkflow.state)
    except RPCError as exc:
        if not is_not_found(exc):
            raise
        raise Problem(
            404,
            "Unknown organisation",
            f"Nothing is recorded about PECOS access for '{organization_id}': record a "
            "user_added event first.",
            kind="not-found",
        ) from None
    return await _view(request, state)


@router.post(
    "/events",
    summary="Record a PECOS user, a login or a password change",
    operation_id="recordPecosAccessEvent",
    response_model=PecosAccessView,
)
async def record_pecos_access_event(
    request: Request,
    organization_id: OrganizationId,
    principal: Writer,
    event: Annotated[AccessEvent, Body()],
) -> PecosAccessView:
    settings = settings_of(request)
    start = AccessState(organization_id=organization_id, time_zone=settings.default_time_zone)
    handle = await client_of(request).start_workflow(
        PecosAccessWorkflow.run,
        start,
        id=pecos_access_id(organization_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    try:
        state = await handle.execute_update(PecosAccessWorkflow.record, event)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(exc)
        field = message.split(":", 1)[0] if ":" in message else "event"
        raise Problem(
            422,
            "PECOS access event refused",
            message,
            kind="pecos-access-refused",
            errors=[{"field": field, "reason": message}],
        ) from None
    return await _view(request, state)
