"""The read model's schema comes from the Alembic migrations on SQLite and PostgreSQL alike:
the migrated database matches the models (no drift, the `alembic check` comparison), a database
`create_all` made before migrations existed is adopted, concurrent starts migrate once, and
projections racing from many threads (and engines, as processes would) keep the newest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from activities import migrations
from activities.database import create_db_engine, create_schema
from activities.migrations import (
    BASELINE,
    current_revision,
    drift,
    head_revision,
    new_revision,
    upgrade,
)
from activities.projection import ProjectionActivities
from tests.integration.test_read_model import POSTGRES_URL, _projection, _rows, history

__all__ = ["history"]  # the fixture, shared with the read-model tests

COMPOSITE_INDEXES = {
    "application": {
        "ix_application_updated_at_application_id": ["updated_at", "application_id"],
        "ix_application_organization_id_updated_at": ["organization_id", "updated_at"],
    },
    "enrollment": {
        "ix_enrollment_updated_at_enrollment_id": ["updated_at", "enrollment_id"],
        "ix_enrollment_organization_id_updated_at": ["organization_id", "updated_at"],
    },
    "deadline": {"ix_deadline_organization_id_last_day": ["organization_id", "last_day"]},
}


class Database:
    """An empty database (a SQLite file, or a fresh PostgreSQL schema) and a way to open more
    engines on it, as separate processes would."""

    def __init__(self, url: str, connect_args: dict[str, Any]) -> None:
        self.url, self.connect_args = url, connect_args
        self.engines: list[Engine] = []

    def engine(self) -> Engine:
        engine = create_db_engine(self.url, connect_args=self.connect_args)
        self.engines.append(engine)
        return engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'read_model.db'}", {})
        yield db
        for engine in db.engines:
            engine.dispose()
        return
    schema = f"m_{uuid.uuid4().hex}"
    admin = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    db = Database(POSTGRES_URL, {"options": f"-csearch_path={schema}"})
    try:
        yield db
    finally:
        for engine in db.engines:
            engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def test_the_migrations_build_exactly_the_models(database: Database) -> None:
    engine = database.engine()
    assert current_revision(engine) is None
    assert upgrade(engine) == (None, head_revision())
    assert drift(engine) == []
    inspector = inspect(engine)
    for table, wanted in COMPOSITE_INDEXES.items():
        indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes(table)}
        for name, columns in wanted.items():
            assert indexes.get(name) == columns, (table, name)
    # At head, an upgrade is a no-op.
    assert upgrade(engine) == (head_revision(), head_revision())


def test_drift_is_found(database: Database) -> None:
    engine = database.engine()
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE deadline ADD COLUMN stray VARCHAR(5)"))
        conn.execute(text("DROP INDEX ix_deadline_organization_id_last_day"))
    found = {difference[0] for difference in drift(engine)}
    assert found == {"remove_column", "add_index"}


def test_a_database_create_all_made_is_adopted(database: Database) -> None:
    engine = database.engine()
    # The baseline is the schema create_all made before migrations: build it, then forget
    # the version, as such a database has none.
    upgrade(engine, BASELINE)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    assert upgrade(engine) == (BASELINE, head_revision())
    assert drift(engine) == []


def test_concurrent_starts_migrate_once(database: Database) -> None:
    # Every worker and API replica migrates at start; four at once, each with its own engine.
    engines = [database.engine() for _ in range(4)]
    start = threading.Barrier(len(engines))

    def start_process(engine: Engine) -> tuple[str | None, str]:
        start.wait()
        return upgrade(engine)

    with ThreadPoolExecutor(len(engines)) as pool:
        results = list(pool.map(start_process, engines))
    head = head_revision()
    assert sorted(results, key=str) == sorted(
        [(None, head)] + [(head, head)] * (len(engines) - 1), key=str
    )
    assert drift(engines[0]) == []


def test_projections_racing_from_threads_and_engines_keep_the_newest(
    database: Database, history: dict[int, Any]
) -> None:
    create_schema(database.engine())
    # Two engines stand for two worker processes; eight threads race the five projections of
    # one application, three times over, released together.
    activities = [ProjectionActivities(database.engine()) for _ in range(2)]
    projections = [_projection(history, seq) for seq in (2, 5, 3, 4, 1)] * 3
    start = threading.Barrier(len(projections))

    def project(i: int) -> bool:
        start.wait()
        return activities[i % 2]._project(projections[i])

    with ThreadPoolExecutor(len(projections)) as pool:
        applied = list(pool.map(project, range(len(projections))))
    assert any(applied)
    apps, deadlines = _rows(database.engines[0])
    assert [(a.status, a.projected_seq) for a in apps] == [("development_requested", 5)]
    assert [d.deadline_id for d in deadlines] == ["application-app-1/development_response-5"]


def test_enroll_db_upgrade_and_check(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLL_", "TEMPORAL_"))}
    env = {**clean, "ENROLL_DATABASE_URL": f"sqlite:///{tmp_path / 'rm.db'}"}

    def enroll(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", "db", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    behind = enroll("check")
    assert behind.returncode == 1
    assert "run `enroll db upgrade`" in behind.stderr
    upgraded = enroll("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from an empty database to revision {head_revision()}" in upgraded.stdout
    checked = enroll("check")
    assert checked.returncode == 0, checked.stderr
    assert "no drift" in checked.stdout
    env["ENROLL_DATABASE_URL"] = "postgresql+psycopg://enroll:secret-pw@127.0.0.1:1/enroll"
    unreachable = enroll("upgrade")
    assert unreachable.returncode == 1
    assert "postgresql+psycopg://enroll:***@127.0.0.1:1/enroll: connection failed" in (
        unreachable.stderr
    )
    assert "Traceback" not in unreachable.stderr and "secret-pw" not in unreachable.stderr


def test_a_new_revision_is_generated_from_the_difference(
    database: Database, tmp_path: Path
) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(Path(migrations.__file__).parent / "versions", versions)
    engine = database.engine()
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_deadline_organization_id_last_day"))
    written = new_revision(engine, "restore the deadline index", versions)
    assert written is not None
    source = Path(written).read_text()
    assert f'down_revision = "{head_revision()}"' in source or (
        f"down_revision = '{head_revision()}'" in source
    )
    assert "ix_deadline_organization_id_last_day" in source
    assert "models." not in source and "sqlmodel" not in source  # plain SQLAlchemy only


def test_migrations_only_add_so_old_pods_keep_working() -> None:
    # deploy/README.md, "Upgrades": the migration runs before the rollout, while the previous
    # version still serves; an upgrade that drops or alters would break it. Remove in a later
    # release, once no pod of the version that used it runs (and say so in the revision).
    import ast

    versions = Path(migrations.__file__).parent / "versions"
    for path in sorted(versions.glob("[0-9]*.py")):
        tree = ast.parse(path.read_text())
        (upgrade_fn,) = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
        ]
        calls = {
            node.func.attr
            for node in ast.walk(upgrade_fn)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("op", "batch_op")  # Alembic's operations
        }
        operations = calls - {"batch_alter_table", "f"}
        assert operations, path.name
        assert all(op.startswith(("create_", "add_")) for op in operations), (path.name, operations)
