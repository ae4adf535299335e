"""bench/scale.py's core, small: 20 enrollments imported onto the engine's processes, idle,
measured. Checks that it yields every figure (never what they are: timings go in the bench)."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime

from bench import scale
from models.calendar import local_date


def test_scale_benchmark_produces_figures() -> None:
    args = argparse.Namespace(
        enrollments=20, database_url=None, log_level="WARNING", settle=0.0, requests=3, warmup=1
    )
    today = local_date(datetime.now(UTC), scale.ZONE)
    figures = scale.run_round(scale.ROOT, "this", args, today).figures()

    assert figures["outcomes"] == {"rows": 20, "good_rows": 20, "created": 20}
    assert figures["deadlines_rows"] >= 20  # each enrollment has its revalidation clock
    numbers = [v for v in figures.values() if isinstance(v, float)]
    assert len(numbers) >= 15 and all(math.isfinite(v) and v > 0 for v in numbers), figures
