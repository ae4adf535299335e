"""Security fails closed at start: `enroll worker` and `enroll api` refuse to run without a
payload key ring (SSNs and dates of birth would reach the Temporal database in clear), unless
the operator says `--insecure-no-encryption`, which is then logged loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_api_reads import _closed_port

ENROLL = Path(sys.executable).parent / "enroll"


def _enroll(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ENROLL_PAYLOAD_KEYS"}
    env.update(
        {
            # Nothing answers there: a command that got past the check fails on connecting.
            "TEMPORAL_ADDRESS": f"127.0.0.1:{_closed_port()}",
            "ENROLL_DATA_DIR": str(tmp_path / "data"),
            "ENROLL_LOG_JSON": "false",
        }
    )
    return subprocess.run([str(ENROLL), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [["worker"], ["api", "--port", "0"]], ids=["worker", "api"])
def test_refuses_to_start_without_a_key_ring(command: list[str], tmp_path: Path) -> None:
    done = _enroll(*command, tmp_path=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "ENROLL_PAYLOAD_KEYS is not set" in out
    assert "--insecure-no-encryption" in out
    assert "base64" in out  # how to make a key ring
    # It refused before reaching for Temporal or the database.
    assert "Connection refused" not in out and "connect" not in out.lower()
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("command", [["worker"], ["api", "--port", "0"]], ids=["worker", "api"])
def test_insecure_no_encryption_starts_and_says_so(command: list[str], tmp_path: Path) -> None:
    done = _enroll(*command, "--insecure-no-encryption", tmp_path=tmp_path)
    out = done.stdout + done.stderr
    assert "ENROLL_PAYLOAD_KEYS is not set" not in out
    assert "PAYLOAD ENCRYPTION IS OFF" in out
    # Past the check, it reached for the Temporal server that is not there.
    assert done.returncode != 0, out
