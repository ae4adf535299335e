"""The read-model rows of the enrollments an import has just started, written by the import in
bulk as their workflows start.

Each new enrollment workflow projects itself once it has run its first task; on a roster of
thousands the worker reaches the last ones minutes later (issue 22: 10,000 rows took 315-390 s
to be listed). The import already knows every row's first state: it is the pure code the
workflow runs (`new_enrollment`, then the clocks due at once), so it writes the same projection
right away, a few hundred rows per transaction.

The workflow stays the owner of its rows. A provisional row carries the seq of the workflow's
first projection, which therefore replaces it (the projection writes when its seq is not older),
and a row the workflow wrote first is never touched (insert or nothing). The two differ only in
`created_at`/`updated_at` (the import's clock, not the workflow's first task's) until then
(tests/integration/test_imports.py). A read model that cannot be written loses nothing: the
import goes on and the workflows project themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import insert as insert_rows
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from activities.database import session
from activities.projection import deadline_values
from models.enrollment import EnrollmentStart, EnrollmentState, fire_due_clocks, new_enrollment
from models.read_model import (
    DeadlineRow,
    EnrollmentProjection,
    EnrollmentRow,
    enrollment_projection,
)

# Rows per transaction: one statement for the rows, one for their deadlines.
BATCH = 250
_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
ENROLLMENT = EnrollmentRow.__table__  # type: ignore[attr-defined]
DEADLINE = DeadlineRow.__table__  # type: ignore[attr-defined]

log = structlog.get_logger("imports")


def first_state(start: EnrollmentStart, now: datetime) -> EnrollmentState:
    """The state a new enrollment workflow settles in on its first task (workflows/
    enrollment.py): its initial state, with the clocks already due fired."""
    state = new_enrollment(start, now)
    # What workflow.patched("revocation-appeals") answers in every run started since the patch.
    state.revocation_appeals = True
    return fire_due_clocks(state, now).state


def write_provisional(engine: Engine, projections: Sequence[EnrollmentProjection]) -> int:
    """Insert the rows no projection wrote yet, with their deadlines; returns how many."""
    if not projections:
        return 0
    insert = _INSERTS[engine.dialect.name]
    rows = [{**p.row.model_dump(), "projected_seq": p.seq} for p in projections]
    statement = (
        insert(ENROLLMENT)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["enrollment_id"])
        .returning(ENROLLMENT.c.enrollment_id)
    )
    with session(engine) as s:
        written = set(s.execute(statement).scalars())
        deadlines = [
            deadline_values(p, d)
            for p in projections
            if p.row.enrollment_id in written
            for d in p.deadlines
        ]
        if deadlines:
            s.execute(insert_rows(DEADLINE), deadlines)
        s.commit()
    return len(written)


class ProvisionalRows:
    """Collects the projections of the enrollments an import started and writes them in
    batches, one batch at a time, off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: list[EnrollmentProjection] = []
        self._lock = asyncio.Lock()
        self.written = 0
        self.failed = False

    async def add(self, state: EnrollmentState) -> None:
        self._pending.append(enrollment_projection(state))
        if len(self._pending) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch or self.failed:
                return
            try:
                self.written += await asyncio.to_thread(write_provisional, self._engine, batch)
            except SQLAlchemyError as exc:
                # The workflows project themselves: only the early listing is lost. Once failed,
                # the import stops trying rather than wait on a database that is down.
                self.failed = True
                log.warning("import rows not written ahead", error_type=type(exc).__name__)
