"""The Today page's read-model query: every open clock, after every enrollment that needs action
now (stayed, deactivated, revocation pending), filtered and searched in SQL and paged on the
server, so the page costs the same with 100,000 records as with ten."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
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
    next_after: str | None = None  # the keyset of the next page (after its last clock)


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


def encode_after(d: Deadline) -> str:
    """Where a page of clocks ended, for the next page's keyset (its `after` parameter)."""
    raw = json.dumps([d.last_day.isoformat(), d.fires_at.isoformat(), d.deadline_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_after(text: str) -> tuple[date, datetime, str] | None:
    """The keyset an `after` parameter stands for; None when it is not one we issued (the page
    is then found by its number, as without one)."""
    try:
        last_day, fires_at, deadline_id = json.loads(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        )
        at = datetime.fromisoformat(fires_at)
        if at.tzinfo is None or not isinstance(deadline_id, str):
            return None
        return date.fromisoformat(last_day), at, deadline_id
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        return None


def _after(key: tuple[date, datetime, str]) -> ColumnElement[bool]:
    day, at, deadline_id = key
    last_day, fires_at, did = (
        col(DeadlineRow.last_day),
        col(DeadlineRow.fires_at),
        col(DeadlineRow.deadline_id),
    )
    return or_(
        last_day > day,
        and_(last_day == day, fires_at > at),
        and_(last_day == day, fires_at == at, did > deadline_id),
    )


def fetch_today(
    engine: Engine,
    f: TodayFilters,
    today: date,
    zone: str,
    *,
    page: int,
    per_page: int,
    after: str | None = None,
) -> TodayPage:
    """One page of the Today list: standing enrollments first (oldest first), then the clocks,
    soonest last day first. `per_page` items from item `(page - 1) * per_page`; with `after`
    (the previous page's `next_after`) a page of clocks starts after that clock instead of
    skipping `start` rows, so the thousandth page costs what the second does."""
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
        key = decode_after(after) if after and not items else None
        if with_clocks and room > 0:
            ordered = clocks.order_by(
                col(DeadlineRow.last_day), col(DeadlineRow.fires_at), col(DeadlineRow.deadline_id)
            )
            if key is not None:
                ordered = ordered.where(_after(key))
            else:
                ordered = ordered.offset(max(0, start - n_standing))
            for row, name, ptan, wtid, state, mac in s.execute(ordered.limit(room)):
                d = clock_item(row, name, today)
                items.append(TodayItem(d, bucket(d), ptan, wtid, state, mac))
    clock_items = [i for i in items if i.bucket != "standing"]
    next_after = encode_after(clock_items[-1].deadline) if clock_items else None
    return TodayPage(items, total, page, pages, next_after=next_after)
