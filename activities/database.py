"""The read-model database: engine, schema and sessions.

Works on SQLite (dev and sandbox: one file shared by the worker and the API process) and on
PostgreSQL through psycopg 3 (production). Nothing here reads the environment: the settings
module resolves the URL and passes it in.
"""

from __future__ import annotations

import select
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InvalidatePoolError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine
from temporalio.exceptions import ApplicationError

import models.read_model
import models.refdata_tables  # noqa: F401  (register the read-model and reference tables)
from activities.private_files import create_private_file
from models.contracts import READ_MODEL_DATA_REJECTED, READ_MODEL_UNAVAILABLE

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_db_engine",
    "create_schema",
    "describe_error",
    "read_model_errors",
    "rejected_data_error",
    "session",
]

# How long a SQLite writer waits for another process's write lock before failing with
# "database is locked". Writes are short; 5 s covers a burst from a worker and an API process.
SQLITE_BUSY_TIMEOUT_MS = 5_000


def create_db_engine(
    url: str, *, connect_args: Mapping[str, Any] | None = None, echo: bool = False
) -> Engine:
    """An Engine for `url`: `sqlite:///path.db`, `sqlite://` (memory) or
    `postgresql+psycopg://user@host/db` (a bare `postgresql://` uses psycopg 3 too).

    `connect_args` go to the DB-API `connect()` (e.g. `{"options": "-csearch_path=s"}`)."""
    parsed = make_url(url)
    args: dict[str, Any] = dict(connect_args or {})
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, args, echo=echo)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, connect_args=args, echo=echo)
        _ping_when_in_doubt(engine)
        return engine
    raise ValueError(
        f"unsupported read-model database {parsed.drivername!r}: use sqlite:///<file> or "
        "postgresql+psycopg://..."
    )


# A pooled PostgreSQL connection idle this long is pinged before it is handed out (a firewall or
# the server's idle timeout may have dropped it without a word).
PING_IDLE_AFTER_S = 30.0


def _ping_when_in_doubt(engine: Engine) -> None:
    """Hand out live connections, pinging one only when in doubt (issue 22).

    SQLAlchemy's `pool_pre_ping` pings every connection at every checkout: a round trip per
    activity and request, 4% of the worker's time in the throughput benchmark and as many
    statements for PostgreSQL. A connection the server closed (a restart, a shutdown,
    `pg_terminate_backend`) has a readable socket, the server's goodbye or end of file, where a
    live idle one has nothing; that check is a system call. So a connection is pinged when its
    socket is readable, cannot be checked (closed) or sat idle past PING_IDLE_AFTER_S. A failed
    ping recycles the whole pool, as `pool_pre_ping` does: the caller gets a new connection, and
    every other one made before the failure is replaced too.

    What no check at checkout sees (pre-ping neither, whose ping would hang): a peer gone without
    closing (a host lost, an address moved). The first statement on such a connection fails, and
    SQLAlchemy then recycles the pool; an activity retries, the API answers 503."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _live(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None:
            return  # fresh from connect()
        try:
            if _in_doubt(dbapi_connection, idle_since):
                engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise InvalidatePoolError("a pooled connection failed its ping") from exc


def _in_doubt(dbapi_connection: Any, idle_since: float) -> bool:
    """Idle too long, or the server has written to (or closed) an idle connection's socket.
    Raises when the connection cannot say (psycopg raises for a closed one)."""
    if time.monotonic() - idle_since >= PING_IDLE_AFTER_S:
        return True
    poll = select.poll()  # not select(): it refuses descriptors past 1024
    poll.register(dbapi_connection.fileno(), select.POLLIN)
    return bool(poll.poll(0))


def _sqlite_engine(url: str, args: dict[str, Any], *, echo: bool) -> Engine:
    # Activities run their blocking DB work in worker threads (asyncio.to_thread).
    args.setdefault("check_same_thread", False)
    database = make_url(url).database
    in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
    if not in_memory and database and not database.startswith("file:"):
        # The read model holds names and NPIs: the file (and so its -wal and -shm files, which
        # SQLite creates with the database file's mode) is private from its creation.
        create_private_file(Path(database))
    engine = create_engine(
        url,
        connect_args=args,
        echo=echo,
        # One shared connection, or every thread would see its own empty memory database.
        **({"poolclass": StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (the
        # documented SQLAlchemy recipe): sqlite3's legacy mode runs SELECTs outside any
        # transaction, which breaks read-then-write units of work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL lets the API read while the worker writes; NORMAL is durable across process
            # crashes (an OS crash may lose the last commits, which a projection rebuilds).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Deferred: the write lock is taken by the first write, waiting up to the busy timeout.
        # The migrations ask for "BEGIN IMMEDIATE" (activities/migrations).
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))

    return engine


def create_schema(engine: Engine) -> None:
    """Bring the read model's schema to the newest migration (activities/migrations), on
    SQLite and PostgreSQL alike: the schema always comes from the migrations, never from
    `create_all`, so what the tests run on is what production runs on. Safe to call from
    several processes at once (the upgrade holds a lock), and a no-op at head."""
    from activities.migrations import upgrade

    upgrade(engine)


def session(engine: Engine) -> Session:
    """A session whose objects stay readable after commit. Use as a context manager:
    `with session(engine) as s: ...`."""
    return Session(engine, expire_on_commit=False)


def describe_error(exc: SQLAlchemyError) -> str:
    """What failed, told without any value: the statement's kind (INSERT, SELECT...), the driver's
    error class and, where the driver gives it, the SQLSTATE. Never the driver's text: it can
    quote a value (`invalid input syntax ...: "Jane Doe"`, a DETAIL line with the failing row),
    and failure messages end up in history and logs."""
    statement = getattr(exc, "statement", None)
    words = statement.split(None, 1) if isinstance(statement, str) else []
    kind = words[0].upper() if words and words[0].isalpha() else "connection"
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    facts = [type(cause).__name__]
    sqlstate = getattr(cause, "sqlstate", None)  # psycopg 3
    if isinstance(sqlstate, str) and sqlstate:
        facts.append(f"SQLSTATE {sqlstate}")
    sqlite_name = getattr(cause, "sqlite_errorname", None)  # sqlite3
    if isinstance(sqlite_name, str) and sqlite_name:
        facts.append(sqlite_name)
    return f"{kind} failed ({', '.join(facts)})"


def rejected_data_error(exc: SQLAlchemyError, what: str) -> ApplicationError:
    """A non-retryable error for data the database refuses (too long, out of range, ...):
    retrying cannot help, and the operator needs to know."""
    return ApplicationError(
        f"the read model refused {what}: {describe_error(exc)}",
        type=READ_MODEL_DATA_REJECTED,
        non_retryable=True,
    )


@contextmanager
def read_model_errors(what: str) -> Iterator[None]:
    """Database failures as the workflows tell them apart: a refused value is
    ReadModelDataRejected (retrying cannot help), anything else ReadModelUnavailable
    (retried). Both messages are free of the statement's values (see `describe_error`), and the
    original exception is not chained (its text carries them)."""
    try:
        yield
    except (DataError, IntegrityError) as exc:
        raise rejected_data_error(exc, what) from None
    except DBAPIError as exc:
        raise ApplicationError(
            f"the read model is unavailable for {what}: {describe_error(exc)}",
            type=READ_MODEL_UNAVAILABLE,
        ) from None
    except StatementError as exc:  # a value the driver could not even send
        raise rejected_data_error(exc, what) from None
