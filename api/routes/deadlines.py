"""Deadlines: every open regulatory clock across all workflows, soonest first, after every
enrollment that is stayed, deactivated or about to be revoked (what to do about each).

The screen an operator opens every morning. Served from the read model's deadline table, which
each workflow's projection replaces whenever its clocks change, and its enrollment table."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, Security
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.auth import AUTH_RESPONSES, READ_ROLES, require
from api.deadline_feeds import deadlines_csv, deadlines_ics
from api.problems import problem_responses
from api.reads import choices, engine_of, one_of
from api.responses.deadlines import Deadline, DeadlineRecord, DeadlineRule, DeadlinesView
from api.temporal import now_of, settings_of
from models.calendar import ClockKind, EnrollmentClockKind, local_date, start_of_day
from models.read_model import ApplicationRow, DeadlineRow, EnrollmentRow

# The kind of the items that are not clocks: an enrollment that needs action now.
STANDING = "standing"

router = APIRouter(
    prefix="/v1/deadlines",
    tags=["deadlines"],
    dependencies=[Security(require(*READ_ROLES))],
    responses={
        **AUTH_RESPONSES,
        **problem_responses({422: "A bad parameter (names it and the values it accepts)"}),
    },
)

# Every clock kind the deadlines screen lists, and `standing`.
KINDS = [*(k.value for k in ClockKind), *(k.value for k in EnrollmentClockKind), STANDING]

MAX_WITHIN_DAYS = 3650
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000


@router.get(
    "",
    operation_id="listDeadlines",
    response_model=DeadlinesView,
    summary="Every open clock, soonest last day first, each explaining itself",
    description=(
        "First every enrollment that is stayed, deactivated or revocation pending (kind "
        "`standing`, oldest first: `last_day` is the day it began, `action` says what to do); "
        "then every open clock, soonest last day first. "
        "`days_left` counts from today in the engine's default time zone (0 = the last day is "
        "today; negative = the day has passed and the consequence is due). `within_days` keeps "
        "the clocks whose last day is at most that many days from today (overdue ones "
        "included); without it every open clock is listed. `kind` keeps those kinds (a clock "
        "kind, or `standing`). `format=csv` answers the same list as a spreadsheet (text/csv, "
        "one row per item), `format=ics` as an iCalendar feed (text/calendar: an all-day event "
        "on each item's last day, its UID the deadline id; no provider names)."
    ),
    responses={
        200: {
            "description": "The open clocks (JSON, CSV or iCalendar by `format`)",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/calendar": {"schema": {"type": "string"}},
            },
        }
    },
)
async def list_deadlines(
    request: Request,
    within_days: Annotated[int | None, Query(ge=0, le=MAX_WITHIN_DAYS)] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[
        list[str] | None,
        Query(description="Clock kind; may be repeated", json_schema_extra=one_of(KINDS)),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    format: Annotated[
        Literal["json", "csv", "ics"], Query(description="json, csv or ics (iCalendar)")
    ] = "json",
) -> Any:
    kinds = choices("kind", kind, KINDS)
    settings = settings_of(request)
    now = await now_of(request)
    today = local_date(now, settings.default_time_zone)

    standing = select(EnrollmentRow).where(col(EnrollmentRow.action_since).is_not(None))
    if organization_id is not None:
        standing = standing.where(col(EnrollmentRow.organization_id) == organization_id)
    standing = standing.order_by(
        col(EnrollmentRow.action_since), col(EnrollmentRow.enrollment_id)
    ).limit(limit + 1)
    query = (
        select(DeadlineRow, ApplicationRow.legal_name, EnrollmentRow.legal_name)
        .outerjoin(ApplicationRow, col(ApplicationRow.workflow_id) == col(DeadlineRow.workflow_id))
        .outerjoin(EnrollmentRow, col(EnrollmentRow.workflow_id) == col(DeadlineRow.workflow_id))
    )
    if within_days is not None:
        query = query.where(col(DeadlineRow.last_day) <= today + timedelta(days=within_days))
    if organization_id is not None:
        query = query.where(col(DeadlineRow.organization_id) == organization_id)
    if kinds:
        query = query.where(col(DeadlineRow.clock_kind).in_(kinds))
    query = query.order_by(
        col(DeadlineRow.last_day), col(DeadlineRow.fires_at), col(DeadlineRow.deadline_id)
    ).limit(limit + 1)

    def fetch(engine: Engine) -> tuple[list[EnrollmentRow], list[tuple[DeadlineRow, str | None]]]:
        with Session(engine) as s:
            attention = list(s.exec(standing)) if not kinds or STANDING in kinds else []
            clocks = [(d, app or enr) for d, app, enr in s.exec(query)]
            return attention, clocks

    attention, rows = await asyncio.to_thread(fetch, engine_of(request))
    zone = settings.default_time_zone
    items = [_standing(e, today, zone) for e in attention]
    items += [_deadline(d, name, today) for d, name in rows]
    view = DeadlinesView(
        today=today,
        time_zone=zone,
        within_days=within_days,
        items=items[:limit],
        truncated=len(items) > limit,
    )
    if format == "csv":
        return Response(
            deadlines_csv(view),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="deadlines-{today}.csv"'},
        )
    if format == "ics":
        return Response(
            deadlines_ics(view, now),
            media_type="text/calendar",
            headers={"Content-Disposition": 'attachment; filename="deadlines.ics"'},
        )
    return view


def _standing(e: EnrollmentRow, today: date, zone: str) -> Deadline:
    """An enrollment that needs action now, as the first items of the screen."""
    since = e.action_since or today
    return Deadline(
        deadline_id=f"{e.workflow_id}/{STANDING}",
        last_day=since,
        days_left=(since - today).days,
        fires_at=start_of_day(since, zone),
        clock_kind=STANDING,
        explanation=e.action_required or "",
        action=e.action_required,
        rule=None,
        started_on=since,
        record=DeadlineRecord(
            kind="enrollment",
            id=e.enrollment_id,
            status=e.status,
            workflow_id=e.workflow_id,
            legal_name=e.legal_name,
        ),
        organization_id=e.organization_id,
        npi=e.npi,
    )


def _deadline(d: DeadlineRow, legal_name: str | None, today: date) -> Deadline:
    return Deadline(
        deadline_id=d.deadline_id,
        last_day=d.last_day,
        days_left=(d.last_day - today).days,
        fires_at=d.fires_at,
        clock_kind=d.clock_kind,
        explanation=d.explanation,
        rule=DeadlineRule(key=d.rule_key, citation=d.rule_citation, version=d.rule_version),
        started_on=d.started_on,
        record=DeadlineRecord(
            kind=d.record_kind,
            id=d.record_id,
            status=d.record_status,
            workflow_id=d.workflow_id,
            legal_name=legal_name,
        ),
        organization_id=d.organization_id,
        npi=d.npi,
    )
