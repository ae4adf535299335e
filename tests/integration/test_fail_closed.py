"""Security fails closed at start: `enroll worker` and `enroll api` refuse to run without a
payload key ring (SSNs and dates of birth would reach the Temporal database in clear), unless
the operator says `--insecure-no-encryption`, which is then logged loudly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.test_api_reads import _closed_port

ENROLL = Path(sys.executable).parent / "enroll"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ENROLL_PAYLOAD_KEYS"}
    env.update(
        {
            # Nothing answers there: a command that got past the check fails on connecting.
            "TEMPORAL_ADDRESS": f"127.0.0.1:{_closed_port()}",
            "ENROLL_DATA_DIR": str(tmp_path / "data"),
            "ENROLL_LOG_JSON": "false",
        }
    )
    return env


def _enroll(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = _env(tmp_path)
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


def test_insecure_no_encryption_runs_the_worker_and_says_so(tmp_path: Path) -> None:
    done = _enroll("worker", "--insecure-no-encryption", tmp_path=tmp_path)
    out = done.stdout + done.stderr
    assert "ENROLL_PAYLOAD_KEYS is not set" not in out
    assert "PAYLOAD ENCRYPTION IS OFF" in out
    # Past the check, it reached for the Temporal server that is not there.
    assert done.returncode != 0, out


def test_insecure_no_encryption_runs_the_api_and_says_so(tmp_path: Path) -> None:
    port = _closed_port()
    env = _env(tmp_path)
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ENROLL), "api", "--port", str(port), "--insecure-no-encryption"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # It serves (Temporal down: not ready) and said loudly that payloads are in clear.
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert ready.status_code == 503 and "temporal" in ready.json()["down"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "PAYLOAD ENCRYPTION IS OFF" in text
    assert "ENROLL_PAYLOAD_KEYS is not set" not in text
