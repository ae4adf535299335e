"""Benchmark of the read-model endpoints against the plain SQL they stand on.

Builds a read model with --rows application rows (and their open deadlines), serves the real app
over HTTP (uvicorn on 127.0.0.1 in a process of its own, as `enroll api` serves, or with
--server thread in a thread of this process; a stub stands in for the Temporal client, which
these routes never touch), then times --requests sequential requests of each
endpoint and, in the same run, the plain SQLAlchemy SELECT of the same rows (same WHERE, ORDER
BY and LIMIT, rows fetched into Python). It prints p50/p99 in ms and the ratio of each
endpoint to its baseline. Nothing is asserted: it prints figures, not a verdict.

    python bench/read_endpoints.py                       # SQLite file in a temporary directory
    python bench/read_endpoints.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

On PostgreSQL every table goes into a dedicated schema (bench_<random>, or --pg-schema) that is
dropped at the end. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog
import uvicorn
from sqlalchemy import and_, insert, or_, select, text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.database import create_db_engine, create_schema
from api.app import create_app
from api.reads import decode_cursor
from api.routes.deadlines import DEFAULT_LIMIT, page_queries
from bench.stats import percentile
from cli.process import dies_with_parent
from models.application import ApplicationStatus
from models.calendar import ClockKind, local_date
from models.forms import Form
from models.identifiers import US_STATE_CODES, npi_check_digit
from models.jurisdictions import enrollment_contractor
from models.read_model import ApplicationRow, DeadlineRow, EnrollmentRow
from workflows.settings import Settings

ZONE = "America/New_York"
KEY = secrets.token_urlsafe(32)
APP = ApplicationRow.__table__  # type: ignore[attr-defined]
DEADLINE = DeadlineRow.__table__  # type: ignore[attr-defined]
ENR = EnrollmentRow.__table__  # type: ignore[attr-defined]
# Statuses in which an application has open clocks in real life, and the clock it has.
CLOCK_OF = {
    "pending_signature": ClockKind.SIGNATURES,
    "pending_fee": ClockKind.FEE_PAYMENT,
    "development_requested": ClockKind.DEVELOPMENT_RESPONSE,
    "screening": ClockKind.FINGERPRINTS,
    "denied": ClockKind.RECONSIDERATION_REQUEST,
    "reconsideration_requested": ClockKind.RECONSIDERATION_DECISION,
}
FORMS = [f for f in Form if f is not Form.CMS_588]
STATES = sorted(US_STATE_CODES)


# --- The data -------------------------------------------------------------------------------------


def _npi(n: int) -> str:
    first9 = f"1{n % 100_000_000:08d}"
    return f"{first9}{npi_check_digit(first9)}"


def _mac(form: Form, state: str, cache: dict[tuple[Form, str], str | None]) -> str | None:
    if (form, state) not in cache:
        try:
            cache[(form, state)] = enrollment_contractor(form, state).jurisdiction
        except ValueError:
            cache[(form, state)] = None
    return cache[(form, state)]


def build(engine: Engine, rows: int, today: date, seed: int = 7) -> int:
    """Insert `rows` applications and their deadlines in bulk; return the number of deadlines."""
    rng = random.Random(seed)
    statuses = [s.value for s in ApplicationStatus]
    now = datetime.now(UTC)
    macs: dict[tuple[Form, str], str | None] = {}
    deadlines = 0
    chunk = 5_000
    with engine.begin() as conn:
        for start in range(0, rows, chunk):
            apps: list[dict[str, Any]] = []
            clocks: list[dict[str, Any]] = []
            for n in range(start, min(start + chunk, rows)):
                app_id = f"bench-{n:07d}"
                form = rng.choice(FORMS)
                state = rng.choice(STATES)
                status = rng.choice(statuses)
                npi = _npi(n)
                updated = now - timedelta(seconds=rng.randrange(0, 400 * 86_400))
                kind = CLOCK_OF.get(status)
                last_day = today + timedelta(days=rng.randrange(-20, 400)) if kind else None
                workflow_id = f"application-{app_id}"
                apps.append(
                    {
                        "application_id": app_id,
                        "workflow_id": workflow_id,
                        "organization_id": f"org-{n % 40:02d}",
                        "form": form.value,
                        "purpose": "initial",
                        "status": status,
                        "npi": npi,
                        "legal_name": f"Provider {n}",
                        "state": state,
                        "mac_jurisdiction": _mac(form, state, macs),
                        "web_tracking_id": f"WT-{n:08d}",
                        "case_number": None,
                        "ptan": None,
                        "enrollment_id": None,
                        "submitted_on": (updated - timedelta(days=10)).date(),
                        "receipt_date": None,
                        "approval_date": None,
                        "effective_date": None,
                        "next_deadline": last_day,
                        "next_deadline_kind": kind.value if kind else None,
                        "open_findings": 0,
                        # Deterministic (no draw): the other columns keep their seeded values.
                        "assignee": f"agent-{n % 7}@example.org" if n % 3 else None,
                        "status_since": (updated - timedelta(days=n % 45)).date(),
                        "created_at": updated - timedelta(days=20),
                        "updated_at": updated,
                        "projected_seq": 5,
                    }
                )
                if kind and last_day:
                    clocks.append(
                        {
                            "deadline_id": f"{workflow_id}/{kind.value}-1",
                            "workflow_id": workflow_id,
                            "record_kind": "application",
                            "record_id": app_id,
                            "organization_id": f"org-{n % 40:02d}",
                            "npi": npi,
                            "record_status": status,
                            "clock_kind": kind.value,
                            "rule_key": "development_response",
                            "rule_citation": "42 CFR 424.525(a)(1)",
                            "rule_version": "2024-01-01",
                            "started_on": last_day - timedelta(days=30),
                            "last_day": last_day,
                            "fires_at": datetime.combine(
                                last_day + timedelta(days=1), datetime.min.time(), UTC
                            ),
                            "explanation": f"Development response: due {last_day} — 30 days "
                            f"from the MAC's development request (42 CFR 424.525(a)(1)).",
                        }
                    )
            conn.execute(insert(APP), apps)
            if clocks:
                conn.execute(insert(DEADLINE), clocks)
            deadlines += len(clocks)
    return deadlines


# --- Serving --------------------------------------------------------------------------------------


class _NoTemporal:
    """Stands in for the Temporal client: the read routes never touch it."""


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _app(engine: Engine, key: str) -> Any:
    settings = Settings(
        log_json=False,
        default_time_zone=ZONE,
        api_keys=json.dumps({key: {"actor": "bench@example.org", "role": "auditor"}}),
    )
    return create_app(settings, client=_NoTemporal(), engine=engine)  # type: ignore[arg-type]


def _listening_socket() -> socket.socket:
    # IPPROTO_TCP, not the default proto 0: asyncio sets TCP_NODELAY only on sockets whose proto
    # is TCP, and without it every response waits ~40 ms (Nagle + delayed ACK) on loopback.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _server(engine: Engine, key: str = KEY) -> _Server:
    return _Server(
        uvicorn.Config(_app(engine, key), log_level="warning", access_log=False, lifespan="on")
    )


@contextmanager
def serve_in_thread(engine: Engine) -> Iterator[str]:
    """The app in a thread of this process, sharing its interpreter with the client and the
    baseline (the figures before 2026-12-02 were measured this way; both ways gave the same
    ratios when compared, bench/README.md)."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    server = _server(engine)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def serve_in_process(url: str, pg_schema: str | None) -> Iterator[str]:
    """The app in a process of its own, as `enroll api` serves it: this process's client and
    baseline do not share its interpreter. The child gets the socket already bound (no port
    to lose between), the database URL and key in its environment (not in `ps`), and dies
    with this process however it ends (cli/process.py `dies_with_parent`)."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    env = {**os.environ, _CHILD_URL: url, _CHILD_KEY: KEY, _CHILD_SCHEMA: pg_schema or ""}
    args = [sys.executable, __file__, "--serve", str(sock.fileno())]
    child = subprocess.Popen(args, env=env, pass_fds=[sock.fileno()], preexec_fn=dies_with_parent())
    sock.close()  # the child holds its own copy
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if health.status_code == 200 and child.poll() is None:
                    break
            except httpx.TransportError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the benchmark's server did not start")
            time.sleep(0.05)
        print(f"served by a process of its own (pid {child.pid}), as enroll api serves")
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# The child's settings, from its parent's environment.
_CHILD_URL = "READ_ENDPOINTS_DATABASE_URL"
_CHILD_KEY = "READ_ENDPOINTS_API_KEY"
_CHILD_SCHEMA = "READ_ENDPOINTS_PG_SCHEMA"


def serve_child(fd: int) -> None:
    """--serve FD: the app on the listening socket FD until terminated."""
    sock = socket.socket(fileno=fd)
    schema = os.environ[_CHILD_SCHEMA]
    connect = {"options": f"-csearch_path={schema}"} if schema else {}
    engine = create_db_engine(os.environ[_CHILD_URL], connect_args=connect)
    asyncio.run(_server(engine, os.environ[_CHILD_KEY]).serve(sockets=[sock]))


# --- Measuring ------------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    rows: int
    api: list[float]
    sql: list[float]


def interleaved(
    baseline: Callable[[], int], endpoint: Callable[[], int], n: int, warmup: int
) -> tuple[list[float], list[float], int]:
    """Baseline and endpoint in alternation, so a change in the machine's load hits both."""
    count = endpoint()  # untimed: the first call also decodes the page to count it
    for _ in range(warmup):
        baseline()
        endpoint()
    base, api = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        baseline()
        t1 = time.perf_counter()
        endpoint()
        t2 = time.perf_counter()
        base.append((t1 - t0) * 1000)
        api.append((t2 - t1) * 1000)
    return base, api, count


def measure(
    base_url: str, engine: Engine, today: date, n: int, warmup: int, only: str | None = None
) -> tuple[list[Figures], str]:
    http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)

    def get(path: str, params: dict[str, Any], key: str) -> Callable[[], int]:
        # Timed until the response's last byte, as an HTTP load tool times it: decoding the
        # JSON is the client's work, not the endpoint's, and a page of deadlines is ~600 KB
        # that the SQL baseline never parses. The page is decoded once, untimed, to count it.
        counted: list[int] = []

        def call() -> int:
            r = http.get(path, params=params)
            r.raise_for_status()
            if not counted:  # the first call only (a warm-up one)
                counted.append(len(json.loads(r.content)[key]))
            return counted[0]

        return call

    def sql(query: Any) -> Callable[[], int]:
        def run() -> int:
            with engine.connect() as conn:
                return len(conn.execute(query).all())

        return run

    def deadline_sql(until: date | None) -> Callable[[], int]:
        """The route's own two SELECTs for its default page (no organization, no kind)."""
        standing, clocks = page_queries(None, (), until, DEFAULT_LIMIT)

        def run() -> int:
            with engine.connect() as conn:
                return len(conn.execute(standing).all()) + len(conn.execute(clocks).all())

        return run

    # The 10th page of the unfiltered list: walk nine cursors once, then time the tenth page.
    cursor: str | None = None
    for _ in range(9):
        params: dict[str, Any] = {"limit": 50}
        if cursor:
            params["cursor"] = cursor
        page = http.get("/v1/applications", params=params)
        page.raise_for_status()
        cursor = page.json()["next_cursor"]
        assert cursor, "fewer than 10 pages of 50"
    assert cursor is not None
    after_at, after_id = decode_cursor(cursor)

    newest = (APP.c.updated_at.desc(), APP.c.application_id)
    cases = [
        (
            "GET /v1/deadlines (default page)",
            get("/v1/deadlines", {}, "items"),
            deadline_sql(None),
        ),
        (
            "GET /v1/deadlines?within_days=30",
            get("/v1/deadlines", {"within_days": 30}, "items"),
            deadline_sql(today + timedelta(days=30)),
        ),
        (
            "GET /v1/applications?status=in_review&limit=50",
            get("/v1/applications", {"status": "in_review", "limit": 50}, "items"),
            select(APP).where(APP.c.status.in_(["in_review"])).order_by(*newest).limit(51),
        ),
        (
            "GET /v1/applications?state=FL&limit=50",
            get("/v1/applications", {"state": "FL", "limit": 50}, "items"),
            select(APP).where(APP.c.state.in_(["FL"])).order_by(*newest).limit(51),
        ),
        (
            "GET /v1/applications?limit=50 (10th page, cursor)",
            get("/v1/applications", {"limit": 50, "cursor": cursor}, "items"),
            select(APP)
            .where(
                or_(
                    APP.c.updated_at < after_at,
                    and_(APP.c.updated_at == after_at, APP.c.application_id > after_id),
                )
            )
            .order_by(*newest)
            .limit(51),
        ),
    ]
    out = []
    for name, call, query in cases:
        if only and only not in name:
            continue
        sql_samples, api_samples, count = interleaved(
            query if callable(query) else sql(query), call, n, warmup
        )
        out.append(Figures(name, count, api_samples, sql_samples))
    http.close()
    return out, engine.dialect.name


def report(figures: list[Figures], backend: str, rows: int, deadlines: int, n: int) -> None:
    print(
        f"\n{backend}: {rows:,} applications, {deadlines:,} open deadlines; "
        f"{n} sequential requests each (after warm-up); times in ms\n"
    )
    head = (
        f"{'endpoint':<50} {'rows':>5} {'API p50':>8} {'API p99':>8} "
        f"{'SQL p50':>8} {'SQL p99':>8} {'x p50':>6} {'x p99':>6}"
    )
    print(head)
    print("-" * len(head))
    for f in figures:
        a50, a99, s50, s99 = (
            statistics.median(f.api),
            percentile(f.api, 0.99),
            statistics.median(f.sql),
            percentile(f.sql, 0.99),
        )
        print(
            f"{f.name:<50} {f.rows:>5} {a50:>8.2f} {a99:>8.2f} {s50:>8.2f} {s99:>8.2f} "
            f"{a50 / s50:>6.1f} {a99 / s99:>6.1f}"
        )
    print(
        "\nx = endpoint / baseline, where the baseline is the same SELECT (same WHERE, ORDER BY, "
        "LIMIT) run with SQLAlchemy Core and fetched into Python, without HTTP, auth or JSON."
    )


# --- Main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    parser.add_argument("--rows", type=int, default=100_000, help="applications (100,000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    parser.add_argument("--only", help="the cases whose name contains this, e.g. deadlines")
    parser.add_argument(
        "--pg-schema", help="PostgreSQL schema to create and drop (default bench_<random>)"
    )
    parser.add_argument(
        "--server",
        choices=["process", "thread"],
        default="process",
        help="serve the app in a process of its own (as `enroll api`) or in a thread of this one",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the child: its socket
    args = parser.parse_args(argv)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(30)  # WARNING: no access lines
    )
    if args.serve is not None:
        serve_child(args.serve)
        return

    tmp = tempfile.TemporaryDirectory(prefix="enroll-bench-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'read_model.db'}"
    backend = make_url(url).get_backend_name()
    pg_schema: str | None = None
    admin: Engine | None = None
    if backend == "postgresql":
        pg_schema = args.pg_schema or f"bench_{secrets.token_hex(4)}"
        if not pg_schema.replace("_", "").isalnum():
            parser.error("--pg-schema: letters, digits and _ only")
        admin = create_db_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{pg_schema}"'))
        engine = create_db_engine(url, connect_args={"options": f"-csearch_path={pg_schema}"})
    else:
        engine = create_db_engine(url)
    try:
        create_schema(engine)
        today = local_date(datetime.now(UTC), ZONE)
        t0 = time.perf_counter()
        deadlines = build(engine, args.rows, today)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))  # fresh planner statistics on both databases
        where = f"schema {pg_schema}" if pg_schema else make_url(url).database
        print(
            f"built {args.rows:,} applications and {deadlines:,} deadlines in "
            f"{time.perf_counter() - t0:.1f} s ({backend}, {where})"
        )
        serving = (
            serve_in_process(url, pg_schema)
            if args.server == "process"
            else serve_in_thread(engine)
        )
        with serving as base_url:
            figures, name = measure(base_url, engine, today, args.requests, args.warmup, args.only)
        report(figures, name, args.rows, deadlines, args.requests)
    finally:
        engine.dispose()
        if admin is not None and pg_schema is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{pg_schema}" CASCADE'))
            admin.dispose()
            print(f"dropped schema {pg_schema}")
        tmp.cleanup()


if __name__ == "__main__":
    main()
