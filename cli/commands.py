"""The `enroll` command: every subcommand, in the order `enroll --help` lists them.

Every module imported here loads on every `enroll` run, --help included, so they import the
engine's code (Temporal SDK, SQLAlchemy, settings, server) inside the commands that use it, never
at module level: operator commands only talk HTTP (tests/integration/test_cli_imports.py).
"""

from __future__ import annotations

import typer

from cli.applications import applications_app
from cli.audit import audit_app
from cli.claims import claims_app
from cli.config import config_app
from cli.db import db_app
from cli.deadlines import deadlines
from cli.engine import api, dev, reindex, sandbox, worker
from cli.enrollments import enrollments_app
from cli.imports import import_roster
from cli.lifecycle import lifecycle
from cli.notifications import notifications_app
from cli.pecos_access import pecos_access_app
from cli.refdata import refdata_app

app = typer.Typer(no_args_is_help=True, help="Medicare enrollment lifecycle engine.")
for command in (dev, sandbox, reindex, worker, api):
    app.command()(command)
app.add_typer(audit_app, name="audit")
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(applications_app, name="applications")
app.add_typer(enrollments_app, name="enrollments")
app.add_typer(refdata_app, name="refdata")
app.add_typer(claims_app, name="claims")
app.command("deadlines")(deadlines)
app.command("lifecycle")(lifecycle)
app.command("import")(import_roster)
app.add_typer(notifications_app, name="notifications")
app.add_typer(pecos_access_app, name="pecos-access")


def main() -> None:
    app()
