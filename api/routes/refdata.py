"""Reference data: loading the public files the data checks compare records with (admin), and
the history of loads."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Security
from sqlalchemy.engine import Engine

from activities.reassignments import reassignment_graph
from activities.refdata import load_reference_file, reference_loads
from api.auth import ADMIN, AUTH_RESPONSES, Principal, Reader, require
from api.problems import Problem, invalid, problem_responses
from api.responses.refdata import ReassignmentGraph, ReferenceLoad, ReferenceLoadList
from api.temporal import client_of, now_of, settings_of
from models.contracts import ReferenceCheckRun
from models.identifiers import NPI
from models.refdata import ReferenceFileError, ReferenceKind
from workflows.reference_checks import start_reference_checks

router = APIRouter(prefix="/v1/refdata", tags=["refdata"], responses=AUTH_RESPONSES)

Admin = Annotated[Principal, Security(require(ADMIN))]
# The largest published file (the PPEF reassignment extract, ~3.3 M rows) is well under this.
MAX_FILE_BYTES = 2 * 1024**3


@router.post(
    "/files/{kind}",
    response_model=ReferenceLoad,
    operation_id="loadReferenceFile",
    summary="Load a public reference file (admin)",
    description=(
        "Send the file itself as the body (`text/csv`), as published: the OIG LEIE "
        "`UPDATED.csv` (`leie`), the SAM.gov exclusions extract (`sam`), the PPEF enrollment, "
        "reassignment and practice location extracts, the Order and Referring file, the "
        "Revalidation Due Date List, or the Group Practice Reassignment list. Columns are bound "
        "by header name against each file's known header versions; a drifted header is "
        "refused (422) naming the missing and unknown columns, and nothing is loaded. Loading "
        "the same file again changes nothing; the answer counts what was added, changed and "
        "removed since the last load. Needs the admin role."
    ),
    responses=problem_responses(
        {422: "The file is not the named reference file (drifted header, not CSV, empty)"}
    ),
)
async def load_reference(
    request: Request,
    kind: ReferenceKind,
    principal: Admin,
    source_date: Annotated[
        date | None,
        Query(description="The date the publisher gives the file; the load date if left out."),
    ] = None,
    file_name: Annotated[
        str | None, Query(max_length=300, description="The file's name, for the history.")
    ] = None,
) -> ReferenceLoad:
    engine: Engine = request.app.state.engine
    now = await now_of(request)
    with tempfile.TemporaryDirectory(prefix="refdata-") as tmp:
        path = Path(tmp) / "upload.csv"
        size = 0
        with path.open("wb") as out:
            # Streamed to disk: memory stays flat whatever the file's size.
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise invalid(
                        "The file is too large",
                        [{"field": "body", "reason": f"more than {MAX_FILE_BYTES} bytes"}],
                    )
                out.write(chunk)
        if size == 0:
            raise invalid(
                "Send the file as the body", [{"field": "body", "reason": "the body is empty"}]
            )
        try:
            report = await asyncio.to_thread(
                load_reference_file,
                engine,
                kind,
                path,
                actor=principal.actor,
                file_name=file_name or f"{kind.value}.csv",
                source_date=source_date or now.date(),
                now=now,
            )
        except ReferenceFileError as exc:
            raise Problem(
                422,
                "Not a readable reference file",
                str(exc),
                kind="invalid-reference-file",
                errors=[{"field": "body", "reason": str(exc)}],
            ) from None
    workflow_id = await start_reference_checks(
        client_of(request),
        settings_of(request).task_queue,
        ReferenceCheckRun(load_id=report.load_id, kind=report.kind.value),
    )
    return ReferenceLoad(**report.model_dump(), checks_workflow_id=workflow_id)


@router.get(
    "/reassignments/{npi}",
    response_model=ReassignmentGraph,
    operation_id="getReassignmentGraph",
    summary="One NPI's reassignments, from the PPEF extracts",
    description=(
        "The PECOS enrollments of the NPI, the groups they reassign benefits to (with the "
        "group's PTAN when the engine tracks it, and its practice locations), and the "
        "practitioners who reassign to its enrollments. Empty lists before the PPEF "
        "enrollment and reassignment extracts are loaded."
    ),
    responses=problem_responses({422: "Not an NPI"}),
)
async def get_reassignments(request: Request, principal: Reader, npi: NPI) -> ReassignmentGraph:
    engine: Engine = request.app.state.engine

    def read() -> dict[str, object]:
        with engine.connect() as conn:
            return reassignment_graph(conn, npi)

    return ReassignmentGraph.model_validate(await asyncio.to_thread(read))


@router.get(
    "/loads",
    response_model=ReferenceLoadList,
    operation_id="listReferenceLoads",
    summary="The history of reference-data loads, newest first",
    responses=problem_responses({422: "An unknown kind (names the kinds there are)"}),
)
async def list_loads(
    request: Request,
    principal: Reader,
    kind: Annotated[ReferenceKind | None, Query(description="Only this file.")] = None,
) -> ReferenceLoadList:
    engine: Engine = request.app.state.engine
    loads = await asyncio.to_thread(reference_loads, engine, kind)
    return ReferenceLoadList(loads=loads)
