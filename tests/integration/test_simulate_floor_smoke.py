"""bench/simulate_floor.py, small: the operator's workload runs on bare workflows on the real
time-skipping test server, and the clocks behave as the engine's (a claim recorded in time keeps
an enrollment active; a missed revalidation deactivates it). Checks numbers, never timings."""

from __future__ import annotations

import argparse
import asyncio

from bench import simulate_floor


def _args(**overrides: object) -> argparse.Namespace:
    defaults: dict[str, object] = dict(
        enrollments=30,
        years=3,
        stop_days=91,
        concurrency=8,
        missed=0.0,
        stop_billing=0.0,
        seed=22,
        server="test-server",
    )
    return argparse.Namespace(**(defaults | overrides))


def test_the_floor_runs_the_operator_and_keeps_claiming_enrollments_active() -> None:
    result = asyncio.run(simulate_floor.run(_args()))

    assert result["refused"] == {} and result["failures"] == []
    kinds = result["events_by_kind"]
    assert kinds["claim_activity"] > 30  # every enrollment claims about once a year
    # Every revalidation filed is approved at the same stop.
    assert kinds["revalidation_submitted"] == kinds["revalidation_approved"] > 0
    assert result["operator_events"] == sum(kinds.values())
    # Nobody missed anything: every enrollment is still active, three years on.
    assert result["final_statuses"] == {"RUNNING": 30}
    assert set(result["phases_s"]) == {"import", "operator", "advance", "total"}
    assert any(name.startswith("test server") for name in result["cpu_s"])


def test_an_enrollment_that_never_revalidates_is_deactivated_at_its_due_date() -> None:
    # Everyone misses: each workflow ends when its due date passes (within 5 years).
    result = asyncio.run(simulate_floor.run(_args(enrollments=10, years=6, missed=1.0)))

    assert result["events_by_kind"].get("revalidation_submitted", 0) == 0
    assert result["final_statuses"] == {"COMPLETED": 10}
