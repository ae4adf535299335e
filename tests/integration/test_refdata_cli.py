"""`enroll refdata load` and `enroll refdata loads` as an admin runs them: subprocesses on a
read-model database of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures" / "refdata"
ENROLL = [sys.executable, "-m", "cli"]


def enroll(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENROLL_DATABASE_URL": f"sqlite:///{tmp_path / 'rm.db'}"}
    env.pop("ENROLL_DATA_DIR", None)
    return subprocess.run(
        [*ENROLL, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_load_reload_and_the_history(tmp_path: Path) -> None:
    leie = str(FIXTURES / "leie_updated.csv")
    first = enroll(tmp_path, "refdata", "load", leie, "--kind", "leie", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["added"], report["schema_version"]) == (3, "2026")
    again = enroll(tmp_path, "refdata", "load", leie, "--kind", "leie")
    assert again.returncode == 0, again.stderr
    assert "3 rows: 0 added, 0 changed, 0 removed, 3 unchanged" in again.stdout
    history = enroll(tmp_path, "refdata", "loads", "--json")
    assert [r["added"] for r in json.loads(history.stdout)] == [0, 3]


def test_a_drifted_header_is_one_clear_line(tmp_path: Path) -> None:
    drifted = str(FIXTURES / "leie_drifted.csv")
    done = enroll(tmp_path, "refdata", "load", drifted, "--kind", "leie")
    assert done.returncode == 1
    assert "leie_drifted.csv" in done.stderr and "'WVRSTATE'" in done.stderr
    assert "Traceback" not in done.stderr
