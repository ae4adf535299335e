"""Portfolio: where the workload bunches up. Revalidation due dates per month for the next 36
months as a bar chart, enrollments and applications counted by status and MAC, and how long
applications have sat since their last change. All from the read model, grouped in SQL."""

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
from models.calendar import add_months, local_date
from models.read_model import ApplicationRow, EnrollmentRow

router = APIRouter(prefix="/app")

MONTHS = 36
# Days since an open application's last recorded change.
AGES = ((0, 7, "under a week"), (7, 30, "1 to 4 weeks"), (30, 90, "1 to 3 months"))
OLDEST = "over 3 months"


@dataclass
class Portfolio:
    months: list[tuple[date, int]]
    enrollments: dict[tuple[str, str], int] = field(default_factory=dict)
    applications: dict[tuple[str, str], int] = field(default_factory=dict)
    ages: dict[str, int] = field(default_factory=dict)
    unbillable_days: int = 0
    enrollments_with_gaps: int = 0


def fetch_portfolio(
    engine: Engine, first_month: date, now: datetime, organization_id: str | None
) -> Portfolio:
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
        ages: dict[str, int] = {}
        for low, high, label in AGES:
            ages[label] = int(
                s.execute(
                    sql_select(func.count()).where(
                        open_apps,
                        col(ApplicationRow.updated_at) <= now - timedelta(days=low),
                        col(ApplicationRow.updated_at) > now - timedelta(days=high),
                        *org_a,
                    )
                ).scalar_one()
            )
        ages[OLDEST] = int(
            s.execute(
                sql_select(func.count()).where(
                    open_apps, col(ApplicationRow.updated_at) <= now - timedelta(days=90), *org_a
                )
            ).scalar_one()
        )
        gaps = s.execute(
            sql_select(
                func.coalesce(func.sum(col(EnrollmentRow.unbillable_days)), 0), func.count()
            ).where(col(EnrollmentRow.unbillable_days) > 0, *org_e)
        ).one()
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
        fetch_portfolio, engine_of(request), first, now.astimezone(UTC), org
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
