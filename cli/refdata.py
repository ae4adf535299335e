"""`enroll refdata`: load a public reference file (OIG LEIE, SAM.gov, CMS PPEF, Order and
Referring, revalidation lists) into the read-model database behind a progress bar, and list the
loads. It works on the database directly, like `enroll reindex` (an admin's command on the
engine's host); over HTTP the same is POST /v1/refdata/files/{kind}."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from cli.process import run_async
from cli.render import console, out, print_json
from models.reference_kind import ReferenceKind  # an option's type: Typer builds `enroll` with it

# The database, the Temporal client and the workflows load when a refdata command runs.
if TYPE_CHECKING:
    from models.refdata import ReferenceLoadReport
    from workflows.settings import Settings

refdata_app = typer.Typer(no_args_is_help=True, help="Public reference files for the data checks.")

KindOption = Annotated[
    ReferenceKind,
    typer.Option("--kind", "-k", help="Which file it is (its header is checked against it)."),
]


def _show(report: ReferenceLoadReport) -> None:
    out.print(
        f"load {report.load_id}: {report.kind.value} (header {report.schema_version}), "
        f"{report.rows:,} rows: {report.added:,} added, {report.changed:,} changed, "
        f"{report.removed:,} removed, {report.unchanged:,} unchanged"
        + (f", {report.duplicates:,} repeated keys" if report.duplicates else "")
        + (f", {report.skipped:,} without a key" if report.skipped else "")
    )


async def _start_checks(settings: Settings, report: ReferenceLoadReport) -> str | None:
    """Start the checks of the enrollments the load touched; a Temporal out of reach is one
    warning line (the monthly run catches up), not a failed load."""
    from models.contracts import ReferenceCheckRun
    from workflows.client import connect
    from workflows.reference_checks import start_reference_checks

    try:
        client = await asyncio.wait_for(connect(settings), timeout=10)
        return await start_reference_checks(
            client,
            settings.task_queue,
            ReferenceCheckRun(load_id=report.load_id, kind=report.kind.value),
        )
    except Exception as exc:
        console.print(
            f"[yellow]the load is in, but its checks did not start ({type(exc).__name__}): "
            f"start them with `enroll refdata check --load {report.load_id}` once Temporal is "
            "up, or wait for the monthly run[/yellow]"
        )
        return None


@refdata_app.command("load")
def load(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file.")
    ],
    kind: KindOption,
    source_date: Annotated[
        str | None,
        typer.Option(help="The date the publisher gives the file (YYYY-MM-DD); default today."),
    ] = None,
    actor: Annotated[str, typer.Option(help="Who loads it, for the history.")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    recheck: Annotated[
        bool,
        typer.Option(
            help="Check the enrollments the load touched (needs Temporal at TEMPORAL_ADDRESS)."
        ),
    ] = True,
) -> None:
    """Load FILE as the --kind reference file. A drifted header is refused naming the columns;
    loading the same file again changes nothing; the report counts what was added, changed and
    removed since the last load."""
    published = date.fromisoformat(source_date) if source_date else None

    async def main() -> int:
        from activities.database import create_db_engine, create_schema
        from activities.refdata import load_reference_file
        from models.refdata import ReferenceFileError
        from workflows.settings import load_settings

        settings = load_settings()
        engine = create_db_engine(settings.resolved_database_url())
        create_schema(engine)
        with Progress(
            TextColumn("loading {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=as_json,
        ) as progress:
            task = progress.add_task(file.name, total=file.stat().st_size, rows=0)
            try:
                report = load_reference_file(
                    engine,
                    kind,
                    file,
                    actor=actor,
                    source_date=published,
                    on_progress=lambda read, rows: progress.update(task, completed=read, rows=rows),
                )
            except ReferenceFileError as exc:
                raise RuntimeError(f"{file.name}: {exc}") from None
        checks = await _start_checks(settings, report) if recheck else None
        if as_json:
            print_json({**report.model_dump(mode="json"), "checks_workflow_id": checks})
        else:
            _show(report)
            if checks:
                out.print(f"checking the enrollments it touched: workflow {checks}")
        return 0

    run_async(main)


@refdata_app.command("check")
def check(
    load: Annotated[
        int | None,
        typer.Option("--load", help="Only the enrollments this load touched; default: all."),
    ] = None,
) -> None:
    """Start the data checks of the enrollments (a load's, or every open one) against the
    reference files; their findings and notices follow on each enrollment."""

    async def main() -> int:
        from activities.database import create_db_engine, create_schema
        from activities.refdata import reference_load
        from models.contracts import ReferenceCheckRun
        from workflows.client import connect
        from workflows.reference_checks import ReferenceChecksWorkflow, start_reference_checks
        from workflows.settings import load_settings

        settings = load_settings()
        engine = create_db_engine(settings.resolved_database_url())
        create_schema(engine)
        kind = None
        if load is not None:
            found = reference_load(engine, load)
            if found is None:
                raise RuntimeError(f"there is no load {load}: `enroll refdata loads` lists them")
            kind = found.kind.value
        client = await connect(settings)
        run = ReferenceCheckRun(load_id=load, kind=kind)
        if load is None:
            handle = await client.start_workflow(
                ReferenceChecksWorkflow.run,
                run,
                id=f"reference-checks-manual-{uuid.uuid4().hex[:12]}",
                task_queue=settings.task_queue,
            )
            workflow_id = handle.id
        else:
            workflow_id = await start_reference_checks(client, settings.task_queue, run)
        out.print(f"checking: workflow {workflow_id}")
        return 0

    run_async(main)


@refdata_app.command("loads")
def loads(
    kind: Annotated[
        ReferenceKind | None, typer.Option("--kind", "-k", help="Only this file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The loads, newest first, with what each changed."""

    async def main() -> int:
        from activities.database import create_db_engine, create_schema
        from activities.refdata import reference_loads
        from workflows.settings import load_settings

        engine = create_db_engine(load_settings().resolved_database_url())
        create_schema(engine)
        found = reference_loads(engine, kind)
        if as_json:
            print_json([r.model_dump(mode="json") for r in found])
            return 0
        table = Table("load", "file", "kind", "date", "status", "rows", "+", "~", "-")
        for r in found:
            table.add_row(
                str(r.load_id),
                r.file_name,
                r.kind.value,
                r.source_date.isoformat(),
                r.status,
                f"{r.rows:,}",
                f"{r.added:,}",
                f"{r.changed:,}",
                f"{r.removed:,}",
            )
        out.print(table)
        return 0

    run_async(main)
