"""Loading the public reference files into SQLite and PostgreSQL: idempotent, streaming, and a
reload that reports what was added, changed and removed."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from activities.database import create_db_engine, create_schema
from activities.refdata import RECORDS, load_reference_file, reference_loads
from models.refdata import ReferenceFileError, ReferenceKind

FIXTURES = Path(__file__).parent.parent / "fixtures" / "refdata"
POSTGRES_URL = os.environ.get(
    "ENROLL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
LEIE_HEADER = FIXTURES.joinpath("leie_updated.csv").read_text().splitlines()[0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = create_db_engine(f"sqlite:///{tmp_path / 'refdata.db'}")
        create_schema(eng)
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    eng = create_db_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        create_schema(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def stored(engine: Engine, kind: ReferenceKind) -> dict[str, dict[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(RECORDS.c.key, RECORDS.c.data).where(RECORDS.c.kind == kind.value)
        )
        return {key: json.loads(data) for key, data in rows}


def test_a_load_and_a_repeat_of_it(db: Engine) -> None:
    path = FIXTURES / "leie_updated.csv"
    first = load_reference_file(db, ReferenceKind.LEIE, path, actor="admin@example.org")
    assert (first.status, first.schema_version, first.rows, first.added) == ("done", "2026", 3, 3)
    again = load_reference_file(db, ReferenceKind.LEIE, path, actor="admin@example.org")
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 3)
    assert len(stored(db, ReferenceKind.LEIE)) == 3


def test_a_reload_counts_added_changed_and_removed(db: Engine, tmp_path: Path) -> None:
    load_reference_file(
        db, ReferenceKind.LEIE, FIXTURES / "leie_updated.csv", actor="admin@example.org"
    )
    lines = FIXTURES.joinpath("leie_updated.csv").read_text().splitlines()
    # The business left the file (reinstated), Doe moved, a new exclusion arrived.
    moved = lines[2].replace("2 ELM ST", "7 BAY RD")
    new = (
        "ROE,MARY,,,INDIVIDUAL,NURSE,,1003000126,19800303,9 PINE RD,ATLANTA,GA,30301,1128b4,"
        "20260101,00000000,00000000,"
    )
    update = tmp_path / "UPDATED.csv"
    update.write_text("\n".join([lines[0], lines[1], moved, new]) + "\n")
    report = load_reference_file(db, ReferenceKind.LEIE, update, actor="admin@example.org")
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 1)
    records = stored(db, ReferenceKind.LEIE)
    assert len(records) == 3
    assert any(r["address"] == "7 BAY RD" for r in records.values())
    history = reference_loads(db, ReferenceKind.LEIE)
    assert [h.added for h in history] == [1, 3]  # newest first: the history of each reload


def test_a_drifted_header_loads_nothing_and_says_why(db: Engine) -> None:
    load_reference_file(
        db, ReferenceKind.LEIE, FIXTURES / "leie_updated.csv", actor="admin@example.org"
    )
    with pytest.raises(ReferenceFileError, match="'WVRSTATE'"):
        load_reference_file(
            db, ReferenceKind.LEIE, FIXTURES / "leie_drifted.csv", actor="admin@example.org"
        )
    failed = reference_loads(db, ReferenceKind.LEIE)[0]
    assert failed.status == "failed" and failed.error and "WAIVERSTATE" in failed.error
    assert len(stored(db, ReferenceKind.LEIE)) == 3  # the previous load stands


def test_a_key_twice_in_one_file_counts_once(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "or.csv"
    rows = [f"{1000000000 + i % 2500},L,F,Y,N,N,N,N" for i in range(5000)]
    path.write_text("NPI,LAST_NAME,FIRST_NAME,PARTB,DME,HHA,PMD,HOSPICE\n" + "\n".join(rows))
    report = load_reference_file(db, ReferenceKind.ORDER_REFERRING, path, actor="a@example.org")
    # The repeats fall both in the same batch and in a later one.
    assert (report.rows, report.added, report.duplicates) == (5000, 2500, 2500)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sam_exclusions.csv", ReferenceKind.SAM),
        ("ppef_enrollment_2025-04-01.csv", ReferenceKind.PPEF_ENROLLMENT),
        ("ppef_reassignment.csv", ReferenceKind.PPEF_REASSIGNMENT),
        ("ppef_practice_location.csv", ReferenceKind.PPEF_PRACTICE_LOCATION),
        ("order_referring.csv", ReferenceKind.ORDER_REFERRING),
        ("revalidation_due_dates.csv", ReferenceKind.REVALIDATION_DUE_DATES),
        ("group_reassignment.csv", ReferenceKind.GROUP_REASSIGNMENT),
    ],
)
def test_every_kind_loads(sqlite_engine: Engine, name: str, kind: ReferenceKind) -> None:
    progress: list[tuple[int, int]] = []
    report = load_reference_file(
        sqlite_engine,
        kind,
        FIXTURES / name,
        actor="admin@example.org",
        on_progress=lambda b, r: progress.append((b, r)),
    )
    assert report.status == "done" and report.added == report.rows > 0
    assert progress[-1] == ((FIXTURES / name).stat().st_size, report.rows)
