"""The reference-data benchmark's core, small: it yields figures for the three phases.

Checks numbers, never timings: a timing goes in the benchmark, against its own baseline.
"""

from __future__ import annotations

import math
from pathlib import Path

from bench import refdata_load
from models.refdata import ReferenceKind, ReferenceReader


def test_the_generated_file_is_an_order_and_referring_file(tmp_path: Path) -> None:
    path = tmp_path / "or.csv"
    refdata_load.write_file(path, 50)
    with path.open("rb") as f:
        reader = ReferenceReader(ReferenceKind.ORDER_REFERRING, f)
        records = list(reader.records())
    assert reader.schema is not None and reader.schema.version == "2024-04-01"
    assert len({r.npi for r in records}) == 50


def test_refdata_benchmark_produces_figures() -> None:
    phases = refdata_load.measure(rows=3_000)
    assert [p.name for p in phases] == ["csv", "load", "reload"]
    assert all(p.rows == 3_000 for p in phases)
    assert all(math.isfinite(p.rows_per_second) and p.peak_rss_mb > 0 for p in phases)
    table = refdata_load.table(phases)
    assert "baseline" in table and "x memory" in table
