"""`enroll refdata load` and `enroll refdata loads` as an admin runs them: subprocesses on a
read-model database of their own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures" / "refdata"
ENROLL = [sys.executable, "-m", "cli"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def enroll(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ENROLL_DATABASE_URL": f"sqlite:///{tmp_path / 'rm.db'}",
        # Nothing listens there: the checks that follow a load cannot start.
        "TEMPORAL_ADDRESS": f"127.0.0.1:{closed_port()}",
    }
    env.pop("ENROLL_DATA_DIR", None)
    return subprocess.run(
        [*ENROLL, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_load_reload_and_the_history(tmp_path: Path) -> None:
    leie = str(FIXTURES / "leie_updated.csv")
    first = enroll(tmp_path, "refdata", "load", leie, "--kind", "leie", "--json", "--no-recheck")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["added"], report["schema_version"]) == (3, "2026")
    assert report["checks_workflow_id"] is None
    again = enroll(tmp_path, "refdata", "load", leie, "--kind", "leie")
    assert again.returncode == 0, again.stderr
    assert "3 rows: 0 added, 0 changed, 0 removed, 3 unchanged" in again.stdout
    # Temporal is out of reach: the load stands, the checks say how to start them later.
    assert "enroll refdata check --load 2" in " ".join(again.stderr.split())
    missing = enroll(tmp_path, "refdata", "check", "--load", "99")
    assert missing.returncode == 1 and "there is no load 99" in missing.stderr
    history = enroll(tmp_path, "refdata", "loads", "--json")
    assert [r["added"] for r in json.loads(history.stdout)] == [0, 3]


def test_a_drifted_header_is_one_clear_line(tmp_path: Path) -> None:
    drifted = str(FIXTURES / "leie_drifted.csv")
    done = enroll(tmp_path, "refdata", "load", drifted, "--kind", "leie")
    assert done.returncode == 1
    assert "leie_drifted.csv" in done.stderr and "'WVRSTATE'" in done.stderr
    assert "Traceback" not in done.stderr
