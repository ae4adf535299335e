"""The read model's schema history: Alembic revisions generated from the SQLModel metadata
(models/read_model.py), applied by `enroll db upgrade` and by every process at start.

It lives in activities/ because this layer owns the database's I/O (activities/database.py);
models/ only declares the tables, as data. The revisions ship inside the package, so the image
that runs the worker can migrate its own database; there is no alembic.ini: the configuration
is built here, and the URL always comes from the settings.

One linear chain of revisions. Concurrent starts are safe: the upgrade runs in one transaction
that first takes a lock (a PostgreSQL advisory lock; SQLite's write lock via BEGIN IMMEDIATE),
so a second process waits, then finds the database at head and does nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, TypeDecorator, inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import models.read_model  # noqa: F401  (registers the read-model tables on SQLModel.metadata)

__all__ = [
    "BASELINE",
    "TARGET_METADATA",
    "current_revision",
    "drift",
    "head_revision",
    "new_revision",
    "upgrade",
]

TARGET_METADATA = SQLModel.metadata
HERE = Path(__file__).resolve().parent
# The schema `create_all` made before migrations existed: a database that has the tables but no
# alembic_version is stamped with it, then upgraded (its later revisions are all additive).
BASELINE = "0001"
# Any constant: the key of the PostgreSQL advisory lock serialising concurrent upgrades.
_PG_LOCK_KEY = 0x656E726F6C6C  # "enroll"


def _config(versions: Path | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(versions or HERE / "versions"))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def configure_context(connection: Connection, **options: Any) -> None:
    """Alembic's context for `connection` (used by env.py): SQLite alters through batch mode
    (table copies), since it cannot ALTER most things in place."""
    from alembic import context

    context.configure(
        connection=connection,
        target_metadata=TARGET_METADATA,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_plain_type,
        **options,
    )


def _render_plain_type(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    # Revisions are plain SQLAlchemy, importing nothing from the models (which change later):
    # SQLModel's AutoString is a String, UtcDateTime stores a DateTime(timezone=True).
    if kind != "type":
        return False
    if isinstance(item, AutoString):
        return f"sa.String(length={item.length})" if item.length else "sa.String()"
    if isinstance(item, TypeDecorator):
        impl = item.impl_instance
        if isinstance(impl, DateTime):
            return f"sa.DateTime(timezone={impl.timezone})"
    return False


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _locked(engine: Engine) -> Connection:
    conn = engine.connect()
    if conn.dialect.name == "sqlite":
        # activities/database.py begins SQLite transactions; this one takes the write lock at
        # BEGIN, so two processes never both read "no version" and both create the tables.
        conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
    conn.begin()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    return conn


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the read model to `revision` (the newest by default); returns (before, after)."""
    config = _config()
    with _locked(engine) as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None and inspect(conn).has_table("application"):
            command.stamp(_with(config, conn), BASELINE)
            before = BASELINE
        command.upgrade(_with(config, conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
        conn.commit()
    return before, after or ""


def _with(config: Config, conn: Connection) -> Config:
    config.attributes["connection"] = conn
    return config


def drift(engine: Engine) -> list[Any]:
    """What differs between the models and the migrated database (Alembic's autogenerate
    comparison, what `alembic check` runs): empty when they agree."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "target_metadata": TARGET_METADATA}
        )
        return list(compare_metadata(context, TARGET_METADATA))


def new_revision(engine: Engine, message: str, versions: Path | None = None) -> str | None:
    """Write the next revision into `versions` (default: the package's), generated from the
    difference between the models and `engine`'s database (which must be at head). For
    developers: review the file it writes."""
    config = _config(versions)
    script = ScriptDirectory.from_config(config)
    number = f"{len(list(script.walk_revisions())) + 1:04d}"
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        written = command.revision(config, message=message, autogenerate=True, rev_id=number)
    if written is None or isinstance(written, list):
        return None
    return written.path
