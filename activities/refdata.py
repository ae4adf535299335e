"""Loading a public reference file into the reference tables (models/refdata_tables.py).

A load streams the file (memory bounded by the batch, not the file), compares each record with
the one stored under its key, and in one transaction inserts what is new, rewrites what changed,
marks what is unchanged as seen, and deletes what the file no longer has. A failed load changes
nothing (its load row says why); loading the same file again changes nothing and reports zero
added, changed and removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from models.refdata import (
    ReferenceFileError,
    ReferenceKind,
    ReferenceLoadReport,
    ReferenceReader,
    ReferenceRecord,
    name_key,
)
from models.refdata_tables import ReferenceLoadRow, ReferenceRecordRow

# Records compared and written per round trip: large enough to amortise it, small enough that
# memory stays flat (a few MB) whatever the file's size.
BATCH_ROWS = 2_000

RECORDS = cast(Table, ReferenceRecordRow.__table__)  # type: ignore[attr-defined]
LOADS = cast(Table, ReferenceLoadRow.__table__)  # type: ignore[attr-defined]

Progress = Callable[[int, int], None]  # (bytes read, data rows read)

# Built once: the compiled statements are cached, and the IN lists are expanded at execution
# (compiling a fresh 2,000-parameter IN per batch was a tenth of a load's time).
_STORED = select(RECORDS.c.key, RECORDS.c.fingerprint, RECORDS.c.seen_load).where(
    RECORDS.c.kind == bindparam("b_kind"), RECORDS.c.key.in_(bindparam("b_keys", expanding=True))
)
_SEEN = (
    update(RECORDS)
    .where(
        RECORDS.c.kind == bindparam("b_kind"),
        RECORDS.c.key.in_(bindparam("b_keys", expanding=True)),
    )
    .values(seen_load=bindparam("b_load"))
)


class _CountedLines:
    """The file's lines as bytes, counting what was read for a progress bar."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.bytes += len(line)
            yield line


def _batches(records: Iterable[ReferenceRecord]) -> Iterator[list[ReferenceRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH_ROWS)):
        yield batch


def load_reference_file(
    engine: Engine,
    kind: ReferenceKind,
    path: Path,
    *,
    actor: str,
    file_name: str | None = None,
    source_date: date | None = None,
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> ReferenceLoadReport:
    """Load `path` as a `kind` file; raise ReferenceFileError (recorded on the load row) when it
    is not one."""
    started = now or datetime.now(UTC)
    with path.open("rb") as stream:
        return load_reference_stream(
            engine,
            kind,
            stream,
            actor=actor,
            file_name=file_name or path.name,
            source_date=source_date or started.date(),
            now=started,
            on_progress=on_progress,
        )


def load_reference_stream(
    engine: Engine,
    kind: ReferenceKind,
    stream: IO[bytes],
    *,
    actor: str,
    file_name: str,
    source_date: date,
    now: datetime,
    on_progress: Progress | None = None,
) -> ReferenceLoadReport:
    with engine.begin() as conn:
        inserted = conn.execute(
            insert(LOADS).values(
                kind=kind.value,
                file_name=file_name[:300],
                source_date=source_date,
                actor=actor[:200],
                status="loading",
                started_at=now,
            )
        ).inserted_primary_key
        assert inserted is not None
        load_id = int(inserted[0])
    counts = dict.fromkeys(("added", "changed", "unchanged", "duplicates"), 0)
    lines = _CountedLines(stream)
    reader = ReferenceReader(kind, lines)
    try:
        with engine.begin() as conn:
            # Write first: on SQLite a transaction that read first and writes later fails at
            # once ("database is locked") if another process wrote meanwhile, while one that
            # starts by writing waits its turn (the busy timeout). PostgreSQL does not care.
            conn.execute(update(LOADS).where(LOADS.c.load_id == load_id).values(status="loading"))
            for batch in _batches(reader.records()):
                _apply_batch(conn, kind, load_id, batch, counts)
                if on_progress is not None:
                    on_progress(lines.bytes, reader.data_rows)
            removed = conn.execute(
                delete(RECORDS).where(RECORDS.c.kind == kind.value, RECORDS.c.seen_load != load_id)
            ).rowcount
            values: dict[str, Any] = {
                **counts,
                "removed": removed,
                "rows": reader.data_rows,
                "skipped": reader.skipped_rows,
                "schema_version": reader.schema.version if reader.schema else None,
                "status": "done",
                "finished_at": datetime.now(UTC),
            }
            conn.execute(update(LOADS).where(LOADS.c.load_id == load_id).values(**values))
    except ReferenceFileError as exc:
        _failed(engine, load_id, str(exc))
        raise
    except Exception as exc:
        # Only the error's type: a database message may quote the row's values.
        _failed(engine, load_id, f"{type(exc).__name__} while loading")
        raise
    if on_progress is not None:
        on_progress(lines.bytes, reader.data_rows)
    report = reference_load(engine, load_id)
    assert report is not None
    return report


def _failed(engine: Engine, load_id: int, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(LOADS)
            .where(LOADS.c.load_id == load_id)
            .values(status="failed", error=error, finished_at=datetime.now(UTC))
        )


def _apply_batch(
    conn: Connection,
    kind: ReferenceKind,
    load_id: int,
    batch: list[ReferenceRecord],
    counts: dict[str, int],
) -> None:
    fresh: dict[str, ReferenceRecord] = {}
    for record in batch:
        if record.key in fresh:
            counts["duplicates"] += 1
        else:
            fresh[record.key] = record
    stored = {
        key: (fingerprint, seen)
        for key, fingerprint, seen in conn.execute(
            _STORED, {"b_kind": kind.value, "b_keys": list(fresh)}
        )
    }
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    unchanged: list[str] = []
    for key, record in fresh.items():
        before = stored.get(key)
        if before is not None and before[1] == load_id:
            counts["duplicates"] += 1  # the same key in an earlier batch of this file
            continue
        data = record.data
        fingerprint = record.fingerprint_of(data)
        if before is not None and before[0] == fingerprint:
            unchanged.append(key)
            continue
        row = {
            "b_key": key,
            "b_npi": record.npi,
            "b_owner": record.owner,
            "b_link": record.link,
            "b_name": name_key(kind, record.values),
            "b_fingerprint": fingerprint,
            "b_data": data,
        }
        if before is None:
            added.append(row)
        else:
            changed.append(row)
    counts["added"] += len(added)
    counts["changed"] += len(changed)
    counts["unchanged"] += len(unchanged)
    # What an added or changed record writes: its values, and this load as the last to see
    # and to change it.
    written: dict[str, Any] = {
        "npi": bindparam("b_npi"),
        "owner": bindparam("b_owner"),
        "link": bindparam("b_link"),
        "name_key": bindparam("b_name"),
        "fingerprint": bindparam("b_fingerprint"),
        "data": bindparam("b_data"),
        "seen_load": load_id,
        "changed_load": load_id,
    }
    if added:
        conn.execute(
            insert(RECORDS).values(kind=kind.value, key=bindparam("b_key"), **written), added
        )
    if changed:
        conn.execute(
            update(RECORDS)
            .where(RECORDS.c.kind == kind.value, RECORDS.c.key == bindparam("b_key"))
            .values(**written),
            changed,
        )
    if unchanged:
        conn.execute(_SEEN, {"b_kind": kind.value, "b_keys": unchanged, "b_load": load_id})


def reference_load(engine: Engine, load_id: int) -> ReferenceLoadReport | None:
    with engine.connect() as conn:
        row = conn.execute(select(LOADS).where(LOADS.c.load_id == load_id)).mappings().first()
    return _report(row) if row is not None else None


def reference_loads(engine: Engine, kind: ReferenceKind | None = None) -> list[ReferenceLoadReport]:
    """Every load, newest first (the history of what each reload changed)."""
    query = select(LOADS).order_by(LOADS.c.load_id.desc())
    if kind is not None:
        query = query.where(LOADS.c.kind == kind.value)
    with engine.connect() as conn:
        return [_report(row) for row in conn.execute(query).mappings()]


def _report(row: Any) -> ReferenceLoadReport:
    return ReferenceLoadReport(
        load_id=row["load_id"],
        kind=ReferenceKind(row["kind"]),
        schema_version=row["schema_version"],
        file_name=row["file_name"],
        source_date=row["source_date"],
        status=row["status"],
        error=row["error"],
        rows=row["rows"],
        added=row["added"],
        changed=row["changed"],
        removed=row["removed"],
        unchanged=row["unchanged"],
        duplicates=row["duplicates"],
        skipped=row["skipped"],
    )


def record_count(engine: Engine, kind: ReferenceKind) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(RECORDS).where(RECORDS.c.kind == kind.value)
            ).scalar_one()
        )
