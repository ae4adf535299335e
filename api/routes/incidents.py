"""Incidents: side effects of records (read-model projection, notices, checks) that keep failing.

A record with an incident is unharmed (its state and clocks go on; GET of the record is always
true); what lags is the world around it. The list comes from Temporal visibility (the
EnrollOpenIncidents search attribute), so it answers even while the read model is down; each
record's incidents come from the record itself.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecution, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import AUTH_RESPONSES, Reader, Writer
from api.problems import Problem, problem_responses
from api.temporal import client_of, event_id, is_not_found
from models.contracts import Incident, RetryEffects
from models.records import Reason
from workflows.search_attributes import OPEN_INCIDENTS

router = APIRouter(
    prefix="/v1/incidents",
    tags=["incidents"],
    responses={
        **AUTH_RESPONSES,
        **problem_responses({422: "A bad parameter (names it and why)"}),
    },
)

MAX_LISTED = 500
# Each record is asked at once, each for at most this long.
QUERY_BOUND = timedelta(seconds=2)
_RECORD_KINDS = {"ApplicationWorkflow": "application", "EnrollmentWorkflow": "enrollment"}


class RecordIncidents(BaseModel):
    workflow_id: str
    record_kind: str
    incidents: list[Incident]
    open_incidents: int = Field(
        description="How many incidents the record reported to search (the details are in "
        "`incidents` when it answered)."
    )
    answered: bool = Field(
        description="False when the record did not answer within the bound (its worker may be "
        "down): `incidents` is then empty and only `open_incidents` is known."
    )


class IncidentList(BaseModel):
    records: list[RecordIncidents]
    complete: bool = Field(
        description="False when the Temporal server cannot search (the time-skipping sandbox "
        "has no visibility store): then only each record's own view shows its incidents."
    )
    note: str | None = None


class RetryRequest(BaseModel):
    reason: Reason = Field(description="Why the side effects are re-run (kept in the history).")


class RetryAnswer(BaseModel):
    workflow_id: str
    retried: int = Field(description="How many failing side effects were re-run now.")


@router.get(
    "",
    summary="Records whose side effects keep failing",
    operation_id="listIncidents",
    response_model=IncidentList,
)
async def list_incidents(
    request: Request,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> IncidentList:
    client = client_of(request)
    listing = client.list_workflows(
        f'{OPEN_INCIDENTS.name} > 0 AND ExecutionStatus = "Running"', limit=limit
    )
    try:
        executions = [e async for e in listing]
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        return IncidentList(
            records=[],
            complete=False,
            note="This Temporal server cannot search workflows (the time-skipping sandbox has "
            "no visibility store): open a record to see its incidents.",
        )
    found = await asyncio.gather(
        *(_record_incidents(client, e) for e in executions if e.workflow_type in _RECORD_KINDS)
    )
    records = [r for r in found if r is not None and (r.incidents or not r.answered)]
    silent = sum(1 for r in records if not r.answered)
    if silent:
        return IncidentList(
            records=records,
            complete=True,
            note=f"{silent} record(s) did not answer within {QUERY_BOUND.seconds} s (their "
            "worker may be down): they are listed with their count, without details.",
        )
    return IncidentList(records=records, complete=True)


async def _record_incidents(client: Client, execution: WorkflowExecution) -> RecordIncidents | None:
    """One record's incidents, from its own query; a record that cannot answer (its worker
    is down, or it belongs to a task queue nobody polls) is listed by its search count rather
    than failing the whole list."""
    count = execution.typed_search_attributes.get(OPEN_INCIDENTS) or 0
    kind = _RECORD_KINDS[execution.workflow_type]
    try:
        state = await client.get_workflow_handle(execution.id).query(
            "state", rpc_timeout=QUERY_BOUND
        )
    except RPCError as exc:
        if is_not_found(exc):  # closed between the listing and the query
            return None
        return RecordIncidents(
            workflow_id=execution.id,
            record_kind=kind,
            incidents=[],
            open_incidents=count,
            answered=False,
        )
    incidents = [Incident.model_validate(i) for i in state.get("incidents", [])]
    return RecordIncidents(
        workflow_id=execution.id,
        record_kind=kind,
        incidents=incidents,
        open_incidents=len(incidents),
        answered=True,
    )


@router.post(
    "/{workflow_id}/retry",
    summary="Re-run a record's failing side effects now",
    description=(
        "Needs the operator or admin role and a reason (kept in the history). A retried request "
        "(same workflow id and reason) is the same update and answers as the first did, "
        "re-running nothing twice; to re-run again later, give the reason for that retry."
    ),
    operation_id="retryIncidents",
    response_model=RetryAnswer,
    responses=problem_responses({404: "No running record with that workflow id"}),
)
async def retry_incidents(
    request: Request,
    workflow_id: str,
    principal: Writer,
    body: Annotated[RetryRequest, Body()],
) -> RetryAnswer:
    handle = client_of(request).get_workflow_handle(workflow_id)
    ask = RetryEffects(actor=principal.actor, role=principal.role, reason=body.reason)
    # Derived from the request (as an event's is): a retried HTTP request is the same update,
    # which Temporal answers once, not a second re-run in the record's history.
    update_id = event_id(request.method, request.url.path, body, None)
    try:
        retried = await handle.execute_update(
            "retry_side_effects", ask, id=update_id, result_type=int
        )
    except RPCError as exc:
        if is_not_found(exc):
            raise Problem(
                404,
                "Unknown record",
                f"No running record '{workflow_id}' (use the workflow id, e.g. "
                "application-<id> or enrollment-<id>).",
                kind="not-found",
            ) from None
        raise
    except WorkflowUpdateFailedError as exc:
        raise Problem(
            409,
            "Side effects not re-run",
            str(exc.cause or exc),
            kind="illegal-transition",
        ) from None
    return RetryAnswer(workflow_id=workflow_id, retried=retried)
