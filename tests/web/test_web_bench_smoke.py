"""The web pages benchmark's core, small: it serves the pages and yields figures. Checks that
it measures every case, never what the timings are (they go in the benchmark's output)."""

from __future__ import annotations

import math
from pathlib import Path

from activities.database import create_db_engine, create_schema
from bench import web_pages


async def test_the_web_pages_benchmark_produces_figures(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_schema(engine)
    try:
        cases, deadlines = await web_pages.measure(engine, rows=300, n=3, warmup=1)
    finally:
        engine.dispose()
    assert deadlines > 0
    assert [c.name for c in cases] == [
        "Today, first page",
        "Today, search 'Provider 77777'",
        "Today, page 1,000",
        "Today, last page by its Next link",
        "Record page (application)",
    ]
    for case in cases:
        assert len(case.page) == 3 and len(case.query) == 3
        assert all(math.isfinite(s) and s > 0 for s in case.page + case.query)
    table = web_pages.report(cases, 300, deadlines, 3)
    assert all(c.name in table for c in cases) and "x p50" in table
