"""`enroll dev` as an operator runs it: a subprocess on free ports with its own data dir.

Shared by tests/integration/test_dev_stack.py and bench/event_latency.py, so the benchmark
measures exactly the stack the test proves works.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.processes import child_pids

ENROLL = Path(sys.executable).parent / "enroll"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevStack:
    def __init__(self, data_dir: Path, *, log_level: str = "WARNING") -> None:
        self.data_dir = data_dir
        self.api_port = _free_port()
        self.temporal_port = _free_port()
        self.ui_port = _free_port()
        self.log_level = log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "enroll-dev.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                str(ENROLL),
                "dev",
                "--data-dir",
                str(self.data_dir),
                "--api-port",
                str(self.api_port),
                "--temporal-port",
                str(self.temporal_port),
                "--ui-port",
                str(self.ui_port),
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env={
                **{k: v for k, v in os.environ.items() if k != "ENROLL_API_KEYS"},
                "ENROLL_LOG_LEVEL": self.log_level,
            },
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"enroll dev exited: {self.log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"enroll dev did not start: {self.log.read_text()[-3000:]}")

    def keys(self) -> dict[str, tuple[str, str]]:
        """role -> (key, actor), from the keys file `enroll dev` generated."""
        path = self.data_dir / "api-keys.json"
        assert path.stat().st_mode & 0o777 == 0o600
        spec = json.loads(path.read_text())
        return {v["role"]: (key, v["actor"]) for key, v in spec.items()}

    def client(self, role: str | None = "operator") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys()[role][0]}"} if role else {}
        return httpx.Client(base_url=self.url, timeout=30, headers=headers)

    def stop(self) -> int:
        """Ctrl-C, as an operator stops it; `enroll dev` then stops its Temporal server."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("enroll dev did not stop on Ctrl-C within 45 s") from None

    def kill(self) -> None:
        """Kill a stack that did not stop: `enroll dev` starts its Temporal server in a session
        of its own (so Ctrl-C reaches `enroll dev` first), and killing `enroll dev` alone would
        leave that server running, so its children are killed by pid first."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for child in child_pids(self.proc.pid):
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.kill()
        self.proc.wait()
