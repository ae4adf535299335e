"""Sandbox mode: the same worker and API on Temporal's time-skipping test server, where time moves
only when an operator asks (`POST /v1/sandbox/clock/advance`). For training and what-if. This
module is the clock and the advance the routes serve; `enroll sandbox` starts the process.

The clock sits behind one small protocol, `SandboxClock`: `now()` and `advance(delta)`. Today it
is `TimeSkippingClock`, the Java test server's global clock (`WorkflowEnvironment.
start_time_skipping`); server-side time skipping (`start_time_skipping_v2`, per-workflow clocks
moved by `fast_forward`) can replace it without touching the routes.

An advance leaves the engine settled (design.md, Runtimes): `advance_and_settle` returns only
when the clock has reached the target, every timer due by then has fired, its workflow task has
run and the read model shows the result, so the next read is already true. Time moves only when
asked: the sandbox never awaits a workflow result (that would let the test server skip time on
its own), and its environment runs with the SDK's auto-skipping on result waits disabled.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from models.calendar import local_date
from models.read_model import ApplicationRow, DeadlineRow, EnrollmentRow

MAX_ADVANCE_DAYS = 3650
# How long an advance waits (real time) for the read model to show what the fired timers did.
SETTLE_TIMEOUT = timedelta(seconds=30)
# How many passed deadlines and status changes an advance lists (the counts are always exact).
MAX_LISTED = 200


class SandboxClock(Protocol):
    """The sandbox's clock: read it, and move it forward."""

    async def now(self) -> datetime:
        """The engine's current instant (timezone-aware, UTC)."""
        ...

    async def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`; return once every timer due by then has fired
        and the workflow work it started has run."""
        ...


class TimeSkippingClock:
    """`SandboxClock` on the Java time-skipping test server: one global clock, locked between
    advances (it still moves in real time), moved by `env.sleep`."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        if not env.supports_time_skipping_v1:
            raise ValueError("TimeSkippingClock needs WorkflowEnvironment.start_time_skipping()")
        self._env = env

    def __repr__(self) -> str:
        return "TimeSkippingClock()"

    async def now(self) -> datetime:
        return await self._env.get_current_time()

    async def advance(self, delta: timedelta) -> None:
        await self._env.sleep(delta)


# --- Advancing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    statuses: dict[tuple[str, str], str]  # (record kind, id) -> status
    deadlines: list[DeadlineRow]


def _snapshot(engine: Engine) -> _Snapshot:
    with Session(engine) as s:
        statuses = {
            ("application", a): st
            for a, st in s.exec(select(ApplicationRow.application_id, ApplicationRow.status))
        }
        statuses |= {
            ("enrollment", e): st
            for e, st in s.exec(select(EnrollmentRow.enrollment_id, EnrollmentRow.status))
        }
        deadlines = list(s.exec(select(DeadlineRow).order_by(col(DeadlineRow.fires_at))))
    return _Snapshot(statuses, deadlines)


def _due(engine: Engine, since: datetime, until: datetime) -> list[DeadlineRow]:
    """Open clocks in the read model whose consequence was due in (since, until]."""
    with Session(engine) as s:
        return list(
            s.exec(
                select(DeadlineRow)
                .where(col(DeadlineRow.fires_at) > since, col(DeadlineRow.fires_at) <= until)
                .order_by(col(DeadlineRow.fires_at))
            )
        )


@dataclass
class AdvanceReport:
    """What one advance did: the clock before and after, and what changed in the read model."""

    time_zone: str
    days: int
    before: datetime
    after: datetime
    passed: list[DeadlineRow]
    status_changes: list[tuple[tuple[str, str], str | None, str]]  # (kind, id), from, to
    settle_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "from": clock_view(self.before, self.time_zone),
            "to": clock_view(self.after, self.time_zone),
            "deadlines_passed": len(self.passed),
            "passed": [
                {
                    "deadline_id": d.deadline_id,
                    "clock_kind": d.clock_kind,
                    "last_day": d.last_day.isoformat(),
                    "fires_at": d.fires_at.isoformat(),
                    "record": {
                        "kind": d.record_kind,
                        "id": d.record_id,
                        "workflow_id": d.workflow_id,
                        "status_before": d.record_status,
                    },
                }
                for d in self.passed[:MAX_LISTED]
            ],
            "status_changes_count": len(self.status_changes),
            "status_changes": [
                {"record": {"kind": kind, "id": record_id}, "from": old, "to": new}
                for (kind, record_id), old, new in self.status_changes[:MAX_LISTED]
            ],
            "truncated": max(len(self.passed), len(self.status_changes)) > MAX_LISTED,
            "settle_seconds": round(self.settle_seconds, 3),
        }


def clock_view(instant: datetime, time_zone: str) -> dict[str, str]:
    return {
        "now": instant.isoformat(),
        "today": local_date(instant, time_zone).isoformat(),
        "time_zone": time_zone,
    }


class NotSettledError(RuntimeError):
    """The clock moved, but the read model still shows clocks that should have fired."""

    def __init__(self, pending: list[DeadlineRow], after: datetime, waited: timedelta) -> None:
        self.pending = pending
        self.after = after
        ids = ", ".join(d.deadline_id for d in pending[:10])
        more = f" and {len(pending) - 10} more" if len(pending) > 10 else ""
        super().__init__(
            f"The clock reached {after.isoformat()}, but after {waited.total_seconds():g} s the "
            f"read model still shows {len(pending)} clock(s) due by then: {ids}{more}. Is the "
            "worker running and are its activities succeeding? See the worker's log."
        )


async def advance_and_settle(
    clock: SandboxClock,
    engine: Engine,
    days: int,
    *,
    time_zone: str,
    settle_timeout: timedelta = SETTLE_TIMEOUT,
) -> AdvanceReport:
    """Advance `clock` by `days` and return once the read model shows every clock due by the
    new time as gone (fired, acted on and projected), with a report of what changed.

    Raises `NotSettledError` when the read model has not caught up within `settle_timeout`."""
    if not 1 <= days <= MAX_ADVANCE_DAYS:
        raise ValueError(f"days must be 1..{MAX_ADVANCE_DAYS}, not {days}")
    before = await clock.now()
    start = await asyncio.to_thread(_snapshot, engine)
    await clock.advance(timedelta(days=days))
    after = await clock.now()
    started = time.monotonic()
    deadline = started + settle_timeout.total_seconds()
    # Clocks already overdue before the advance are not this advance's business.
    while pending := await asyncio.to_thread(_due, engine, before, after):
        if time.monotonic() >= deadline:
            raise NotSettledError(pending, after, settle_timeout)
        await asyncio.sleep(0.02)
    settled = time.monotonic() - started
    end = await asyncio.to_thread(_snapshot, engine)
    passed = [d for d in start.deadlines if before < d.fires_at <= after]
    changes = sorted(
        (record, start.statuses.get(record), status)
        for record, status in end.statuses.items()
        if start.statuses.get(record) != status
    )
    return AdvanceReport(
        time_zone=time_zone,
        days=days,
        before=before,
        after=after,
        passed=passed,
        status_changes=changes,
        settle_seconds=settled,
    )
