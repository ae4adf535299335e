"""`enroll audit`: the audit trail of a workflow, read from its Temporal history (show, export,
verify, replay), and the append-only archive of closed workflows."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiUrlOption, operate
from cli.keys import stored_keyring
from cli.process import exit_process, run_async
from cli.render import console, print_error

if TYPE_CHECKING:  # show, export and ui-session go through the API: no Temporal client there
    from workflows.settings import Settings

audit_app = typer.Typer(
    no_args_is_help=True,
    help="The audit trail of a workflow, from its Temporal history: show and export (through "
    "the API, with your key), verify, replay, archive.",
)


def _client_settings() -> Settings:
    """Settings whose payload keys decrypt what the workflows wrote (the dev key file when
    ENROLL_PAYLOAD_KEYS is unset)."""
    from workflows.settings import load_settings

    settings = load_settings()
    if not settings.payload_keys:
        ring = stored_keyring(settings)
        if ring is not None:
            settings = settings.model_copy(update={"payload_keys": ring.to_config()})
    return settings


WorkflowIdArgument = Annotated[
    str,
    typer.Argument(
        help="A workflow id (application-<id>, enrollment-<id>) or an application or "
        "enrollment id, as the API takes it."
    ),
]


@audit_app.command("show")
def audit_show(
    workflow_id: WorkflowIdArgument,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Print the timeline: who, role, event, reason, state before -> after, clocks, timers,
    checks and notifications (no form details). Read through the API with your key."""

    def work(api: Api) -> int:
        from models.audit_report import render_text

        export = api.json("GET", f"/v1/audit/{workflow_id}", params={"include_history": "false"})
        sys.stdout.write(render_text(export))
        return 0

    operate(api_url, api_key, work)


@audit_app.command("export")
def audit_export(
    workflow_id: WorkflowIdArgument,
    format: str = typer.Option("json", "--format", "-f", help="json, csv or html"),
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write (default stdout)"),
    with_history: bool = typer.Option(
        False,
        "--with-history",
        help="JSON: embed the raw (still encrypted) history, which `audit verify` needs. "
        "The HTML report always embeds it.",
    ),
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Export the audit through the API: JSON (the raw history only with --with-history),
    CSV (the digest on every row) or a printable HTML report (verifiable offline)."""
    if format not in ("json", "csv", "html"):
        print_error(f"--format {format!r}: use json, csv or html")
        exit_process(2)

    def work(api: Api) -> int:
        response = api.send(
            "GET",
            f"/v1/audit/{workflow_id}",
            params={"format": format, "include_history": str(with_history).lower()},
        )
        text = response.text if format != "json" else json.dumps(response.json(), indent=1) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
            digest = response.headers.get("x-audit-history-sha256")
            console.print(f"wrote {out} (history sha256 {digest})")
        return 0

    operate(api_url, api_key, work)


@audit_app.command("ui-session")
def audit_ui_session(
    hours: int = typer.Option(8, "--hours", min=1, max=12, help="How long it lasts."),
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Sign in the Temporal Web UI to decrypt event data (auditor or admin key): prints a
    codec endpoint to paste into the UI's codec server setting, valid for --hours."""

    def work(api: Api) -> int:
        session = api.json("POST", "/codec/sessions", body={"hours": hours})
        sys.stdout.write(session["codec_endpoint"] + "\n")
        console.print(session["how_to"], soft_wrap=False)
        return 0

    operate(api_url, api_key, work)


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
        from workflows.settings import load_settings

        ring = None if offline else stored_keyring(load_settings())
        converter = build_data_converter(ring) if ring is not None else None
        result = await verify_export(
            export_file.read_text(encoding="utf-8", errors="replace"), converter=converter
        )
        sys.stdout.write(f"{result}\n")
        return 0 if result.ok else 1

    run_async(main)


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
        from workflows.archive import DirectoryArchive, archive_closed
        from workflows.client import connect

        settings = _client_settings()
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

    run_async(main)


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
        from workflows.client import connect
        from workflows.replay import load_history_file, replay_histories

        settings = _client_settings()
        ring = stored_keyring(settings)
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

    run_async(main)
