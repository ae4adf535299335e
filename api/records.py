"""One record's workflow, as the routes reach it: its state (404 when there is no such record),
and the idempotent start of an enrollment that both imports (one, or a roster) use."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from datetime import date
from typing import Any, TypeVar

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.types import MethodSyncNoParam

from api.outages import CALL_BOUND, TemporalTimeout
from api.problems import Problem
from api.temporal import is_not_found, not_found
from models.application import ApplicationCreate, ApplicationState, application_workflow_id
from models.created import CREATE_REQUEST
from models.enrollment import EnrollmentStart, EnrollmentState, enrollment_workflow_id
from workflows.application import ApplicationWorkflow
from workflows.enrollment import EnrollmentWorkflow

State = TypeVar("State")

HOW_TO_CREATE_APPLICATION = "create it with POST /v1/applications"
HOW_TO_CREATE_ENROLLMENT = "import it with POST /v1/enrollments (or a roster with POST /v1/imports)"

# What an import says about an enrollment that the workflow keeps for good: a repeat of the
# import must say the same, or it is about another enrollment (409).
IDENTITY_FIELDS = ("organization_id", "npi", "ptan", "form", "state", "effective_date")


async def query_application(client: Client, application_id: str) -> ApplicationState:
    """The application's state from its workflow; 404 problem when there is none."""
    unknown = not_found("application", application_id, HOW_TO_CREATE_APPLICATION)
    workflow_id = application_workflow_id(application_id)
    return await _state(client, workflow_id, ApplicationWorkflow.state, unknown)


async def query_enrollment(client: Client, enrollment_id: str) -> EnrollmentState:
    """The enrollment's state from its workflow; 404 problem when there is none."""
    unknown = not_found("enrollment", enrollment_id, HOW_TO_CREATE_ENROLLMENT)
    workflow_id = enrollment_workflow_id(enrollment_id)
    return await _state(client, workflow_id, EnrollmentWorkflow.state, unknown)


async def _state(
    client: Client, workflow_id: str, query: MethodSyncNoParam[Any, State], unknown: Problem
) -> State:
    try:
        return await client.get_workflow_handle(workflow_id).query(query)
    except RPCError as exc:
        if is_not_found(exc):
            raise unknown from None
        raise


# Clients whose server has no update-with-start (the Java time-skipping test server answers
# UNIMPLEMENTED): they start and then query, as before.
_WITHOUT_UPDATE_WITH_START: weakref.WeakSet[Client] = weakref.WeakSet()


async def start_application(
    client: Client, task_queue: str, create: ApplicationCreate
) -> tuple[ApplicationState, bool]:
    """Start the application's workflow, or find the one of that id running: its state, and
    whether this call started it (never a second workflow per id). One round trip
    (update-with-start: the start and the `created` update in one call) where the server has
    it, else a start and a query (and a closed application is queried)."""
    workflow_id = application_workflow_id(create.application_id)
    if client in _WITHOUT_UPDATE_WITH_START:
        return await _start_then_query(client, task_queue, create)
    # A fresh id per call, carried by the start in its memo: the workflow answers `started` only
    # to the call whose start made it (a retried request is told it existed, as a start is).
    update_id = f"create-{uuid.uuid4().hex}"
    start = WithStartWorkflowOperation(
        ApplicationWorkflow.run,
        create,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        memo={CREATE_REQUEST: update_id},
    )
    try:
        answer = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                ApplicationWorkflow.created,
                start_workflow_operation=start,
                id=update_id,
                rpc_timeout=CALL_BOUND,
            ),
            CALL_BOUND.total_seconds() + 1,
        )
    except TimeoutError:
        raise TemporalTimeout() from None
    except WorkflowAlreadyStartedError:  # closed: it answers queries, not updates
        return await query_application(client, create.application_id), False
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        _WITHOUT_UPDATE_WITH_START.add(client)
        return await _start_then_query(client, task_queue, create)
    return answer.state, answer.started


async def _start_then_query(
    client: Client, task_queue: str, create: ApplicationCreate
) -> tuple[ApplicationState, bool]:
    try:
        await client.start_workflow(
            ApplicationWorkflow.run,
            create,
            id=application_workflow_id(create.application_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        started = True
    except WorkflowAlreadyStartedError:
        started = False
    return await query_application(client, create.application_id), started


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
