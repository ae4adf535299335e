"""The Today page's read-model query: every open clock, after every enrollment that needs action
now (stayed, deactivated, revocation pending), filtered and searched in SQL and paged on the
server, so the page costs the same with 100,000 records as with ten."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.responses.deadlines import Deadline
from api.routes.deadlines import STANDING
from api.routes.deadlines import _deadline as clock_item
from api.routes.deadlines import _standing as standing_item
from models.read_model import ApplicationRow, DeadlineRow, EnrollmentRow

PER_PAGE = 50
EXPORT_LIMIT = 5000
_NPI = re.compile(r"[0-9]{10}")


@dataclass(frozen=True)
class TodayFilters:
    """What the Today page filters on (each value already checked against its choices)."""

    q: str | None = None
    organization_id: str | None = None
    macs: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    within_days: int | None = None


@dataclass
class TodayItem:
    deadline: Deadline
    bucket: str  # standing, overdue, week, month, later
    ptan: str | None = None
    web_tracking_id: str | None = None
    state: str | None = None
    mac: str | None = None


@dataclass
class TodayPage:
    items: list[TodayItem]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)


def bucket(d: Deadline) -> str:
    if d.clock_kind == STANDING:
        return "standing"
    if d.days_left < 0:
        return "overdue"
    if d.days_left <= 7:
        return "week"
    if d.days_left <= 30:
        return "month"
    return "later"


def _needle(q: str) -> str:
    return f"%{q.lower().replace('%', '').replace('_', '')}%"


def _search(q: str, columns: dict[str, Any]) -> ColumnElement[bool]:
    """A provider name (any part of it, any case), an NPI, a PTAN, a Web Tracking ID, or the
    record's own id, on an enrollment row (what needs action now)."""
    if _NPI.fullmatch(q):
        return columns["npi"] == q
    return or_(
        func.lower(columns["name"]).like(_needle(q)),
        columns["ptan"] == q,
        columns["record_id"] == q,
    )


def _clock_search(q: str) -> ColumnElement[bool]:
    """The same search on the clocks: the records that match are found in their own tables
    first (a scan of one name column each), then their clocks by workflow id (indexed), rather
    than matching against every clock joined to its record (about twice as slow at 100,000)."""
    if _NPI.fullmatch(q):
        return col(DeadlineRow.npi) == q
    needle = _needle(q)
    applications = sql_select(col(ApplicationRow.workflow_id)).where(
        or_(
            func.lower(col(ApplicationRow.legal_name)).like(needle),
            col(ApplicationRow.ptan) == q,
            col(ApplicationRow.web_tracking_id) == q,
        )
    )
    enrollments = sql_select(col(EnrollmentRow.workflow_id)).where(
        or_(func.lower(col(EnrollmentRow.legal_name)).like(needle), col(EnrollmentRow.ptan) == q)
    )
    return or_(
        col(DeadlineRow.workflow_id).in_(applications),
        col(DeadlineRow.workflow_id).in_(enrollments),
        col(DeadlineRow.record_id) == q,
    )


def _clock_columns() -> dict[str, Any]:
    return {
        "name": func.coalesce(col(ApplicationRow.legal_name), col(EnrollmentRow.legal_name)),
        "ptan": func.coalesce(col(ApplicationRow.ptan), col(EnrollmentRow.ptan)),
        "web_tracking_id": col(ApplicationRow.web_tracking_id),
        "state": func.coalesce(col(ApplicationRow.state), col(EnrollmentRow.state)),
        "mac": func.coalesce(
            col(ApplicationRow.mac_jurisdiction), col(EnrollmentRow.mac_jurisdiction)
        ),
        "form": func.coalesce(col(ApplicationRow.form), col(EnrollmentRow.form)),
        "npi": col(DeadlineRow.npi),
        "record_id": col(DeadlineRow.record_id),
        "status": col(DeadlineRow.record_status),
        "organization_id": col(DeadlineRow.organization_id),
    }


def _standing_columns() -> dict[str, Any]:
    return {
        "name": col(EnrollmentRow.legal_name),
        "ptan": col(EnrollmentRow.ptan),
        "state": col(EnrollmentRow.state),
        "mac": col(EnrollmentRow.mac_jurisdiction),
        "form": col(EnrollmentRow.form),
        "npi": col(EnrollmentRow.npi),
        "record_id": col(EnrollmentRow.enrollment_id),
        "status": col(EnrollmentRow.status),
        "organization_id": col(EnrollmentRow.organization_id),
    }


def _conditions(
    f: TodayFilters, columns: dict[str, Any], search: Callable[[str], ColumnElement[bool]]
) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.q:
        out.append(search(f.q))
    if f.organization_id:
        out.append(columns["organization_id"] == f.organization_id)
    for name, values in (
        ("mac", f.macs),
        ("state", f.states),
        ("form", f.forms),
        ("status", f.statuses),
    ):
        if values:
            out.append(columns[name].in_(values))
    return out


def _clock_query(f: TodayFilters, today: date) -> Any:
    columns = _clock_columns()
    # SQLAlchemy's select: sqlmodel's takes at most four columns.
    query = (
        sql_select(
            DeadlineRow,
            columns["name"],
            columns["ptan"],
            columns["web_tracking_id"],
            columns["state"],
            columns["mac"],
        )
        .outerjoin(ApplicationRow, col(ApplicationRow.workflow_id) == col(DeadlineRow.workflow_id))
        .outerjoin(EnrollmentRow, col(EnrollmentRow.workflow_id) == col(DeadlineRow.workflow_id))
        .where(*_conditions(f, columns, _clock_search))
    )
    kinds = [k for k in f.kinds if k != STANDING]
    if f.kinds:
        query = query.where(col(DeadlineRow.clock_kind).in_(kinds))
    if f.within_days is not None:
        query = query.where(col(DeadlineRow.last_day) <= today + timedelta(days=f.within_days))
    return query


def _standing_query(f: TodayFilters) -> Any:
    columns = _standing_columns()
    return select(EnrollmentRow).where(
        col(EnrollmentRow.action_since).is_not(None),
        *_conditions(f, columns, lambda q: _search(q, columns)),
    )


def _clock_count_query(f: TodayFilters, today: date) -> Any:
    """The clocks' count: without the joins to the record tables when no filter reads them
    (the count is most of a first page's cost at 100,000 records)."""
    if f.states or f.macs or f.forms:
        return _clock_query(f, today)
    query = sql_select(col(DeadlineRow.deadline_id)).where(
        *_conditions(f, _clock_columns(), _clock_search)
    )
    kinds = [k for k in f.kinds if k != STANDING]
    if f.kinds:
        query = query.where(col(DeadlineRow.clock_kind).in_(kinds))
    if f.within_days is not None:
        query = query.where(col(DeadlineRow.last_day) <= today + timedelta(days=f.within_days))
    return query


def _count(s: Session, query: Any) -> int:
    return int(s.execute(sql_select(func.count()).select_from(query.subquery())).scalar_one())


def fetch_today(
    engine: Engine, f: TodayFilters, today: date, zone: str, *, page: int, per_page: int
) -> TodayPage:
    """One page of the Today list: standing enrollments first (oldest first), then the clocks,
    soonest last day first. `per_page` items from item `(page - 1) * per_page`."""
    with_standing = not f.kinds or STANDING in f.kinds
    with_clocks = not f.kinds or any(k != STANDING for k in f.kinds)
    clocks = _clock_query(f, today)
    standing = _standing_query(f)
    with Session(engine) as s:
        n_standing = _count(s, standing) if with_standing else 0
        n_clocks = _count(s, _clock_count_query(f, today)) if with_clocks else 0
        total = n_standing + n_clocks
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        start = (page - 1) * per_page
        items: list[TodayItem] = []
        if with_standing and start < n_standing:
            rows = s.exec(
                standing.order_by(col(EnrollmentRow.action_since), col(EnrollmentRow.enrollment_id))
                .offset(start)
                .limit(per_page)
            )
            for e in rows:
                d = standing_item(e, today, zone)
                items.append(TodayItem(d, "standing", e.ptan, None, e.state, e.mac_jurisdiction))
        room = per_page - len(items)
        if with_clocks and room > 0:
            found = s.execute(
                clocks.order_by(
                    col(DeadlineRow.last_day),
                    col(DeadlineRow.fires_at),
                    col(DeadlineRow.deadline_id),
                )
                .offset(max(0, start - n_standing))
                .limit(room)
            )
            for row, name, ptan, wtid, state, mac in found:
                d = clock_item(row, name, today)
                items.append(TodayItem(d, bucket(d), ptan, wtid, state, mac))
    return TodayPage(items, total, page, pages)
