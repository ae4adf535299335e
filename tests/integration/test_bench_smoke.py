"""The benchmarks' cores, small: they drive the engine's processes and yield figures.

Checks numbers, never timings: a timing goes in the benchmark, against its own baseline.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest

from bench import event_latency, throughput, throughput_report, throughput_workers
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
def test_throughput_benchmark_produces_figures_for_engine_and_bare(tmp_path: Path) -> None:
    # The default comparison, small: one round of each side, on both stacks' real processes.
    plan = throughput.Plan(applications=2, concurrency=(2,), rounds=1, warmup=0)
    rounds, shapes = asyncio.run(throughput.measure(plan, tmp_path))
    assert [(r.side, r.applications, len(r.events)) for r in rounds] == [
        ("engine", 2, 2 * len(throughput.SEQUENCE)),
        ("bare", 2, 2 * len(throughput.SEQUENCE)),
    ]
    document = json.loads(json.dumps(throughput_report.summary(rounds, shapes)))
    row = document["by_concurrency"]["2"]
    for side in ("engine", "bare"):
        figures = row[side]
        assert figures["applications_per_s"] > 0
        assert 0 < figures["event_ms"]["p50"] <= figures["event_ms"]["p99"]
        # Every group measured; /proc counts in 10 ms ticks, so a small group of a 2-application
        # round may read 0, but the stack as a whole cannot.
        cpu = figures["cpu_seconds_per_application"]
        assert set(cpu) == {"worker", "temporal server", "API", "PostgreSQL", "driver"}
        assert all(seconds >= 0 for seconds in cpu.values())
        assert figures["cpu_seconds_per_application_core"] > 0
        # Both histories were counted, and the twin's has the engine application's updates:
        # one per event and the create's (update-with-start).
        assert shapes[side]["updates"] == len(throughput.SEQUENCE) + 1
        assert shapes[side]["child workflows"] == 1
    assert row["bare"]["cpu_seconds_per_application"]["PostgreSQL"] == 0  # the twin has none
    assert set(row["ratio_engine_over_bare"]) == {
        "throughput",
        "event_p50",
        "event_p99",
        "cpu_per_application",
    }
    assert all(r > 0 for r in row["ratio_engine_over_bare"].values())


@pytest.mark.postgres
def test_throughput_workers_comparison_produces_figures() -> None:
    # `--compare workers`, small: one round with each worker count, on the scale-out processes.
    results = asyncio.run(
        throughput_workers.measure(applications=2, concurrency=2, rounds=1, warmup=0)
    )
    assert [(r.workers, r.applications) for r in results] == [(1, 2), (2, 2)]
    assert all(r.events == 2 * (len(throughput_workers.SEQUENCE) + 1) for r in results)
    workers_summary = json.loads(json.dumps(throughput_workers.summary(results)))
    assert set(workers_summary["by_workers"]) == {"1", "2"}
    for row in workers_summary["by_workers"].values():
        assert row["applications_per_s"] > 0 and row["events_per_s"] > 0
        assert row["cpu_seconds_per_application"]["workers"] > 0
        assert row["cpu_seconds_per_application"]["temporal server"] > 0
        assert row["ceiling_applications_per_s"] > 0
    assert workers_summary["ratio_2_over_1"] > 0


@pytest.mark.postgres
def test_the_twin_with_a_read_model_writes_one_row_per_side_effect(tmp_path: Path) -> None:
    # `--compare read-model`'s measured side, small: the twin's activities write PostgreSQL.
    from sqlalchemy import text

    from activities.database import create_db_engine
    from bench.stacks import BareStack
    from tests.integration.cluster import POSTGRES_URL

    async def one_round() -> tuple[throughput_report.Round, dict[str, int]]:
        stack = BareStack(tmp_path / "bare_pg", read_model=True)
        try:
            stack.start()
            await stack.ready()
            result = await throughput.run_round(stack, 2, 2, 0)
            schema = {"options": f"-csearch_path={stack.cluster.schema}"}
            engine = create_db_engine(POSTGRES_URL, connect_args=schema)
            with engine.connect() as conn:
                rows = {
                    table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("bare_application", "bare_enrollment", "bare_notice")
                }
            engine.dispose()
            return result, rows
        finally:
            stack.stop()

    result, rows = asyncio.run(one_round())
    # Per application: its row, its enrollment's, and six notices (2 at submit, 3 when the
    # development request is answered, 1 at approval), as the twin's history has them.
    assert rows == {"bare_application": 2, "bare_enrollment": 2, "bare_notice": 12}
    assert result.side == "bare_pg" and result.applications == 2
    assert set(result.cpu) == {"worker", "temporal server", "API", "PostgreSQL", "driver"}

    baseline = throughput_report.Round("bare", 2, 2, result.seconds, result.events, result.creates)
    baseline.cpu = dict(result.cpu)
    shape = {"events": 1.0}
    document = throughput_report.summary(
        [result, baseline], {"bare_pg": shape, "bare": shape}, ("bare_pg", "bare")
    )
    assert document["sides"] == ["bare_pg", "bare"]
    assert set(document["by_concurrency"]["2"]["ratio_bare_pg_over_bare"]) == {
        "throughput",
        "event_p50",
        "event_p99",
        "cpu_per_application",
    }
