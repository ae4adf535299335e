"""A pooled PostgreSQL connection is handed out only live, and pinged only when in doubt
(activities/database.py, issue 22): one the server ended is replaced without the caller seeing
it; a live one used a moment ago costs no round trip; one idle too long is pinged."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from activities import database
from activities.database import create_db_engine

POSTGRES_URL = os.environ.get(
    "ENROLL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine() -> Iterator[Engine]:
    eng = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    yield eng
    eng.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pings the pool sends, counted."""
    sent: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    assert isinstance(pid, int)
    return pid


def test_a_connection_used_a_moment_ago_is_not_pinged(engine: Engine, pings: list[int]) -> None:
    first = _backend_pid(engine)
    for _ in range(5):
        assert _backend_pid(engine) == first  # the same pooled connection
    assert pings == []


def test_a_connection_the_server_ended_is_replaced_unseen(engine: Engine, pings: list[int]) -> None:
    ended = _backend_pid(engine)  # now idle in the pool
    admin = create_db_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({ended})").scalar_one()
    finally:
        admin.dispose()
    pooled: Any = engine.pool._pool.queue[0]  # type: ignore[attr-defined]
    socket = pooled.dbapi_connection.fileno()
    # The server's goodbye reaches the socket (what the check looks for) within moments.
    assert select.select([socket], [], [], 5)[0], "the ended connection's socket stayed quiet"
    assert _backend_pid(engine) != ended  # no error: the dead one was replaced
    assert pings == [1]


def test_a_connection_idle_too_long_is_pinged(
    engine: Engine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(engine)
    monkeypatch.setattr(database, "PING_IDLE_AFTER_S", 0.05)
    time.sleep(0.1)
    assert _backend_pid(engine) == first  # live: pinged and kept
    assert pings == [1]


def test_a_connection_closed_under_the_pool_is_replaced_unseen(
    engine: Engine, pings: list[int]
) -> None:
    first = _backend_pid(engine)
    pooled: Any = engine.pool._pool.queue[0]  # type: ignore[attr-defined]
    pooled.dbapi_connection.close()  # psycopg refuses fileno() on it
    assert _backend_pid(engine) != first
    assert pings == []  # refused by the check itself: nothing to ping


def test_a_failed_ping_replaces_every_pooled_connection(engine: Engine, pings: list[int]) -> None:
    with engine.connect() as a, engine.connect() as b:  # two connections in the pool
        ended = {conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for conn in (a, b)}
    admin = create_db_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            for pid in ended:
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    finally:
        admin.dispose()
    time.sleep(0.2)  # the goodbyes reach both sockets
    with engine.connect() as a, engine.connect() as b:
        now = {conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for conn in (a, b)}
    assert not now & ended  # neither dead connection was handed out
    assert pings == [1]  # the first failed ping recycled the pool: the other was not pinged
