"""A worker whose standard output nobody reads keeps taking tasks (issue 22).

The SDK's core wrote its warnings (a workflow task failed, took over 5 s, or timed out) to the
process's standard output from the thread that processes workflow tasks. bench/simulate.py read
the sandbox's stdout only until it was ready: once the pipe was full, that thread blocked in
write() and the worker took no task again, with no CPU used and nothing in the log. The
engine's runtime forwards core's logs to the logging of the process (workflows/runtime.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import child_pids

ROOT = Path(__file__).resolve().parents[2]
# Failed first tasks whose warnings (about 1 KB each) hold twice what a 64 KiB pipe does.
WORKFLOWS = 150
# A stuck worker never takes them; a working one under load 16 to 18 can take minutes.
DEADLINE_S = 120.0


def _waits(pid: int) -> list[str]:
    """Where each thread of `pid` sleeps in the kernel (a blocked write: anon_pipe_write)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.append(f"{(task / 'comm').read_text().strip()}: {(task / 'wchan').read_text()}")
        except OSError:
            continue
    return sorted(found)


def test_a_worker_whose_stdout_is_not_read_keeps_taking_tasks(tmp_path: Path) -> None:
    result = tmp_path / "result"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLL_", "TEMPORAL_"))}
    with (tmp_path / "child.log").open("w") as log:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.blocked_stdout_sandbox",
                str(tmp_path / "data"),
                str(result),
                str(WORKFLOWS),
                str(DEADLINE_S),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "READY", (tmp_path / "child.log").read_text()
            # From here on stdout is never read again, as bench/simulate.py did.
            end = time.monotonic() + DEADLINE_S + 30
            while not result.exists() and time.monotonic() < end and child.poll() is None:
                time.sleep(0.5)
            assert result.exists(), f"the child is stuck; its threads wait in {_waits(child.pid)}"
            taken, started = map(int, result.read_text().split())
            assert taken == started == WORKFLOWS
            # ...and core's warnings are in the process's log, in its format.
            log_text = (tmp_path / "child.log").read_text()
            assert '{"event": "[sdk_core::temporalio_sdk_core::worker::workflow' in log_text
        finally:
            servers = child_pids(child.pid)
            child.kill()  # a worker blocked in write() never finishes its shutdown
            child.wait()
            for pid in servers:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
