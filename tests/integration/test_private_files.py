"""The payload key, the data dir and the databases are private from their creation (issue 16,
defect 8): created 0600 / 0700 under an ordinary umask, never created open and tightened after
(so their mode is right even when nothing changes it afterwards)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from activities.database import create_db_engine, create_schema
from cli.keys import PAYLOAD_KEYS_FILE, dev_payload_keys
from cli.stack import complete_settings
from workflows.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def ordinary_umask() -> Iterator[None]:
    """The umask most shells run with (group and others may read new files)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file made open and tightened afterwards would show its first mode here."""
    monkeypatch.setattr(Path, "chmod", lambda self, *a, **k: None)


def test_the_dev_payload_key_is_created_0600(tmp_path: Path, no_chmod: None) -> None:
    dev_payload_keys(tmp_path)
    assert mode(tmp_path / PAYLOAD_KEYS_FILE) == 0o600


def test_the_sqlite_read_model_and_its_journal_are_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "read_model.db"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        create_schema(engine)
        with engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM application"))
        created = [path, *(p for p in path.parent.iterdir() if p.name != path.name)]
        assert {p.name for p in created} >= {"read_model.db", "read_model.db-wal"}
        for p in created:
            assert mode(p) == 0o600, p
        assert mode(path.parent) == 0o700
    finally:
        engine.dispose()


def test_the_stacks_data_dir_is_created_0700(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old = os.umask(0o022)
    try:
        complete_settings(Settings(data_dir=data_dir, log_json=False), lambda: "k:unused")
        assert mode(data_dir) == 0o700
        # What the stack creates from then on (its Temporal server's database, its logs) is
        # private too: the stack runs under a private umask.
        probe = data_dir / "temporal.db"
        probe.touch()
        assert mode(probe) == 0o600
    finally:
        os.umask(old)
