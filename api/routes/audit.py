"""The audit trail of a workflow, read from its Temporal history: a timeline and exports.

A workflow Temporal no longer knows (its retention has passed) is served from the append-only
audit archive (workflows/archive.py, ``settings.archive_dir``) once its digest verifies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError

from api.auth import AUTH_RESPONSES, Principal, Reader
from api.problems import Problem, problem_responses
from api.responses.audit import AuditExport
from api.temporal import client_of, is_not_found, settings_of
from models.application import application_workflow_id
from models.enrollment import enrollment_workflow_id
from workflows.archive import Archive, ArchiveEntryError, DirectoryArchive, find_archived
from workflows.audit import build_export, fetch_chain, render_csv, render_html, verify_export

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=AUTH_RESPONSES)
log = structlog.get_logger("api.audit")

DIGEST_HEADER = "X-Audit-History-SHA256"
SOURCE_HEADER = "X-Audit-Source"


def archive_of(request: Request) -> Archive:
    """`app.state.archive` when the app was given one, else the directory archive at
    `settings.archive_dir` (default <data_dir>/archive)."""
    archive: Archive | None = getattr(request.app.state, "archive", None)
    return archive or DirectoryArchive(settings_of(request).resolved_archive_dir())


def _candidates(workflow_id: str) -> list[str]:
    """The workflow ids an id may mean: itself, or (without a prefix) the application's or the
    enrollment's workflow with that id."""
    candidates = [workflow_id]
    if not workflow_id.startswith(("application-", "enrollment-")):
        candidates += [application_workflow_id(workflow_id), enrollment_workflow_id(workflow_id)]
    return candidates


async def _chain(request: Request, candidates: list[str]) -> list[WorkflowHistory] | None:
    client = client_of(request)
    for candidate in candidates:
        try:
            return await fetch_chain(client, candidate)
        except RPCError as exc:
            if not is_not_found(exc):
                raise
    return None


async def _archived(request: Request, candidates: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The archived export of the first candidate the archive holds, its digest verified."""
    archive = archive_of(request)
    for candidate in candidates:
        try:
            found = await find_archived(archive, candidate)
        except ArchiveEntryError as exc:
            log.error("audit archive entry unreadable", workflow_id=candidate, error=str(exc))
            raise _archive_damaged(candidate, str(exc)) from None
        if found is None:
            continue
        name, export = found
        result = await verify_export(export)
        if not result.ok:
            log.error(
                "audit archive entry failed verification",
                workflow_id=candidate,
                entry=name,
                error=result.message,
            )
            raise _archive_damaged(candidate, f"entry {name}: {result.message}")
        return name, export
    return None


def _archive_damaged(workflow_id: str, why: str) -> Problem:
    return Problem(
        500,
        "Archived audit export failed verification",
        f"Temporal no longer holds '{workflow_id}' and its archived export cannot be trusted "
        f"({why}). Restore the entry from a backup of the archive.",
        kind="archive-damaged",
    )


async def _export(
    request: Request, workflow_id: str, principal: Principal, include_history: bool
) -> dict[str, Any]:
    candidates = _candidates(workflow_id)
    histories = await _chain(request, candidates)
    if histories is not None:
        export = await build_export(
            histories,
            client_of(request).data_converter,
            generated_by={"actor": principal.actor, "role": principal.role},
            include_history=include_history,
        )
        export["source"] = "temporal"
        return export
    archived = await _archived(request, candidates)
    if archived is None:
        raise Problem(
            404,
            "Unknown workflow",
            f"No workflow '{workflow_id}' exists in Temporal or in the audit archive. Check "
            "the id: give a workflow id (application-<id>, enrollment-<id>) or an application "
            "or enrollment id. A closed workflow past Temporal's retention is found "
            "only if a sweep (enroll audit archive) archived it before it was deleted.",
            kind="not-found",
        )
    name, export = archived
    export = {**export, "source": "archive", "archive_entry": name}
    if not include_history:
        export.pop("raw_history", None)
    return export


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
        "JSON export embeds the raw (still encrypted) history when asked "
        "(`include_history=true`) and the HTML report always embeds it, so `enroll audit "
        "verify FILE` can check either offline. The CSV and HTML reports show each event's "
        "date (the letter's or PECOS's date) beside when it was recorded. `workflow_id` may "
        "also be an application or enrollment id (without the prefix). A closed workflow that "
        "Temporal's retention has deleted is served from the audit archive "
        "(`ENROLL_ARCHIVE_DIR`), after its digest is "
        "verified: `source` (and header X-Audit-Source) says `temporal` or `archive`."
    ),
    operation_id="getAuditExport",
    response_model=AuditExport,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
            "description": "The export (header X-Audit-History-SHA256 carries the digest)",
            "headers": {
                DIGEST_HEADER: {
                    "description": "history_sha256 of the export",
                    "schema": {"type": "string"},
                },
                SOURCE_HEADER: {
                    "description": "temporal, or archive when Temporal no longer holds it",
                    "schema": {"type": "string"},
                },
            },
        },
        **problem_responses(
            {
                404: "No such workflow, in Temporal or the archive",
                422: "An unknown format or a bad include_history (names the field)",
                500: "The archived export failed verification",
            }
        ),
    },
)
async def audit(
    request: Request,
    response: Response,
    workflow_id: str,
    principal: Reader,
    format: Annotated[
        Literal["json", "csv", "html"],
        Query(description="json, csv or html (printable, embeds the raw history)"),
    ] = "json",
    include_history: Annotated[
        bool, Query(description="JSON: embed the raw history (needed to verify the export)")
    ] = False,
) -> Any:
    export = await _export(request, workflow_id, principal, include_history or format == "html")
    log.info(
        "audit exported",
        actor=principal.actor,
        role=principal.role,
        workflow_id=export["workflow_id"],
        format=format,
        source=export["source"],
        runs=len(export["runs"]),
        history_sha256=export["history_sha256"],
    )
    headers = {DIGEST_HEADER: export["history_sha256"], SOURCE_HEADER: export["source"]}
    name = f"audit-{export['workflow_id']}"
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(render_csv(export), media_type="text/csv", headers=headers)
    if format == "html":
        return HTMLResponse(render_html(export), headers=headers)
    response.headers.update(headers)
    return AuditExport.model_validate(export)
