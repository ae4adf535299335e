"""What the README says of the test command: CI runs exactly `./scripts/test`, which runs the
whole suite on every core, and the schemathesis file on its own (under pytest-xdist its cases,
which share one node id, would run as one)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "scripts" / "test").read_text(encoding="utf-8")


def _pytest_calls() -> list[str]:
    return [line for line in SCRIPT.splitlines() if re.match(r'\s*"\$VENV/bin/pytest"', line)]


def test_ci_runs_exactly_the_test_command() -> None:
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec ./scripts/test")


def test_the_whole_suite_runs_on_every_core_and_schemathesis_on_its_own() -> None:
    parallel, alone = _pytest_calls()
    assert "-n auto --dist loadfile" in parallel
    assert '--ignore="$SCHEMATHESIS"' in parallel
    assert '"$SCHEMATHESIS" ||' in alone and "-n" not in alone.split()
    assert "SCHEMATHESIS=tests/integration/test_schemathesis.py" in SCRIPT
    assert (ROOT / "tests/integration/test_schemathesis.py").exists()
    assert '"pytest-xdist' in (ROOT / "pyproject.toml").read_text()
