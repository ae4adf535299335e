"""Portfolio: where the workload bunches up. Revalidation due dates per month for the next 36
months as a bar chart, enrollments and applications counted by status and MAC, open applications
by how long they have been in their current status, and the unbillable days of the last 12
months. All from the read model, grouped in SQL (the few enrollments with a billing gap are
summed here: only the part of each gap inside the 12 months counts)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from api.reads import engine_of
from api.temporal import now_of, settings_of
from api.web.pages import render
from api.web.session import Viewer
from api.web.svg import Bar, bar_chart_svg
from models.application.status import FINAL_STATUSES
from models.calendar import add_days, add_months, local_date
from models.read_model import ApplicationRow, EnrollmentRow, parse_billing_gaps

router = APIRouter(prefix="/app")

MONTHS = 36
# Days an open application has been in its current status (read-model status_since).
AGES = ((0, 7, "under a week"), (7, 30, "1 to 4 weeks"), (30, 90, "1 to 3 months"))
OLDEST = "over 3 months"
# Rows projected before status_since existed (revision 0004) until their next projection.
UNKNOWN_AGE = "not known yet"


@dataclass
class Portfolio:
    months: list[tuple[date, int]]
    enrollments: dict[tuple[str, str], int] = field(default_factory=dict)
    applications: dict[tuple[str, str], int] = field(default_factory=dict)
    ages: dict[str, int] = field(default_factory=dict)
    unbillable_days: int = 0
    enrollments_with_gaps: int = 0
    # The same, counting only the days of each gap inside the last 12 months.
    gap_days_12_months: int = 0
    enrollments_with_gaps_12_months: int = 0
    gap_window: tuple[date, date] | None = None


def gap_days_within(gaps: list[tuple[date, date]], first: date, last: date) -> int:
    """The days of `gaps` (each first and last day, inclusive) that fall in [first, last]."""
    return sum(max(0, (min(b, last) - max(a, first)).days + 1) for a, b in gaps)


def fetch_portfolio(
    engine: Engine,
    first_month: date,
    now: datetime,
    organization_id: str | None,
    today: date | None = None,
) -> Portfolio:
    """`today` (the portfolio's own zone) dates the ages and the 12 months of gaps."""
    today = today or now.date()
    end = add_months(first_month, MONTHS)
    due = col(EnrollmentRow.revalidation_due_date)
    org_e = [col(EnrollmentRow.organization_id) == organization_id] if organization_id else []
    org_a = [col(ApplicationRow.organization_id) == organization_id] if organization_id else []
    open_apps = col(ApplicationRow.status).not_in([s.value for s in FINAL_STATUSES])
    with Session(engine) as s:
        # Grouped by day (both databases agree on that), summed by month here.
        by_day = s.execute(
            sql_select(due, func.count()).where(due >= first_month, due < end, *org_e).group_by(due)
        ).all()
        enrollments = s.execute(
            sql_select(col(EnrollmentRow.status), col(EnrollmentRow.mac_jurisdiction), func.count())
            .where(*org_e)
            .group_by(col(EnrollmentRow.status), col(EnrollmentRow.mac_jurisdiction))
        ).all()
        applications = s.execute(
            sql_select(
                col(ApplicationRow.status), col(ApplicationRow.mac_jurisdiction), func.count()
            )
            .where(*org_a)
            .group_by(col(ApplicationRow.status), col(ApplicationRow.mac_jurisdiction))
        ).all()
        since = col(ApplicationRow.status_since)
        ages: dict[str, int] = {}
        for low, high, label in AGES:
            ages[label] = int(
                s.execute(
                    sql_select(func.count()).where(
                        open_apps,
                        since <= today - timedelta(days=low),
                        since > today - timedelta(days=high),
                        *org_a,
                    )
                ).scalar_one()
            )
        ages[OLDEST] = int(
            s.execute(
                sql_select(func.count()).where(
                    open_apps, since <= today - timedelta(days=90), *org_a
                )
            ).scalar_one()
        )
        unknown = int(
            s.execute(
                sql_select(func.count()).where(open_apps, since.is_(None), *org_a)
            ).scalar_one()
        )
        if unknown:
            ages[UNKNOWN_AGE] = unknown
        gaps = s.execute(
            sql_select(
                func.coalesce(func.sum(col(EnrollmentRow.unbillable_days)), 0), func.count()
            ).where(col(EnrollmentRow.unbillable_days) > 0, *org_e)
        ).one()
        with_gaps = s.execute(
            sql_select(col(EnrollmentRow.billing_gaps)).where(
                col(EnrollmentRow.billing_gaps).is_not(None), *org_e
            )
        ).scalars()
        window = (add_days(add_months(today, -12), 1), today)
        in_window = [gap_days_within(parse_billing_gaps(g), *window) for g in with_gaps]
    per_month: Counter[date] = Counter()
    for day, n in by_day:
        per_month[day.replace(day=1)] += int(n)
    return Portfolio(
        months=[(m, per_month[m]) for m in (add_months(first_month, i) for i in range(MONTHS))],
        enrollments={(st, mac or "—"): int(n) for st, mac, n in enrollments},
        applications={(st, mac or "—"): int(n) for st, mac, n in applications},
        ages=ages,
        unbillable_days=int(gaps[0]),
        enrollments_with_gaps=int(gaps[1]),
        gap_days_12_months=sum(in_window),
        enrollments_with_gaps_12_months=sum(1 for n in in_window if n),
        gap_window=window,
    )


def _table(counts: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Counts as a status x MAC table, with totals."""
    statuses = sorted({st for st, _ in counts})
    macs = sorted({mac for _, mac in counts})
    return {
        "statuses": statuses,
        "macs": macs,
        "cell": lambda st, mac: counts.get((st, mac), 0),
        "row_total": {st: sum(n for (s, _), n in counts.items() if s == st) for st in statuses},
        "col_total": {m: sum(n for (_, mac), n in counts.items() if mac == m) for m in macs},
        "total": sum(counts.values()),
    }


@router.get("/portfolio", response_class=HTMLResponse)
async def portfolio_page(
    request: Request,
    session: Viewer,
    organization: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    settings = settings_of(request)
    now = await now_of(request)
    today = local_date(now, settings.default_time_zone)
    first = today.replace(day=1)
    org = (organization or "").strip() or None
    data = await asyncio.to_thread(
        fetch_portfolio, engine_of(request), first, now.astimezone(UTC), org, today
    )
    bars = [
        Bar(
            m.strftime("%Y-%m"),
            n,
            f"{m.strftime('%B %Y')}: {n} revalidation{'s' if n != 1 else ''} due",
        )
        for m, n in data.months
    ]
    return render(
        request,
        "portfolio.html",
        session,
        organization=org or "",
        data=data,
        chart=bar_chart_svg(
            bars,
            title=f"Revalidations due per month, {bars[0].label} to {bars[-1].label}",
        ),
        enrollments=_table(data.enrollments),
        applications=_table(data.applications),
    )
