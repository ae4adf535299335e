"""Benchmark of the reference-data loader against a plain `csv` read of the same file.

Writes a generated Order and Referring file (--rows rows, 2,000,000 by default, in the published
2024-04-01 layout, some names with quoted commas), then, each in a fresh child process so each
peak memory is its own:

- baseline: `csv.reader` over the file, every row read, nothing kept;
- load: `activities.refdata.load_reference_file` into an empty read model (SQLite file in the
  temporary directory, or --database-url), the first load of the file;
- reload: the same file loaded again (every record compared, none changed).

It prints rows/s and peak resident memory (ru_maxrss of the child) of each, and the load's
ratios to the baseline. Nothing is asserted: figures, not a verdict.

    python bench/refdata_load.py                 # 2,000,000 rows, SQLite
    python bench/refdata_load.py --rows 200000 --json
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEADER = "NPI,LAST_NAME,FIRST_NAME,PARTB,DME,HHA,PMD,HOSPICE\n"
LAST = ["SMITH", "JOHNSON", "WILLIAMS", '"BROWN, JR"', "JONES", "GARCIA", "MILLER", "DAVIS"]
FIRST = ["JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA"]


@dataclass(frozen=True)
class Phase:
    name: str
    rows: int
    seconds: float
    peak_rss_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def write_file(path: Path, rows: int, seed: int = 17) -> None:
    rng = random.Random(seed)
    flags = ("Y", "N")
    with path.open("w", newline="") as out:
        out.write(HEADER)
        for i in range(rows):
            out.write(
                f"{1000000000 + i},{rng.choice(LAST)},{rng.choice(FIRST)},"
                f"{rng.choice(flags)},{rng.choice(flags)},{rng.choice(flags)},"
                f"{rng.choice(flags)},{rng.choice(flags)}\n"
            )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run_phase(phase: str, path: Path, database_url: str) -> dict[str, Any]:
    """One phase, in this process (the child)."""
    if phase == "csv":
        start = time.perf_counter()
        rows = 0
        with path.open(newline="") as f:
            reader = csv.reader(f)
            next(reader)
            for _ in reader:
                rows += 1
        seconds = time.perf_counter() - start
    else:
        from activities.database import create_db_engine, create_schema
        from activities.refdata import load_reference_file
        from models.refdata import ReferenceKind

        engine = create_db_engine(database_url)
        create_schema(engine)
        start = time.perf_counter()
        report = load_reference_file(
            engine, ReferenceKind.ORDER_REFERRING, path, actor="bench@example.org"
        )
        seconds = time.perf_counter() - start
        rows = report.rows
        engine.dispose()
    return asdict(Phase(phase, rows, seconds, _peak_rss_mb()))


def _child(phase: str, path: Path, database_url: str) -> Phase:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--file", str(path), "--db", database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    return Phase(**json.loads(done.stdout.strip().splitlines()[-1]))


def measure(rows: int, database_url: str | None = None) -> list[Phase]:
    with tempfile.TemporaryDirectory(prefix="refdata-bench-") as tmp:
        path = Path(tmp) / "order_referring.csv"
        write_file(path, rows)
        url = database_url or f"sqlite:///{Path(tmp) / f'bench-{uuid.uuid4().hex}.db'}"
        return [_child("csv", path, url), _child("load", path, url), _child("reload", path, url)]


def table(phases: list[Phase]) -> str:
    baseline = phases[0]
    lines = [f"{'phase':<8} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'peak MB':>8} ratio"]
    for p in phases:
        ratio = (
            f"{baseline.rows_per_second / p.rows_per_second:.1f}x slower, "
            f"{p.peak_rss_mb / baseline.peak_rss_mb:.1f}x memory"
        )
        lines.append(
            f"{p.name:<8} {p.rows:>10,} {p.seconds:>9.1f} {p.rows_per_second:>10,.0f} "
            f"{p.peak_rss_mb:>8.1f} {ratio if p is not baseline else 'baseline'}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, Path(args.file), args.db)))
        return
    phases = measure(args.rows, args.database_url)
    if args.json:
        print(json.dumps([{**asdict(p), "rows_per_second": p.rows_per_second} for p in phases]))
    else:
        print(table(phases))


if __name__ == "__main__":
    main()
