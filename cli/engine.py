"""The commands that run the engine's processes: `dev` and `sandbox` (everything on this
machine), `worker` and `api` (one part each, against a Temporal cluster), and `reindex`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cli.process import run_async
from cli.render import console

# Each command imports the engine's code in its body: see cli/commands.py.


def dev(
    data_dir: Path = typer.Option(
        Path(".enroll"), help="Where Temporal and the read model keep state."
    ),
    api_port: int = typer.Option(8000, help="HTTP API port."),
    temporal_port: int = typer.Option(7233, help="Temporal gRPC port."),
    ui_port: int = typer.Option(8233, help="Temporal Web UI port."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
) -> None:
    """Run everything on this machine: Temporal dev server (SQLite file), worker, API, Web UI."""
    from cli.dev import run_dev

    run_async(lambda: run_dev(data_dir, api_port, temporal_port, ui_port, host))


def sandbox(
    data_dir: Path = typer.Option(Path(".enroll"), help="Where the sandbox keeps its read model."),
    api_port: int = typer.Option(8000, help="HTTP API port."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
) -> None:
    """Run a sandbox: the same stack on the time-skipping test server, where time moves only
    when asked (POST /v1/sandbox/clock/advance {"days": n}). For training and what-if."""
    from cli.sandbox import run_sandbox

    run_async(lambda: run_sandbox(data_dir, api_port, host))


def reindex() -> None:
    """Rebuild the read model (lists, deadlines) from Temporal: every application and enrollment
    workflow is queried and projected again. Needs a worker running to answer the queries."""

    async def main() -> int:
        from activities.database import create_db_engine, create_schema
        from worker import reindex as rebuild
        from workflows.client import connect
        from workflows.settings import load_settings

        settings = load_settings()
        engine = create_db_engine(settings.resolved_database_url())
        create_schema(engine)
        client = await connect(settings)
        counts = await rebuild(client, engine)
        console.print(
            f"reindexed {counts['applications']} applications and {counts['enrollments']} "
            f"enrollments; {counts['failed']} failed (see the log)"
        )
        return 0 if counts["failed"] == 0 else 1

    run_async(main)


INSECURE = typer.Option(
    False,
    "--insecure-no-encryption",
    help="Run without ENROLL_PAYLOAD_KEYS: payloads (names, SSNs...) stored IN CLEAR.",
)


def worker(insecure_no_encryption: bool = INSECURE) -> None:
    """Run a worker against TEMPORAL_ADDRESS (all workflows and activities). Refuses to start
    without ENROLL_PAYLOAD_KEYS unless --insecure-no-encryption."""
    from worker import main as worker_main

    worker_main(insecure_no_encryption)


def api(
    port: int = typer.Option(8000, help="HTTP port."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    insecure_no_encryption: bool = INSECURE,
) -> None:
    """Run the HTTP API against TEMPORAL_ADDRESS and the read-model database; API keys come from
    ENROLL_API_KEYS. Refuses to start without ENROLL_PAYLOAD_KEYS unless
    --insecure-no-encryption."""

    async def main() -> int:
        import structlog
        import uvicorn

        from activities.private_files import PRIVATE_UMASK
        from activities.structured_logging import configure_logging
        from api.app import create_app
        from workflows.client import INSECURE_WARNING, require_keyring
        from workflows.settings import load_settings

        settings = load_settings()
        configure_logging(settings.log_level, json=settings.log_json)
        if require_keyring(settings, insecure_no_encryption=insecure_no_encryption) is None:
            structlog.get_logger("api").warning(INSECURE_WARNING)
        os.umask(PRIVATE_UMASK)  # the read model (SQLite) and its data dir: private
        config = uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            # SIGTERM: stop accepting, let in-flight requests finish for this long.
            timeout_graceful_shutdown=int(settings.api_shutdown_grace_seconds),
        )
        await uvicorn.Server(config).serve()
        return 0

    run_async(main)
