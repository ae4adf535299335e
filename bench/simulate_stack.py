"""The sandbox process of bench/simulate.py and what is measured of it: `enroll sandbox`'s
stack served on a port, CPU and peak RSS per process and per thread from /proc, and the history
length of every run read back from the test server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


async def serve(port: int, data_dir: Path, profile: str | None = None) -> None:
    """`enroll sandbox`'s stack on `port`; prints the test server's address once it answers."""
    import faulthandler

    import uvicorn

    from activities.database import create_db_engine, create_schema
    from cli.sandbox import _fresh_read_model, _Server, sandbox_stack, start_test_server
    from cli.stack import complete_settings
    from workflows.converter import KeyRing
    from workflows.settings import load_settings

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks on demand, into the log
    settings = load_settings(data_dir=data_dir)
    settings.database_url = _fresh_read_model(data_dir)
    complete_settings(settings, lambda: KeyRing.generate("sandbox").to_config())
    engine = create_db_engine(settings.resolved_database_url())
    create_schema(engine)
    env = await start_test_server(settings)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        async with sandbox_stack(env, settings, engine) as app:
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, log_config=None, access_log=False
            )
            server = _Server(config)  # stops on SIGTERM without re-raising it
            task = asyncio.ensure_future(server.serve())
            while not server.started:
                await asyncio.sleep(0.05)
            target = env.client.service_client.config.target_host
            print("SANDBOX-READY " + json.dumps({"temporal": target}), flush=True)
            await task
            if profiler is not None and profile:
                profiler.disable()
                profiler.dump_stats(profile)
    finally:
        await env.shutdown()
        engine.dispose()


# --- Measuring processes ---------------------------------------------------------------------


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry.name))
    return out


def threads_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name of a live process."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            stat = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + (int(stat[11]) + int(stat[12])) / TICKS
    busiest = sorted(out.items(), key=lambda kv: -kv[1])[:8]
    return {k: round(v, 1) for k, v in busiest}


def cpu_and_peak(pid: int) -> tuple[float, int]:
    """(user+system CPU seconds, peak RSS in MB) of a live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0
    hwm = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM")), 0)
    return (int(stat[11]) + int(stat[12])) / TICKS, hwm // 1024


async def history_lengths(target: str, ids: list[str]) -> tuple[list[int], int]:
    """Events per run of every enrollment workflow, walking each chain of continue-as-new; and
    how many workflows could not be read."""
    from temporalio.client import Client
    from temporalio.service import RPCError

    client = await Client.connect(target)
    lengths: list[int] = []
    missing = 0
    limit = asyncio.Semaphore(8)

    async def chain(eid: str) -> None:
        nonlocal missing
        run_id: str | None = None
        async with limit:
            while True:
                handle = client.get_workflow_handle(f"enrollment-{eid}", run_id=run_id)
                try:
                    history = await handle.fetch_history()
                except RPCError:
                    missing += 1
                    return
                lengths.append(len(history.events))
                started = history.events[0].workflow_execution_started_event_attributes
                run_id = started.continued_execution_run_id or None
                if run_id is None:
                    return

    await asyncio.gather(*(chain(eid) for eid in ids))
    return lengths, missing
