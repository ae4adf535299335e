"""`enroll dev` supervises its Temporal dev server (issue 16, defect 6): the server dies with a
SIGKILLed stack (no orphan keeping the port and the data dir), a port in use is a clear error
before anything starts, and a server that dies under the stack stops the stack with a message."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dev_stack import ENROLL, DevStack
from tests.processes import child_pids, executable


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    s = DevStack(tmp_path / "data")
    yield s
    s.kill()


def _temporal_server(stack: DevStack) -> int:
    assert stack.proc is not None
    servers = [
        p for p in child_pids(stack.proc.pid) if (exe := executable(p)) and exe.name == "temporal"
    ]
    assert len(servers) == 1, servers
    return servers[0]


def _gone(pid: int, seconds: float = 20) -> bool:
    """Whether `pid` is gone (or a zombie nobody waits for) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def test_a_sigkilled_stack_leaves_no_temporal_server(stack: DevStack) -> None:
    stack.start()
    server = _temporal_server(stack)
    # Its files are private from their creation (defect 8): the Temporal server's too.
    for name in ("temporal.db", "read_model.db", "payload-keys", "api-keys.json"):
        assert stat.S_IMODE((stack.data_dir / name).stat().st_mode) == 0o600, name
    assert stack.proc is not None
    stack.proc.send_signal(signal.SIGKILL)
    stack.proc.wait(timeout=10)
    killed = _gone(server)
    if not killed:  # leave nothing behind, then fail
        os.kill(server, signal.SIGKILL)
    assert killed, "the Temporal dev server outlived its SIGKILLed `enroll dev`"


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        data_dir = tmp_path / "data"
        done = subprocess.run(
            [str(ENROLL), "dev", "--data-dir", str(data_dir), "--temporal-port", str(port),
             "--api-port", str(_free()), "--ui-port", str(_free())],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f"port {port} (--temporal-port) on 127.0.0.1 is in use" in out
    assert not data_dir.exists()  # nothing was started or written


def test_a_dead_temporal_server_stops_the_stack_with_a_message(stack: DevStack) -> None:
    stack.start()
    server = _temporal_server(stack)
    os.kill(server, signal.SIGKILL)
    assert stack.proc is not None
    try:
        status = stack.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("`enroll dev` kept running with its Temporal server dead") from None
    log = stack.log.read_text()
    assert status == 1, log[-2000:]
    assert "the Temporal dev server exited" in log and "stopping the stack" in log


def _free() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
