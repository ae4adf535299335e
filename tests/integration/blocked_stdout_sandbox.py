"""The child process of test_blocked_stdout: `enroll sandbox`'s stack (time-skipping test server,
worker) in a process whose standard output nobody reads once it has said it is ready, as
bench/simulate.py ran it and as a supervisor that stops reading a pipe leaves a worker.

It starts workflows whose first task fails (arguments no EnrollmentWorkflow can decode), each of
which makes the SDK's core log a warning of about 1 KB, more in all than a pipe holds, then
writes to `result` how many of them the worker took (a workflow task started in their history:
a stuck worker polls no more) before `deadline_s`.
Run: python -m tests.integration.blocked_stdout_sandbox DATA_DIR RESULT N DEADLINE_S
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from temporalio.api.enums.v1 import EventType


async def _main(data_dir: Path, result: Path, n: int, deadline_s: float) -> None:
    from activities.database import create_db_engine, create_schema
    from cli.sandbox import _fresh_read_model, sandbox_stack, start_test_server
    from cli.stack import complete_settings
    from workflows.converter import KeyRing
    from workflows.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    settings.database_url = _fresh_read_model(data_dir)
    complete_settings(settings, lambda: KeyRing.generate("blocked").to_config())
    engine = create_db_engine(settings.resolved_database_url())
    create_schema(engine)
    env = await start_test_server(settings)
    try:
        async with sandbox_stack(env, settings, engine):
            print("READY", flush=True)  # the parent reads this line and no other
            handles = [
                await env.client.start_workflow(
                    "EnrollmentWorkflow",
                    "not an enrollment " + "x" * 2_000,
                    id=f"undecodable-{i}",
                    task_queue=settings.task_queue,
                )
                for i in range(n)
            ]
            taken: set[str] = set()
            end = time.monotonic() + deadline_s
            while len(taken) < n and time.monotonic() < end:
                for handle in handles:
                    if handle.id in taken:
                        continue
                    history = await handle.fetch_history()
                    if any(
                        e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
                        for e in history.events
                    ):
                        taken.add(handle.id)
                        # Its attempts would fail for ever and only add load; the task the
                        # worker holds then ends in a warning too ("Task not found").
                        await handle.terminate()
                await asyncio.sleep(1)
            result.write_text(f"{len(taken)} {n}\n")
    finally:
        await env.shutdown()
        engine.dispose()


if __name__ == "__main__":
    data_dir, result, n, deadline_s = sys.argv[1:5]
    asyncio.run(_main(Path(data_dir), Path(result), int(n), float(deadline_s)))
    sys.stderr.flush()
    os._exit(0)  # the SDK's runtime threads can abort the interpreter at exit (sdk-python #300)
