"""The SQL baseline of `GET /v1/deadlines` that the benchmarks time the route against
(bench/read_endpoints.py, bench/scale.py): its two SELECTs, fetched with SQLAlchemy Core."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select

from models.read_model import ApplicationRow, DeadlineRow, EnrollmentRow

APP = ApplicationRow.__table__  # type: ignore[attr-defined]
DEADLINE = DeadlineRow.__table__  # type: ignore[attr-defined]
ENR = EnrollmentRow.__table__  # type: ignore[attr-defined]


def deadline_statements(until: date | None = None) -> tuple[Select[Any], Select[Any]]:
    """The route's default page (1,000 items, one more to tell it was cut) as its two SELECTs:
    the enrollments that need action now (first), then the open clocks with their record's name
    (an application's or an enrollment's), those up to `until` when it is given."""
    standing = (
        select(ENR)
        .where(ENR.c.action_since.is_not(None))
        .order_by(ENR.c.action_since, ENR.c.enrollment_id)
        .limit(1001)
    )
    clocks = (
        select(DEADLINE, APP.c.legal_name, ENR.c.legal_name)
        .outerjoin(APP, APP.c.workflow_id == DEADLINE.c.workflow_id)
        .outerjoin(ENR, ENR.c.workflow_id == DEADLINE.c.workflow_id)
        .order_by(DEADLINE.c.last_day, DEADLINE.c.fires_at, DEADLINE.c.deadline_id)
        .limit(1001)
    )
    if until is not None:
        clocks = clocks.where(DEADLINE.c.last_day <= until)
    return standing, clocks
