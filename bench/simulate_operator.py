"""The operator of bench/simulate.py: the portfolio, and what an operator does at each stop
(records claims, files revalidations on time, late or never), whatever carries the events: the
engine's HTTP API (bench/simulate.py) or bare workflows (bench/simulate_floor.py). Also the
workload's options, which both benchmarks take."""

from __future__ import annotations

import argparse
import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

# File from 180 days before the due date (the window opens 7 months before it).
FILING_WINDOW = timedelta(days=180)
# A claim is recorded when the latest one is this old (the no-claims clock runs 12 months).
CLAIM_EVERY = timedelta(days=300)


# The workload's options: both benchmarks take them; simulate.py --with-floor hands them on.
WORKLOAD_OPTIONS: dict[str, dict[str, Any]] = {
    "--enrollments": {"type": int, "default": 1000},
    "--years": {"type": int, "default": 20},
    "--stop-days": {"type": int, "default": 91, "help": "days between operator stops"},
    "--concurrency": {"type": int, "default": 16, "help": "operator events in flight"},
    "--missed": {"type": float, "default": 0.05, "help": "share never revalidating"},
    "--stop-billing": {"type": float, "default": 0.03, "help": "share that stop billing"},
    "--seed": {"type": int, "default": 22},
}


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    for flag, options in WORKLOAD_OPTIONS.items():
        parser.add_argument(flag, **options)


def workload_arguments(args: argparse.Namespace) -> list[str]:
    """`args`' workload as a command line for another run of it."""
    return [
        part
        for flag in WORKLOAD_OPTIONS
        for part in (flag, str(getattr(args, flag[2:].replace("-", "_"))))
    ]


@dataclass
class Enrollment:
    enrollment_id: str
    form: str
    due: date
    last_claim: date
    misses_revalidation: bool
    stops_billing_on: date | None
    filed_for: date | None = None  # the due date a revalidation was filed for
    lapsed: bool = False


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    failures: list[str] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)

    def note(self, what: str, r: httpx.Response | None) -> bool:
        if r is None:
            self.transport_errors += 1
            self.failures.append(f"{what}: no answer")
            return False
        self.statuses[r.status_code] += 1
        if r.status_code >= 300:
            self.failures.append(f"{what}: {r.status_code} {r.text[:300]}")
            return False
        return True


def _month_end(day: date) -> date:
    # CMS due dates are the last day of a month.
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def portfolio(
    n: int, day0: date, rng: random.Random, missed: float, stop: float, years: int
) -> list[Enrollment]:
    forms = ["CMS-855I"] * 17 + ["CMS-855B"] * 2 + ["CMS-855S"]
    out = []
    for i in range(n):
        form = rng.choice(forms)
        dmepos = form == "CMS-855S"
        prefix = "I" if form == "CMS-855I" else "O"
        stops = (
            day0 + timedelta(days=rng.randrange(365, max(366, years * 365)))
            if rng.random() < stop
            else None
        )
        out.append(
            Enrollment(
                enrollment_id=f"{prefix}20200101{i:06d}",
                form=form,
                due=_month_end(
                    day0 + timedelta(days=rng.randrange(200, 3 * 365 if dmepos else 5 * 365))
                ),
                last_claim=day0 - timedelta(days=rng.randrange(0, 270)),
                misses_revalidation=rng.random() < missed,
                stops_billing_on=stops,
            )
        )
    return out


# Records one event on one enrollment: its answer (the record's view), None when refused.
Recorder = Callable[..., Awaitable["dict[str, Any] | None"]]


async def operator_round(record: Recorder, portfolio: list[Enrollment], today: date,
                         tally: Tally, concurrency: int) -> int:  # fmt: skip
    """What the operator does at one stop; the number of events recorded. `record` is how an
    event reaches an enrollment (the engine's HTTP API here; bench/simulate_floor.py's bare
    workflows there)."""
    limit = asyncio.Semaphore(concurrency)
    count = 0

    async def event(e: Enrollment, name: str, **data: str) -> dict[str, Any] | None:
        tally.events[name] += 1
        return await record(e, name, **data)

    async def act(e: Enrollment) -> None:
        nonlocal count
        async with limit:
            bills = e.stops_billing_on is None or today < e.stops_billing_on
            if bills and today - e.last_claim >= CLAIM_EVERY:
                count += 1
                if await event(e, "claim_activity", latest_claim_date=today.isoformat()):
                    e.last_claim = today
            if e.due - today <= FILING_WINDOW and e.filed_for != e.due:
                if e.misses_revalidation or not bills:  # a practice that stopped billing too
                    e.lapsed = True  # never filed: the due date passes, the engine acts
                    return
                count += 2
                e.filed_for = e.due
                day = today.isoformat()
                await event(e, "revalidation_submitted", receipt_date=day)
                after = await event(e, "revalidation_approved", approval_date=day)
                if after is not None:
                    e.due = date.fromisoformat(after["revalidation_due_date"])
            if e.stops_billing_on is not None and today >= e.stops_billing_on + timedelta(days=400):
                e.lapsed = True

    await asyncio.gather(*(act(e) for e in portfolio if not e.lapsed))
    return count
