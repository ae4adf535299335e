"""The audit trail of a workflow, read from its Temporal history: a timeline and exports."""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError

from api.auth import AUTH_RESPONSES, Reader
from api.temporal import client_of, is_not_found, not_found
from models.application import application_workflow_id
from workflows.audit import build_export, fetch_chain, render_csv, render_html

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=AUTH_RESPONSES)
log = structlog.get_logger("api.audit")

DIGEST_HEADER = "X-Audit-History-SHA256"


async def _chain(request: Request, workflow_id: str) -> list[WorkflowHistory]:
    client = client_of(request)
    candidates = [workflow_id]
    if not workflow_id.startswith("application-"):
        candidates.append(application_workflow_id(workflow_id))
    for candidate in candidates:
        try:
            return await fetch_chain(client, candidate)
        except RPCError as exc:
            if not is_not_found(exc):
                raise
    raise not_found(
        "workflow",
        workflow_id,
        "give a workflow id (application-<application id>) or an "
        "application id from GET /v1/applications",
    )


@router.get(
    "/{workflow_id}",
    summary="The audit timeline of a workflow, as JSON, CSV or a printable HTML report",
    description=(
        "Built from the Temporal event history of every run of the workflow (continue-as-new "
        "chain), decoded with the production data converter: who recorded each event, in which "
        "role and why, the state before and after, the clocks opened and closed, timer firings "
        "and the checks and notifications that followed. Form details never appear (edits list "
        "the fields they changed; SSN/EIN-shaped text is masked). Every format carries "
        "`history_sha256`, SHA-256 over the serialized History of each run, oldest first; the "
        "JSON export embeds the raw (still encrypted) history and the HTML report embeds the "
        "JSON export, so `enroll audit verify FILE` can check either offline. `workflow_id` "
        "may also be an application id."
    ),
    responses={
        200: {
            "content": {"application/json": {}, "text/csv": {}, "text/html": {}},
            "description": "The export (header X-Audit-History-SHA256 carries the digest)",
        },
        404: {"description": "No such workflow (problem+json)"},
    },
)
async def audit(
    request: Request,
    workflow_id: str,
    principal: Reader,
    format: Annotated[
        Literal["json", "csv", "html"],
        Query(description="json (with the raw history), csv or html (printable)"),
    ] = "json",
    include_history: Annotated[
        bool, Query(description="JSON: embed the raw history (needed to verify the export)")
    ] = True,
) -> Response:
    histories = await _chain(request, workflow_id)
    export = await build_export(
        histories,
        client_of(request).data_converter,
        generated_by={"actor": principal.actor, "role": principal.role},
        include_history=include_history or format == "html",
    )
    log.info(
        "audit exported",
        actor=principal.actor,
        role=principal.role,
        workflow_id=export["workflow_id"],
        format=format,
        runs=len(export["runs"]),
        history_sha256=export["history_sha256"],
    )
    headers = {DIGEST_HEADER: export["history_sha256"]}
    name = f"audit-{export['workflow_id']}"
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(render_csv(export), media_type="text/csv", headers=headers)
    if format == "html":
        return HTMLResponse(render_html(export), headers=headers)
    return JSONResponse(export, headers=headers)
