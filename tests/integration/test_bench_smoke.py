"""The benchmarks' cores, small: they drive the engine's processes and yield figures.

Checks numbers, never timings: a timing goes in the benchmark, against its own baseline.
"""

from __future__ import annotations

import asyncio
import json
import math

import pytest

from bench import event_latency, throughput
from bench.event_latency import BASELINE, CREATE, EVENTS, SEQUENCE


def test_event_latency_benchmark_produces_figures() -> None:
    run = event_latency.measure(applications=2, concurrency=2, warmup=0)

    assert run.final_statuses == ["approved", "approved"]
    assert {event: len(samples) for event, samples in run.events.items()} == {
        event: 2 for event in SEQUENCE
    }
    assert len(run.baseline) == 2 * len(SEQUENCE) and len(run.creates) == 2
    rows = run.rows()
    assert list(rows) == [EVENTS, *(f"  {e}" for e in SEQUENCE), CREATE, BASELINE]
    assert rows[EVENTS].n == 2 * len(SEQUENCE)
    for name, summary in rows.items():
        figures = [summary.mean, summary.p50, summary.p95, summary.p99]
        assert all(math.isfinite(f) and f > 0 for f in figures), (name, summary)
        assert summary.p50 <= summary.p95 <= summary.p99, (name, summary)

    document = json.loads(json.dumps(event_latency.document(run)))
    assert document["applications"] == 2 and document["concurrency"] == 2
    assert set(document["ratio_event_to_baseline"]) == {"mean", "p50", "p95", "p99"}
    assert all(r > 0 for r in document["ratio_event_to_baseline"].values())
    table = event_latency.table(run)
    for name in rows:
        assert name.strip() in table


@pytest.mark.postgres
def test_throughput_benchmark_produces_figures() -> None:
    # Its core, small: one round with each worker count, on the scale-out test's processes.
    results = asyncio.run(throughput.measure(applications=2, concurrency=2, rounds=1, warmup=0))
    assert [(r.workers, r.applications) for r in results] == [(1, 2), (2, 2)]
    assert all(r.events == 2 * (len(throughput.SEQUENCE) + 1) for r in results)
    summary = json.loads(json.dumps(throughput.summary(results)))
    assert set(summary["by_workers"]) == {"1", "2"}
    for row in summary["by_workers"].values():
        assert row["applications_per_s"] > 0 and row["events_per_s"] > 0
        assert row["cpu_seconds_per_application"]["workers"] > 0
        assert row["cpu_seconds_per_application"]["temporal server"] > 0
        assert row["ceiling_applications_per_s"] > 0
    assert summary["ratio_2_over_1"] > 0
