"""Roster imports: many existing enrollments at once, with the CMS Revalidation Due Date List."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import AfterValidator, ConfigDict, Field, ValidationError, field_validator
from temporalio.client import Client
from temporalio.service import RPCError

from api.auth import AUTH_RESPONSES, Principal, Writer
from api.bodies import (
    DUE_DATES_CSV_FORMAT,
    ROSTER_CSV_FORMAT,
    OperatorBody,
    TimeZoneName,
    csv_text,
)
from api.import_projection import ProvisionalRows, first_state
from api.problems import Problem, field_errors, invalid, problem_responses
from api.reads import engine_of
from api.records import identity_differences, query_enrollment, start_enrollment
from api.responses.imports import (
    OUTCOMES,
    DueDatesMatch,
    ImportCounts,
    ImportedRow,
    ImportReport,
    ValueDifference,
)
from api.temporal import client_of, now_of, settings_of
from models.calendar import validate_time_zone
from models.enrollment import EnrollmentStart, EnrollmentState, standing
from models.identifiers import OrganizationId
from models.records import Reason
from models.roster import RosterFileError, RosterRow, parse_roster
from models.text import check_paragraph
from workflows.patches import CURRENT_GENERATION

router = APIRouter(prefix="/v1/imports", tags=["imports"], responses=AUTH_RESPONSES)

# Workflow starts (and queries of existing ones) in flight at once.
CONCURRENCY = 16
MAX_ROSTER_CHARS = 10_000_000
MAX_DUE_DATES_CHARS = 50_000_000

ROSTER_EXAMPLE = (
    "enrollment_id,npi,ptan,form,state,effective_date,provider_type\n"
    "I20031103000001,1234567893,00G577550,CMS-855I,FL,04/01/2023,PRACTITIONER - FAMILY PRACTICE\n"
)
DUE_DATES_EXAMPLE = (
    "Enrollment ID,National Provider Identifier,First Name,Last Name,Organization Name,"
    "Enrollment State Code,Enrollment Type,Provider Type Text,Enrollment Specialty,"
    "Revalidation Due Date,Adjusted Due Date,Individual Total Reassign To,"
    "Receiving Benefits Reassignment\n"
    "I20031103000001,1234567893,JANE,DOE,,FL,Individual,Physician,Family Practice,"
    "04/30/2028,,1,0\n"
)


RosterCsv = Annotated[
    str,
    AfterValidator(check_paragraph),
    Field(
        json_schema_extra=csv_text(
            ROSTER_CSV_FORMAT,
            "The roster as CSV text. Columns by header name (case and spaces do not matter, "
            "extra columns are ignored): enrollment_id, npi, ptan, form, state, effective_date "
            "(required); organization_id, provider_type, revalidation_due_date, legal_name (or "
            "name, provider_name) (optional). Dates MM/DD/YYYY or YYYY-MM-DD.",
        )
    ),
]
DueDatesCsv = Annotated[
    str,
    AfterValidator(check_paragraph),
    Field(
        json_schema_extra=csv_text(
            DUE_DATES_CSV_FORMAT,
            "Optional: the CMS Revalidation Due Date List (data.cms.gov) as CSV text, joined "
            "on 'Enrollment ID'. 'Adjusted Due Date' wins over 'Revalidation Due Date'; 'TBD' "
            "means not yet posted; rows of enrollments not in the roster are ignored.",
        )
    ),
]


class ImportBody(OperatorBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "roster_csv": ROSTER_EXAMPLE,
                    "due_dates_csv": DUE_DATES_EXAMPLE,
                    "organization_id": "sunrise-medical-group",
                    "reason": "onboarding the team spreadsheet",
                }
            ]
        },
    )

    roster_csv: RosterCsv = Field(min_length=1, max_length=MAX_ROSTER_CHARS)
    due_dates_csv: DueDatesCsv | None = Field(default=None, max_length=MAX_DUE_DATES_CHARS)
    organization_id: OrganizationId | None = Field(
        default=None, description="For roster rows without an organization_id column value."
    )
    time_zone: TimeZoneName | None = None
    reason: Reason = "roster import"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        return None if v is None else validate_time_zone(v)


@router.post(
    "",
    operation_id="importRoster",
    summary="Import a roster of existing enrollments (and the CMS due-date list)",
    description=(
        "Needs the operator or admin role. Send JSON with the files' **text**: `roster_csv` "
        "and optionally `due_dates_csv` (the CMS Revalidation Due Date List), e.g. "
        "`jq -n --rawfile r roster.csv --rawfile d due.csv '{roster_csv: $r, due_dates_csv: $d}'`"
        ". Every good row starts (or finds) one enrollment workflow, idempotently and at most "
        f"{CONCURRENCY} at a time; bad rows are reported with their line number (the header is "
        "line 1), column and reason while the good rows proceed. Per-row `outcome`: `created`; "
        "`past_due` (created, but its due date has passed: stayed or deactivated; `detail` says "
        "since when and what to do, and the deadlines list shows it first); "
        "`unchanged` (already imported with the same data); `due_date_differs` (already "
        "imported, and the due date given differs from the workflow's: reported, not changed; "
        "record revalidation_notice_received with data.due_date to change it); `conflict` (the "
        "enrollment id exists with another NPI, PTAN, form, state, organization or effective "
        "date); `failed` (Temporal did not answer; re-run the import, it is idempotent). "
        "Answers 200 whenever the files could be read; 422 names the file that could not."
    ),
    responses=problem_responses(
        {422: "Malformed request, or a file cannot be read (e.g. a required column is missing)"}
    ),
)
async def import_roster(
    request: Request, principal: Writer, body: Annotated[ImportBody, Body()]
) -> ImportReport:
    return await run_import(request, principal, body)


async def run_import(
    request: Request,
    principal: Principal,
    body: ImportBody,
    on_row: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """The import behind POST /v1/imports (and the web app's Import page, which passes
    `on_row` to show progress: called with (rows done, good rows) as each row's workflow
    answers)."""
    settings = settings_of(request)
    organization_id = body.organization_id or settings.default_organization
    try:
        parsed = await asyncio.to_thread(
            parse_roster, body.roster_csv, body.due_dates_csv, organization_id=organization_id
        )
    except RosterFileError as exc:
        name = "roster_csv" if exc.file == "roster" else "due_dates_csv"
        raise invalid(str(exc), [{"field": name, "reason": str(exc)}]) from None
    client = client_of(request)
    limit = asyncio.Semaphore(CONCURRENCY)
    now = await now_of(request)
    done = 0
    provisional = ProvisionalRows(engine_of(request))

    async def one(row: RosterRow) -> ImportedRow:
        async with limit:
            result, started = await _import_row(
                client,
                settings.task_queue,
                row,
                time_zone=body.time_zone or settings.default_time_zone,
                actor=principal.actor,
                reason=body.reason,
                now=now,
            )
        if started is not None:
            await provisional.add(started)
        nonlocal done
        done += 1
        if on_row is not None:
            on_row(done, len(parsed.rows))
        return result

    results = await asyncio.gather(*(one(row) for row in parsed.rows))
    await provisional.flush()
    counts = {outcome: 0 for outcome in OUTCOMES}
    for result in results:
        counts[result.outcome] += 1
    return ImportReport(
        counts=ImportCounts(
            rows=parsed.data_rows,
            good_rows=len(parsed.rows),
            bad_rows=len({p.row for p in parsed.problems}),
            problems=len(parsed.problems),
            **counts,
        ),
        results=sorted(results, key=lambda r: r.row),
        problems=parsed.problems,
        due_dates=DueDatesMatch(rows=parsed.due_dates_rows, matched=parsed.due_dates_matched)
        if body.due_dates_csv
        else None,
    )


async def _import_row(
    client: Client,
    task_queue: str,
    row: RosterRow,
    *,
    time_zone: str,
    actor: str,
    reason: str,
    now: datetime,
) -> tuple[ImportedRow, EnrollmentState | None]:
    """The row's outcome, and the first state of the enrollment it started (None: none)."""
    result = ImportedRow(
        row=row.row,
        enrollment_id=row.start["enrollment_id"],
        outcome="failed",
        revalidation_due_date=row.start.get("revalidation_due_date"),
        due_date_source=row.due_date_source,
        notes=list(row.notes),
    )
    try:
        start = EnrollmentStart.model_validate(
            {
                **row.start,
                "time_zone": time_zone,
                "actor": actor,
                "reason": reason,
                "generation": CURRENT_GENERATION,
            }
        )
    except ValidationError as exc:  # parse_roster checked the row: only the body's values left
        result.detail = "; ".join(
            f"{e['field']}: {e['reason']}" for e in field_errors(exc.errors(include_input=False))
        )
        return result, None
    try:
        if await start_enrollment(client, task_queue, start):
            result.outcome = "created"
            # Where the new enrollment stands once its clocks are settled: the same pure code
            # the workflow runs.
            state = first_state(start, now)
            past = standing(state)
            if past is not None:
                result.outcome = "past_due"
                result.status = past.status
                result.detail = f"Past due: {past.summary}. {past.action}"
            return result, state
        existing = await query_enrollment(client, start.enrollment_id)
    except (RPCError, Problem) as exc:
        result.detail = f"Temporal did not answer ({exc}); re-run the import"
        return result, None
    current = existing.revalidation_due_date
    result.current_revalidation_due_date = current
    result.status = existing.status.value
    differences = identity_differences(existing, start)
    if differences:
        result.outcome = "conflict"
        result.differences = {
            name: ValueDifference.model_validate(d) for name, d in differences.items()
        }
        result.detail = (
            f"Enrollment {start.enrollment_id} already exists with other data: "
            + "; ".join(
                f"{name} {d['existing']} (existing) vs {d['sent']} (roster)"
                for name, d in differences.items()
            )
            + ". Check the roster line against PECOS."
        )
    elif start.revalidation_due_date is not None and start.revalidation_due_date != current:
        result.outcome = "due_date_differs"
        result.detail = (
            f"The workflow's revalidation due date is {current or 'none'}; the "
            f"{'CMS list' if (row.due_date_source or '').startswith('cms') else 'roster'} says "
            f"{start.revalidation_due_date}. Not changed: record revalidation_notice_received "
            "with data.due_date if the new date is right."
        )
    else:
        result.outcome = "unchanged"
    return result, None
