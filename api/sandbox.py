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
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from temporalio.api.testservice.v1 import SleepRequest, UnlockTimeSkippingRequest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from models.calendar import local_date
from models.read_model import ApplicationRow, DeadlineRow, EnrollmentRow, NotificationRow

log = structlog.get_logger("api.sandbox")

# Forty years and a little: a portfolio's future in one call, still made of bounded steps.
MAX_ADVANCE_DAYS = 14_700
# The longest single move of the clock; each step is settled before the next.
STEP = timedelta(days=90)
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


class ClockStalledError(RuntimeError):
    """The sandbox clock stopped moving and the engine stopped working, even after the leaked
    time-skipping lock was given back."""


# Reads how far the engine's work has got (any value; a change means progress).
ProgressProbe = Callable[[], Awaitable[Hashable]]


class TimeSkippingClock:
    """`SandboxClock` on the Java time-skipping test server: one global clock, locked between
    advances (it still moves in real time), moved by `env.sleep` in bounded steps.

    Three limits of that server are designed around here (README, Sandbox):

    - one sleep is one RPC, which the SDK's default call limit (30 s) would end while the
      server is still firing timers: a long advance is many short steps (`step`), and each
      step's sleep is called with a limit of its own (`call_limit`), long enough for a step
      where thousands of clocks fire at once;
    - a step is as long as the work its timers start (every workflow task and activity holds
      the clock): it is waited for as long as that work shows progress, in the clock (a jump)
      or in `progress` (the read model: projections and notices landing);
    - a child workflow that completes after its parent's run has closed (an enrollment started
      by an approved application; a revalidation application whose enrollment has continued as
      new) takes a time-skipping lock "to be released by the parent", which a closed parent
      never releases: time then only moves at wall-clock speed and nothing else happens. A step
      that shows no progress for `stall_after` is given back that lock (one unlock; the server
      refuses it when no lock is held, but takes one held by work in flight, which is why it
      is only tried when nothing progresses) and goes on; `leaks_released` counts them. A
      step still making no progress after `max_stalls` of them raises `ClockStalledError`,
      as does one whose clock keeps jumping while the engine does nothing for `idle_limit`
      (timers fire that no worker acts on).
    """

    def __init__(
        self,
        env: WorkflowEnvironment,
        *,
        step: timedelta = STEP,
        stall_after: timedelta = timedelta(seconds=10),
        progress: ProgressProbe | None = None,
        call_limit: timedelta = timedelta(hours=1),
        max_stalls: int = 6,
        idle_limit: timedelta = timedelta(minutes=2),
    ) -> None:
        if not env.supports_time_skipping_v1:
            raise ValueError("TimeSkippingClock needs WorkflowEnvironment.start_time_skipping()")
        self._env = env
        self._step = step
        self._stall_after = stall_after
        self._progress = progress
        self._call_limit = call_limit
        self._max_stalls = max_stalls
        self._idle_limit = idle_limit
        self.leaks_released = 0

    def __repr__(self) -> str:
        return "TimeSkippingClock()"

    async def now(self) -> datetime:
        return await self._env.get_current_time()

    async def advance(self, delta: timedelta) -> None:
        target = await self.now() + delta
        while (left := target - await self.now()) > timedelta(0):
            await self._skip(min(left, self._step), target)

    async def _sleep(self, delta: timedelta) -> None:
        request = SleepRequest()
        request.duration.FromTimedelta(delta)
        await self._env.client.test_service.unlock_time_skipping_with_sleep(
            request, timeout=self._call_limit
        )

    async def _mark(self) -> Hashable:
        return None if self._progress is None else await self._progress()

    async def _skip(self, delta: timedelta, target: datetime) -> None:
        step_end = await self.now() + delta
        sleep = asyncio.ensure_future(self._sleep(delta))
        poll = min(1.0, self._stall_after.total_seconds() / 4)
        try:
            clock, mark = await self.now(), await self._mark()
            looked, quiet_since, stalls = time.monotonic(), time.monotonic(), 0
            worked_at = time.monotonic()
            while not sleep.done():
                await asyncio.wait({sleep}, timeout=poll)
                if sleep.done():
                    break
                now, new_mark = await self.now(), await self._mark()
                # A locked clock still moves in real time: only a jump past that is progress.
                jumped = (now - clock).total_seconds() > time.monotonic() - looked + 1
                if new_mark != mark:
                    worked_at = time.monotonic()
                elif (
                    self._progress is not None
                    and time.monotonic() - worked_at > self._idle_limit.total_seconds()
                ):
                    # Timers fire (the clock jumps) but nobody acts on them: a worker that
                    # stopped taking tasks. Answer instead of waiting for ever.
                    log.error("sandbox worker idle", at=now.isoformat())
                    raise ClockStalledError(
                        f"The sandbox clock moves to {now.isoformat()} but the engine has done "
                        f"nothing for {self._idle_limit.total_seconds():g} s: is the worker "
                        "taking tasks? See its log."
                    )
                if jumped or new_mark != mark:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= self._stall_after.total_seconds():
                    # No work anywhere and time crawling: a time-skipping lock nobody will
                    # release. Give it back; the pending sleep then completes.
                    stalls += 1
                    if stalls > self._max_stalls:
                        log.error("sandbox clock stuck", at=now.isoformat(), stalls=stalls)
                        raise ClockStalledError(
                            f"The sandbox clock is stuck at {now.isoformat()}: no progress for "
                            f"{stalls * self._stall_after.total_seconds():g} s."
                        )
                    released = await self._release_leaked_lock()
                    self.leaks_released += released
                    log.warning("sandbox clock stalled", at=now.isoformat(), lock_released=released)
                    quiet_since = time.monotonic()
                clock, mark, looked = now, new_mark, time.monotonic()
            sleep.result()
        except RPCError:
            # The sleep's own call limit ended it: what counts is the clock.
            if await self.now() < min(step_end, target):
                raise
        finally:
            sleep.cancel()

    async def _release_leaked_lock(self) -> bool:
        try:
            await self._env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
        except RPCError:
            return False  # nothing was leaked: the server refuses an unbalanced unlock
        return True


def stack_progress(engine: Engine, *, busy_share: float = 0.2) -> ProgressProbe:
    """A probe of the in-process stack's progress (the sandbox runs the worker in the API's
    process): the read model's notices, open clocks and record changes, and whether the
    process has been busy (over `busy_share` of a core since the last look). Work that does
    not reach the read model yet (a thousand workflow tasks before their projections) counts:
    only an idle process and a still read model make a stall."""
    looked = (time.monotonic(), time.process_time())
    busy_looks = 0

    def look() -> Hashable:
        with Session(engine) as s:
            return (
                s.exec(select(func.max(NotificationRow.id))).one(),
                s.exec(select(func.count()).select_from(DeadlineRow)).one(),
                s.exec(select(func.max(EnrollmentRow.updated_at))).one(),
                s.exec(select(func.max(ApplicationRow.updated_at))).one(),
            )

    async def probe() -> Hashable:
        nonlocal looked, busy_looks
        now = (time.monotonic(), time.process_time())
        if now[1] - looked[1] > busy_share * max(now[0] - looked[0], 1e-3):
            busy_looks += 1
        looked = now
        return busy_looks, await asyncio.to_thread(look)

    return probe


# --- Advancing ------------------------------------------------------------------------------------


def _statuses(engine: Engine) -> dict[tuple[str, str], str]:
    """(record kind, id) -> status, for every application and enrollment."""
    with Session(engine) as s:
        statuses = {
            ("application", a): st
            for a, st in s.exec(select(ApplicationRow.application_id, ApplicationRow.status))
        }
        statuses |= {
            ("enrollment", e): st
            for e, st in s.exec(select(EnrollmentRow.enrollment_id, EnrollmentRow.status))
        }
    return statuses


def _due(engine: Engine, since: datetime, until: datetime) -> list[DeadlineRow]:
    """Open clocks in the read model whose consequence is due in (since, until]."""
    with Session(engine) as s:
        return list(
            s.exec(
                select(DeadlineRow)
                .where(col(DeadlineRow.fires_at) > since, col(DeadlineRow.fires_at) <= until)
                .order_by(col(DeadlineRow.fires_at))
            )
        )


def _last_notice(engine: Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.max(NotificationRow.id))).one() or 0


def _notices_after(engine: Engine, after_id: int) -> tuple[int, list[NotificationRow]]:
    """How many notices were recorded after `after_id`, and the first MAX_LISTED of them."""
    with Session(engine) as s:
        newer = col(NotificationRow.id) > after_id
        count = s.exec(select(func.count()).select_from(NotificationRow).where(newer)).one()
        rows = s.exec(
            select(NotificationRow).where(newer).order_by(col(NotificationRow.id)).limit(MAX_LISTED)
        )
        return count, list(rows)


@dataclass
class AdvanceReport:
    """What one advance did: the clock before and after, the clocks that fired, the notices
    (reminders, consequences) the engine sent and the statuses that changed."""

    time_zone: str
    days: int
    before: datetime
    after: datetime
    steps: int
    passed: list[DeadlineRow]
    status_changes: list[tuple[tuple[str, str], str | None, str]]  # (kind, id), from, to
    notices_count: int
    notices: list[NotificationRow]
    settle_seconds: float

    def to_json(self) -> dict[str, Any]:
        by_kind: dict[str, int] = {}
        for n in self.notices:
            by_kind[n.kind] = by_kind.get(n.kind, 0) + 1
        return {
            "days": self.days,
            "from": clock_view(self.before, self.time_zone),
            "to": clock_view(self.after, self.time_zone),
            "steps": self.steps,
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
            "notices_count": self.notices_count,
            "notices_by_kind": by_kind,
            "notices": [
                {
                    "kind": n.kind,
                    "record": {"kind": n.record_kind, "id": n.record_id},
                    "clock_id": n.clock_id,
                    "due_date": n.due_date.isoformat() if n.due_date else None,
                    "status": n.record_status,
                    "subject": n.subject,
                }
                for n in self.notices
            ],
            "truncated": max(len(self.passed), len(self.status_changes), self.notices_count)
            > MAX_LISTED,
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


async def _settle(engine: Engine, since: datetime, until: datetime, timeout: timedelta) -> float:
    """Wait until the read model shows no clock due in (since, until]; the seconds it took.
    Clocks already overdue before `since` are not this step's business."""
    started = time.monotonic()
    deadline = started + timeout.total_seconds()
    while pending := await asyncio.to_thread(_due, engine, since, until):
        if time.monotonic() >= deadline:
            raise NotSettledError(pending, until, timeout)
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _notices_quiet(engine: Engine, since_id: int, timeout: timedelta) -> float:
    """Wait until no new notice has been recorded for a few polls (a consequence's notices are
    recorded in the same round as its projection, a moment apart)."""
    started = time.monotonic()
    last, quiet = await asyncio.to_thread(_last_notice, engine), 0
    while quiet < 3 and time.monotonic() - started < timeout.total_seconds():
        await asyncio.sleep(0.02)
        now = await asyncio.to_thread(_last_notice, engine)
        quiet = quiet + 1 if now == last else 0
        last = now
    return time.monotonic() - started if last > since_id else 0.0


async def advance_and_settle(
    clock: SandboxClock,
    engine: Engine,
    days: int,
    *,
    time_zone: str,
    settle_timeout: timedelta = SETTLE_TIMEOUT,
    step: timedelta = STEP,
) -> AdvanceReport:
    """Advance `clock` by `days` in steps of at most `step`, each left settled (every clock due
    by its end fired, acted on and projected) before the next; report what happened.

    Raises `NotSettledError` when the read model has not caught up within `settle_timeout`."""
    if not 1 <= days <= MAX_ADVANCE_DAYS:
        raise ValueError(f"days must be 1..{MAX_ADVANCE_DAYS}, not {days}")
    before = await clock.now()
    target = before + timedelta(days=days)
    start_statuses = await asyncio.to_thread(_statuses, engine)
    first_notice = await asyncio.to_thread(_last_notice, engine)
    passed: list[DeadlineRow] = []
    settled = 0.0
    steps = 0
    while (now := await clock.now()) < target:
        step_end = min(target, now + step)
        passed += await asyncio.to_thread(_due, engine, now, step_end)
        await clock.advance(step_end - now)
        settled += await _settle(engine, now, await clock.now(), settle_timeout)
        steps += 1
    after = await clock.now()
    settled += await _notices_quiet(engine, first_notice, settle_timeout)
    end_statuses = await asyncio.to_thread(_statuses, engine)
    changes = sorted(
        (record, start_statuses.get(record), status)
        for record, status in end_statuses.items()
        if start_statuses.get(record) != status
    )
    notices_count, notices = await asyncio.to_thread(_notices_after, engine, first_notice)
    return AdvanceReport(
        time_zone=time_zone,
        days=days,
        before=before,
        after=after,
        steps=steps,
        passed=passed,
        status_changes=changes,
        notices_count=notices_count,
        notices=notices,
        settle_seconds=settled,
    )
