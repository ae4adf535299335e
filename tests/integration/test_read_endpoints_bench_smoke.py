"""The read-endpoints benchmark, small, end to end: its server in a process of its own (as
`enroll api` serves) answers every case, and the run prints a figure for each. Checks that it
measures, never what the timings are (they go in the benchmark's output)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_read_endpoints_benchmark_serves_from_its_own_process() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "read_endpoints.py"),
            "--rows",
            "600",
            "--requests",
            "3",
            "--warmup",
            "1",
            "--server",
            "process",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert any(line.startswith("served by a process of its own (pid ") for line in lines), (
        run.stdout
    )
    for case in (
        "GET /v1/deadlines (default page)",
        "GET /v1/deadlines?within_days=30",
        "GET /v1/applications?status=in_review&limit=50",
    ):
        row = next((line for line in lines if line.startswith(case)), None)
        assert row is not None, run.stdout
        assert len(row[len(case) :].split()) == 7, row  # rows, four times, two ratios
