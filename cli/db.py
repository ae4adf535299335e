"""`enroll db`: the read model's schema. `upgrade` applies the migrations (every process also
does at start; run it first on a deploy so that a failure stops the rollout, not a pod), `check`
fails when the models and the migrated database differ, `revision` writes the next migration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from cli.render import out, print_error

if TYPE_CHECKING:  # SQLAlchemy loads when a db command runs, not with every `enroll`
    from sqlalchemy.engine import Engine

db_app = typer.Typer(no_args_is_help=True, help="The read model's database schema.")


def _engine_url() -> str:
    from workflows.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print_error(f"bad configuration\n{exc}")
        raise typer.Exit(2) from None
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the default SQLite file's home
    return settings.resolved_database_url()


@contextmanager
def _database(url: str) -> Iterator[Engine]:
    """An engine for `url`; a database that cannot be reached or refuses is one clear line
    (never the statement), exit 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from activities.database import create_db_engine

    engine = create_db_engine(url)
    try:
        yield engine
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print_error(f"{_where(url)}: {reason}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _where(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the read model's migrations to ENROLL_DATABASE_URL (safe to run while workers run,
    and from several places at once)."""
    from activities.migrations import upgrade

    url = _engine_url()
    with _database(url) as engine:
        before, after = upgrade(engine, revision)
    moved = "already at" if before == after else f"upgraded from {before or 'an empty database'} to"
    out.print(f"{_where(url)}: {moved} revision {after}", markup=False, highlight=False)


@db_app.command("check")
def db_check() -> None:
    """Exit 1 when the database's schema differs from the models (a migration is missing or
    not applied), listing each difference."""
    from activities.migrations import current_revision, drift, head_revision

    url = _engine_url()
    with _database(url) as engine:
        current, differences = current_revision(engine), drift(engine)
    head = head_revision()
    if current != head:
        print_error(f"{_where(url)} is at revision {current}, not {head}: run `enroll db upgrade`")
        raise typer.Exit(1)
    if differences:
        for difference in differences:
            print_error(f"drift: {difference}")
        raise typer.Exit(1)
    out.print(f"{_where(url)}: revision {head}, no drift", markup=False, highlight=False)


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the migration does.")],
) -> None:
    """For developers: write the next migration into activities/migrations/versions, generated
    from the difference between the models and ENROLL_DATABASE_URL's database (upgraded first).
    Review it, then `ruff format` it."""
    from activities.migrations import new_revision, upgrade

    with _database(_engine_url()) as engine:
        upgrade(engine)
        path = new_revision(engine, message)
    out.print(f"wrote {path}", markup=False, highlight=False)
