"""Import: upload a roster CSV (and the CMS Revalidation Due Date List), see what each row did
and the row-level problems, and download the problems as CSV. Goes through POST /v1/imports'
route function (api/routes/imports.py): the same parsing, idempotent starts and outcomes."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.problems import Problem
from api.routes.imports import MAX_DUE_DATES_CHARS, MAX_ROSTER_CHARS, ImportBody, run_import
from api.web.pages import HEADERS, render
from api.web.session import Editor, Viewer, WebSession

router = APIRouter(prefix="/app")

PROBLEM_COLUMNS = ("file", "line", "column", "enrollment_id", "reason")
COLUMNS = (
    ("enrollment_id", True, "PECOS Enrollment ID (ENRLMT_ID), e.g. I20031103000001"),
    ("npi", True, "10 digits, with a valid check digit"),
    ("ptan", True, "The Medicare billing number"),
    ("form", True, "CMS-855I, CMS-855B, CMS-855A, CMS-855S, ..."),
    ("state", True, "Two-letter state code of the enrollment"),
    ("effective_date", True, "MM/DD/YYYY or YYYY-MM-DD"),
    ("organization_id", False, "Else the organisation chosen below"),
    ("provider_type", False, "As PECOS spells it"),
    ("revalidation_due_date", False, "Else the CMS list's, else computed"),
    ("legal_name", False, "Or name, provider_name: shown beside the NPI"),
)


def _page(
    request: Request, session: WebSession, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.setdefault("report", None)
    context.setdefault("running", False)
    context.setdefault("error", None)
    context.setdefault("problems_csv", "")
    return render(
        request, "import.html", session, status_code=status_code, columns=COLUMNS, **context
    )


@router.get("/import", response_class=HTMLResponse)
async def import_form(request: Request, session: Viewer) -> HTMLResponse:
    return _page(request, session)


async def _text(upload: Any, limit: int, name: str) -> str | None:
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    raw = await upload.read(limit * 4 + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Problem(
            422, "Cannot read the file", f"{name} is not UTF-8 text.", kind="unreadable-file"
        ) from None
    return text


def problems_csv(problems: list[Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PROBLEM_COLUMNS)
    for p in problems:
        writer.writerow([p.file, p.row, p.column or "", p.enrollment_id or "", p.reason])
    return out.getvalue()


PROGRESS_MARK = "<!--progress-->"
PROGRESS_STEPS = 20  # at most this many progress lines, whatever the roster's size


@router.post("/import", response_class=HTMLResponse)
async def import_upload(request: Request, session: Editor) -> Response:
    """The import, through POST /v1/imports' own function. Once its first row has answered,
    the page streams: the top of the page, a line as every twentieth of the rows is done, then
    the outcome (a roster that cannot be read, or has no good row, answers at once)."""
    form = await request.form()
    organization = str(form.get("organization") or "").strip() or None
    reason = str(form.get("reason") or "").strip() or "roster import from the web app"
    try:
        roster = await _text(form.get("roster"), MAX_ROSTER_CHARS, "The roster")
        due = await _text(form.get("due_dates"), MAX_DUE_DATES_CHARS, "The due-date list")
        if roster is None:
            raise Problem(
                422, "No roster", "Choose a roster CSV file to upload.", kind="invalid-request"
            )
        body = ImportBody(
            roster_csv=roster, due_dates_csv=due, organization_id=organization, reason=reason
        )
    except ValidationError as exc:
        error = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _page(request, session, 422, error=error)
    except Problem as p:
        return _page(request, session, p.status, error=p.detail)

    progress: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()
    outcome: dict[str, Any] = {}

    def on_row(done: int, total: int) -> None:
        step = -(-total // PROGRESS_STEPS)  # rounded up: at most PROGRESS_STEPS + 2 lines
        if done == 1 or done == total or done % step == 0:
            progress.put_nowait((done, total))

    async def run() -> None:
        try:
            outcome["report"] = await run_import(request, session.principal, body, on_row)
        except Problem as p:
            outcome["problem"] = p
        finally:
            progress.put_nowait(None)

    task = asyncio.create_task(run())
    first = await progress.get()
    if first is None:  # finished (or refused) before a single row: one page, its own status
        await task
        return _finished(request, session, outcome)

    async def stream() -> AsyncIterator[str]:
        head = bytes(_page(request, session, running=True).body).decode()
        yield head.split(PROGRESS_MARK)[0]
        line: tuple[int, int] | None = first
        while line is not None:
            yield f"<li>{line[0]:,} of {line[1]:,} rows imported</li>\n"
            line = await progress.get()
        await task
        tail = bytes(_finished(request, session, outcome, running=True).body).decode()
        yield tail.split(PROGRESS_MARK, 1)[1]

    return StreamingResponse(stream(), media_type="text/html; charset=utf-8", headers=HEADERS)


def _finished(
    request: Request, session: WebSession, outcome: dict[str, Any], running: bool = False
) -> HTMLResponse:
    problem = outcome.get("problem")
    if isinstance(problem, Problem):
        return _page(request, session, problem.status, error=problem.detail, running=running)
    report = outcome["report"]
    return _page(
        request,
        session,
        report=report,
        running=running,
        problems_csv=problems_csv(report.problems) if report.problems else "",
        attention=[r for r in report.results if r.outcome not in ("created", "unchanged")],
    )


@router.post("/import/problems.csv")
async def download_problems(request: Request, session: Editor) -> Response:
    """The problems of the import just shown, as the page sent them back (nothing is kept on
    the server between the upload and the download)."""
    form = await request.form()
    text = str(form.get("problems") or "")
    if not text.startswith(",".join(PROBLEM_COLUMNS)):
        raise Problem(
            422,
            "Not an import's problems",
            "Download from the import page.",
            kind="invalid-request",
        )
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="import-problems.csv"'},
    )
