"""The operator commands talk to the engine over HTTP only: building the `enroll` command line,
any command's --help, and an HTTP command itself load neither the Temporal SDK, nor SQLAlchemy,
nor the server (an operator runs `enroll` dozens of times a day and pays every import each time).
Each check runs in a fresh interpreter, since this test process has imported all of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# What only the engine's processes (dev, sandbox, worker, api, reindex, db, refdata) need.
ENGINE_ONLY = (
    "temporalio",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "uvicorn",
    "fastapi",
    "cryptography",
    "pydantic_settings",
    "api",
    "worker",
    "workflows.client",
    "workflows.converter",
    "workflows.settings",
    "activities.database",
    "models.application",
)

# Runs in the fresh interpreter: argv lists in; out, for each command, the engine-only modules
# loaded so far and its exit status.
PROBE = """
import contextlib, io, json, os, sys

ENGINE_ONLY = tuple(json.loads(sys.argv[1]))

def leave(status):  # commands end through os._exit (cli/process.py); this probe goes on
    raise SystemExit(status)

os._exit = leave

def loaded():
    return [p for p in ENGINE_ONLY if any(m == p or m.startswith(p + ".") for m in sys.modules)]

from cli import main  # what the `enroll` script does

found = {"from cli import main": loaded()}
status = {}
for argv in json.loads(sys.argv[2]):
    sys.argv = ["enroll", *argv]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main()
        except SystemExit as exit:
            status[" ".join(argv)] = exit.code
    found[" ".join(argv)] = loaded()
print(json.dumps({"modules": found, "status": status}))
"""


def engine_modules_loaded(*commands: list[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Import `cli` as the `enroll` script does, then run `commands` one after the other in the
    same fresh interpreter: for each, the engine-only modules loaded so far, and its exit
    status."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(ENGINE_ONLY), json.dumps(commands)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.splitlines()[-1])
    return answer["modules"], answer["status"]


def every_command() -> list[list[str]]:
    """Every command path of `enroll`, as its --help lists them (groups included)."""
    import typer

    from cli import app

    def walk(command: object, path: list[str]) -> list[list[str]]:
        subcommands: dict[str, object] = getattr(command, "commands", {})
        return [path] + [p for name, sub in subcommands.items() for p in walk(sub, [*path, name])]

    return walk(typer.main.get_command(app), [])


def test_importing_the_cli_and_every_help_load_no_engine_code() -> None:
    commands = every_command()
    assert ["applications", "list"] in commands and ["refdata", "load"] in commands
    found, status = engine_modules_loaded(*[[*path, "--help"] for path in commands])
    assert set(status.values()) == {0}
    assert {command: modules for command, modules in found.items() if modules} == {}


def test_http_commands_load_no_engine_code() -> None:
    # Nothing listens on port 9 here: each command fails to reach the API, after having built
    # its client, read the dev key file and rendered its error as it would in use.
    closed = ["--api-url", "http://127.0.0.1:9"]
    found, status = engine_modules_loaded(
        ["applications", "list", *closed],
        ["enrollments", "get", "E-1", *closed],
        ["deadlines", *closed],
        ["lifecycle", *closed],
        ["claims", "check", "--billing-npi", "1234567893", "--date-of-service", "today", *closed],
        ["notifications", "list", *closed],
        ["pecos-access", "show", "ORG-1", *closed],
        ["audit", "show", "application-A-1", *closed],
    )
    assert set(status.values()) == {1}  # cannot reach the API (2 would be a bad command line)
    assert {command: modules for command, modules in found.items() if modules} == {}
