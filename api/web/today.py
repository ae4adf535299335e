"""Today: the page an enrollment team opens every morning. Every open clock across the
portfolio, what needs action now first, then what is due within 7 and 30 days; filters, search,
server-side paging, and the same list as CSV and as a calendar (api/deadline_feeds.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deadline_feeds import deadlines_csv, deadlines_ics
from api.reads import MAC_JURISDICTIONS, choices, engine_of
from api.responses.deadlines import DeadlinesView
from api.routes.deadlines import STANDING
from api.temporal import now_of, settings_of
from api.web.pages import render
from api.web.session import Viewer
from api.web.today_query import EXPORT_LIMIT, PER_PAGE, TodayFilters, fetch_today
from models.application import ApplicationStatus
from models.calendar import ClockKind, EnrollmentClockKind, local_date
from models.enrollment import EnrollmentStatus
from models.forms import Form
from models.identifiers import US_STATE_CODES

router = APIRouter(prefix="/app")

MAX_PER_PAGE = 200

CLOCK_KINDS = sorted({*(k.value for k in ClockKind), *(k.value for k in EnrollmentClockKind)})
KINDS = [STANDING, *CLOCK_KINDS]
FORMS = [f.value for f in Form]
STATUSES = sorted({*(s.value for s in ApplicationStatus), *(s.value for s in EnrollmentStatus)})
WITHIN = {"7": 7, "30": 30, "90": 90, "365": 365}
BUCKETS = {
    "standing": "Needs action",
    "overdue": "Overdue",
    "week": "Within 7 days",
    "month": "Within 30 days",
    "later": "Later",
}


Text = Annotated[str | None, Query(max_length=200)]
Many = Annotated[list[str] | None, Query()]


def _filters(
    q: Text = None,
    organization: Text = None,
    mac: Many = None,
    state: Many = None,
    form: Many = None,
    status: Many = None,
    kind: Many = None,
    within: Annotated[str | None, Query(max_length=4)] = None,
) -> TodayFilters:
    """The filters of the page and of its exports, each value checked (a bad one answers 422
    naming the parameter and the values it takes); an empty value ("Any") is no filter."""
    blank = {None, ""}
    return TodayFilters(
        q=(q or "").strip() or None,
        organization_id=(organization or "").strip() or None,
        macs=tuple(choices("mac", [m for m in mac or [] if m not in blank], MAC_JURISDICTIONS)),
        states=tuple(
            choices("state", [s for s in state or [] if s not in blank], US_STATE_CODES, str.upper)
        ),
        forms=tuple(choices("form", [f for f in form or [] if f not in blank], FORMS)),
        statuses=tuple(choices("status", [s for s in status or [] if s not in blank], STATUSES)),
        kinds=tuple(choices("kind", [k for k in kind or [] if k not in blank], KINDS)),
        within_days=WITHIN[choices("within", [within], WITHIN)[0]] if within else None,
    )


Filters = Annotated[TodayFilters, Depends(_filters)]


@router.get("/today", response_class=HTMLResponse)
async def today_page(
    request: Request,
    session: Viewer,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
    after: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    settings = settings_of(request)
    today = local_date(await now_of(request), settings.default_time_zone)
    result = await asyncio.to_thread(
        fetch_today,
        engine_of(request),
        filters,
        today,
        settings.default_time_zone,
        page=page,
        per_page=per_page,
        after=after,
    )
    params = _params(filters)
    if per_page != PER_PAGE:
        params["per_page"] = per_page
    return render(
        request,
        "today.html",
        session,
        today=today,
        zone=settings.default_time_zone,
        result=result,
        f=filters,
        within=_within(filters),
        buckets=BUCKETS,
        choices={
            "mac": sorted(MAC_JURISDICTIONS),
            "state": sorted(US_STATE_CODES),
            "form": FORMS,
            "status": STATUSES,
            "kind": KINDS,
        },
        query=urlencode(params, doseq=True),
        page_link=lambda n: "/app/today?" + urlencode({**params, "page": n}, doseq=True),
        # Next follows the keyset of this page's last clock: as fast on page 1,000 as on 2.
        next_link="/app/today?"
        + urlencode(
            {**params, "page": result.page + 1, "after": result.next_after or ""}, doseq=True
        ),
    )


def _within(f: TodayFilters) -> str:
    return str(f.within_days) if f.within_days is not None else ""


def _params(f: TodayFilters) -> dict[str, Any]:
    out: dict[str, Any] = {
        "q": f.q,
        "organization": f.organization_id,
        "mac": list(f.macs),
        "state": list(f.states),
        "form": list(f.forms),
        "status": list(f.statuses),
        "kind": list(f.kinds),
        "within": _within(f),
    }
    return {k: v for k, v in out.items() if v}


async def _export(request: Request, filters: TodayFilters) -> tuple[DeadlinesView, Any]:
    settings = settings_of(request)
    now = await now_of(request)
    today = local_date(now, settings.default_time_zone)
    result = await asyncio.to_thread(
        fetch_today,
        engine_of(request),
        filters,
        today,
        settings.default_time_zone,
        page=1,
        per_page=EXPORT_LIMIT,
    )
    view = DeadlinesView(
        today=today,
        time_zone=settings.default_time_zone,
        within_days=filters.within_days,
        items=[i.deadline for i in result.items],
        truncated=result.total > EXPORT_LIMIT,
    )
    return view, now


@router.get("/today.csv")
async def today_csv(request: Request, session: Viewer, filters: Filters) -> Response:
    view, _ = await _export(request, filters)
    return Response(
        deadlines_csv(view),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="deadlines-{view.today}.csv"'},
    )


@router.get("/today.ics")
async def today_ics(request: Request, session: Viewer, filters: Filters) -> Response:
    view, now = await _export(request, filters)
    return Response(
        deadlines_ics(view, now),
        media_type="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="deadlines.ics"'},
    )
