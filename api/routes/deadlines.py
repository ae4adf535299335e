"""Deadlines: every open regulatory clock across all workflows, soonest first.

The screen an operator opens every morning. Served from the read model's deadline table, which
each workflow's projection replaces whenever its clocks change."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Security
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.auth import AUTH_RESPONSES, READ_ROLES, require
from api.problems import problem_responses
from api.reads import choices, engine_of
from api.responses.deadlines import Deadline, DeadlineRecord, DeadlineRule, DeadlinesView
from api.temporal import now_of, settings_of
from models.calendar import ClockKind, local_date
from models.read_model import ApplicationRow, DeadlineRow

router = APIRouter(
    prefix="/v1/deadlines",
    tags=["deadlines"],
    dependencies=[Security(require(*READ_ROLES))],
    responses={
        **AUTH_RESPONSES,
        **problem_responses({422: "A bad parameter (names it and the values it accepts)"}),
    },
)

MAX_WITHIN_DAYS = 3650
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000


@router.get(
    "",
    operation_id="listDeadlines",
    summary="Every open clock, soonest last day first, each explaining itself",
    description=(
        "`days_left` counts from today in the engine's default time zone (0 = the last day is "
        "today; negative = the day has passed and the consequence is due). `within_days` keeps "
        "the clocks whose last day is at most that many days from today (overdue ones "
        "included); without it every open clock is listed."
    ),
)
async def list_deadlines(
    request: Request,
    within_days: Annotated[int | None, Query(ge=0, le=MAX_WITHIN_DAYS)] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[list[str] | None, Query(description="Clock kind; may be repeated")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DeadlinesView:
    kinds = choices("kind", kind, (k.value for k in ClockKind))
    settings = settings_of(request)
    today = local_date(await now_of(request), settings.default_time_zone)

    query = select(DeadlineRow, ApplicationRow.legal_name).outerjoin(
        ApplicationRow, col(ApplicationRow.workflow_id) == col(DeadlineRow.workflow_id)
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

    def fetch(engine: Engine) -> list[tuple[DeadlineRow, str | None]]:
        with Session(engine) as s:
            return [(d, name) for d, name in s.exec(query)]

    rows = await asyncio.to_thread(fetch, engine_of(request))
    return DeadlinesView(
        today=today,
        time_zone=settings.default_time_zone,
        within_days=within_days,
        items=[_deadline(d, name, today) for d, name in rows[:limit]],
        truncated=len(rows) > limit,
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
