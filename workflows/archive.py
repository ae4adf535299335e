"""The append-only audit archive: closed workflows outlive Temporal's retention (issue #7).

Temporal deletes a closed workflow's history once the namespace's retention period has passed
(1 to 90 days on Cloud), but an enrollment's audit trail must be kept for years. A sweep,
:func:`archive_closed`, exports every closed chain to an :class:`Archive` *before* retention
deletes it; the audit API (``GET /v1/audit/{workflow_id}``) falls back to the archive for a
workflow Temporal no longer knows.

Each archived entry is exactly the JSON audit export of :func:`workflows.audit.build_export`,
with the raw (still encrypted) history of every run embedded and ``history_sha256`` over it, so
``enroll audit verify ENTRY`` checks it offline like any other export. Entries are named
``<workflow id, percent-encoded>@<latest run id>.json``: one per closed chain, so a workflow id
reused after it closed gets a second entry rather than replacing the first.

The archive is append-only: an entry, once written, is never overwritten or removed by this
code. :class:`DirectoryArchive` is the local (or mounted volume) implementation. The
:class:`Archive` protocol is deliberately small (``put_if_absent``, ``get``, ``list``) so an
object store fits behind it later: an S3 driver maps ``put_if_absent`` onto a conditional
``PutObject`` (``If-None-Match: *``) in a bucket with Object Lock / versioning, ``get`` onto
``GetObject`` and ``list`` onto ``ListObjectsV2`` with a prefix; its manifest can be the
objects' metadata. The protocol's methods are synchronous (as boto3 is); the async callers here
run them in a thread.

Run the sweep more often than the retention period (nightly, say) with ``enroll audit archive``
(or from a Temporal Schedule): a second sweep archives nothing new, so it is safe to repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, unquote

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from workflows.audit import AuditExportError, build_export, export_from_text, fetch_chain

__all__ = [
    "DEFAULT_QUERY",
    "MANIFEST",
    "Archive",
    "ArchiveEntryError",
    "ArchiveReport",
    "ArchivedChain",
    "DirectoryArchive",
    "archive_closed",
    "entry_name",
    "find_archived",
    "workflow_id_of",
]

DEFAULT_QUERY = 'ExecutionStatus != "Running"'
MANIFEST = "manifest.jsonl"
ENTRY_SUFFIX = ".json"
ARCHIVER = {"actor": "archive", "role": "system"}
_TMP_PREFIX = ".tmp-"


class ArchiveEntryError(ValueError):
    """A name that cannot be an archive entry, or an entry that is not a readable export."""


@runtime_checkable
class Archive(Protocol):
    """Append-only storage of named byte strings. Keep it this small (see the module docstring:
    an object-store driver implements the same three methods)."""

    def put_if_absent(
        self, name: str, data: bytes, *, meta: Mapping[str, Any] | None = None
    ) -> bool:
        """Store `data` as `name` unless that name exists; True when this call stored it.

        Never overwrites. `meta` (JSON-serializable) is recorded in the archive's manifest
        alongside the entry."""
        ...

    def get(self, name: str) -> bytes | None:
        """The bytes stored as `name`, or None."""
        ...

    def list(self, prefix: str = "") -> list[str]:
        """The names of the stored entries starting with `prefix`, sorted."""
        ...


# --- Names --------------------------------------------------------------------------------------


def _quoted_id(workflow_id: str) -> str:
    quoted = quote(workflow_id, safe="")  # "@" and "/" are always escaped
    return "%2E" + quoted[1:] if quoted.startswith(".") else quoted


def entry_name(workflow_id: str, run_id: str) -> str:
    """The entry for the chain of `workflow_id` whose latest run is `run_id`."""
    return f"{_quoted_id(workflow_id)}@{quote(run_id, safe='')}{ENTRY_SUFFIX}"


def workflow_id_of(name: str) -> str:
    """The workflow id an entry name was made from."""
    return unquote(name.rsplit("@", 1)[0])


def _check_name(name: str) -> None:
    if (
        not name.endswith(ENTRY_SUFFIX)
        or name.startswith(".")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or name == MANIFEST
    ):
        raise ArchiveEntryError(f"not an archive entry name: {name!r}")


# --- The directory archive ----------------------------------------------------------------------


class DirectoryArchive:
    """An append-only archive in one directory (a local disk or a mounted volume).

    ``put_if_absent`` writes a temporary file in the same directory, fsyncs it, makes it
    read-only (0o444) and hard-links it to its name with ``os.link``, which fails if the name
    exists: an entry is never overwritten, and a reader never sees half an entry. The directory
    is fsynced after the link. Then one JSON line (the entry's name, size, sha256 of the bytes
    and the caller's `meta`) is appended to ``manifest.jsonl`` with ``O_APPEND``. The entries
    are authoritative; the manifest is an index (a crash between the link and the append
    leaves an entry without its line, never a line without its entry).

    Nothing here deletes or rewrites an entry. Note that file modes do not stop root: protect
    the directory itself (a dedicated account, a WORM volume) in production.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"DirectoryArchive({str(self.path)!r})"

    def put_if_absent(
        self, name: str, data: bytes, *, meta: Mapping[str, Any] | None = None
    ) -> bool:
        _check_name(name)
        target = self.path / name
        if target.exists():
            return False
        self.path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=self.path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._fsync_dir()
        line: dict[str, Any] = {
            **(meta or {}),
            "name": name,
            "bytes": len(data),
            "sha256": _sha256(data),
            "stored_at": datetime.now(UTC).isoformat(),
        }
        self._append_manifest(line)
        return True

    def get(self, name: str) -> bytes | None:
        _check_name(name)
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None

    def manifest(self) -> list[dict[str, Any]]:
        """The manifest's lines, oldest first."""
        try:
            text = (self.path / MANIFEST).read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def _append_manifest(self, line: Mapping[str, Any]) -> None:
        data = (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path / MANIFEST, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)  # one write: O_APPEND puts the whole line at the end
            os.fsync(fd)
        finally:
            os.close(fd)

    def _fsync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def list(self, prefix: str = "") -> list[str]:
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return sorted(
            n
            for n in names
            if n.startswith(prefix) and n.endswith(ENTRY_SUFFIX) and not n.startswith(".")
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- The sweep ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedChain:
    """One chain written by a sweep."""

    workflow_id: str
    name: str
    run_ids: list[str]
    closed_at: str | None
    status: str
    history_sha256: str
    bytes: int


@dataclass
class ArchiveReport:
    """What one sweep did, workflow id by workflow id."""

    archived: list[ArchivedChain] = field(default_factory=list)
    already_archived: list[str] = field(default_factory=list)
    still_running: list[str] = field(default_factory=list)
    """The latest run is open (earlier runs of the chain may be closed)."""
    too_recent: list[str] = field(default_factory=list)
    """Closed less than `older_than` ago."""
    not_found: list[str] = field(default_factory=list)
    """Unknown to Temporal (explicit ids only): already deleted, or never existed."""
    failed: dict[str, str] = field(default_factory=dict)
    """workflow id -> what went wrong; the sweep carries on with the others."""

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"archived {len(self.archived)}, already archived {len(self.already_archived)}, "
            f"still running {len(self.still_running)}, too recent {len(self.too_recent)}, "
            f"not found {len(self.not_found)}, failed {len(self.failed)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "archived": [a.__dict__ for a in self.archived],
            "already_archived": self.already_archived,
            "still_running": self.still_running,
            "too_recent": self.too_recent,
            "not_found": self.not_found,
            "failed": self.failed,
        }


def _with_close_before(query: str, cutoff: datetime) -> str:
    stamp = cutoff.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'({query}) AND CloseTime < "{stamp}"' if query.strip() else f'CloseTime < "{stamp}"'


async def _listed_ids(client: Client, query: str) -> list[str]:
    ids: dict[str, None] = {}
    async for execution in client.list_workflows(query):
        ids.setdefault(execution.id)
    return list(ids)


async def archive_closed(
    client: Client,
    archive: Archive,
    *,
    query: str = DEFAULT_QUERY,
    older_than: timedelta | None = None,
    workflow_ids: Sequence[str] | None = None,
    now: datetime | None = None,
    generated_by: Mapping[str, str] | None = None,
) -> ArchiveReport:
    """Export every closed, not yet archived chain to `archive`; idempotent.

    The candidates are the workflow ids of ``client.list_workflows(query)`` (a visibility
    query; each id once, whichever of its runs matched), or `workflow_ids` when given (the
    listing is then skipped: the time-skipping test server does not implement visibility
    listing). For each id, the latest run is described: a running one is left for a later
    sweep, so is one closed less than `older_than` before `now` (default: the wall clock).
    A chain whose entry (:func:`entry_name` of its latest run) exists is not fetched again.
    Otherwise the histories of every run are read (:func:`workflows.audit.fetch_chain`) and
    the JSON export (raw history embedded) is stored with ``put_if_absent``.

    Errors on one workflow are reported in ``failed`` and do not stop the sweep.
    """
    report = ArchiveReport()
    cutoff = None
    if older_than is not None:
        cutoff = (now or datetime.now(UTC)) - older_than
    if workflow_ids is None:
        listing = query if cutoff is None else _with_close_before(query, cutoff)
        candidates = await _listed_ids(client, listing)
    else:
        candidates = list(dict.fromkeys(workflow_ids))
    for workflow_id in candidates:
        try:
            await _archive_one(client, archive, workflow_id, cutoff, report, generated_by)
        except Exception as exc:
            report.failed[workflow_id] = f"{type(exc).__name__}: {exc}"
    return report


async def _archive_one(
    client: Client,
    archive: Archive,
    workflow_id: str,
    cutoff: datetime | None,
    report: ArchiveReport,
    generated_by: Mapping[str, str] | None,
) -> None:
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        report.not_found.append(workflow_id)
        return
    if described.status in (None, WorkflowExecutionStatus.RUNNING):
        report.still_running.append(workflow_id)
        return
    closed_at = described.close_time
    if cutoff is not None and (closed_at is None or closed_at >= cutoff):
        report.too_recent.append(workflow_id)
        return
    name = entry_name(workflow_id, described.run_id)
    if name in await asyncio.to_thread(archive.list, name):
        report.already_archived.append(workflow_id)
        return
    histories = await fetch_chain(client, workflow_id)
    if histories[-1].run_id != described.run_id:
        # A new run began between the describe and the fetch: a later sweep takes it.
        report.still_running.append(workflow_id)
        return
    export = await build_export(
        histories,
        client.data_converter,
        generated_by=dict(generated_by or ARCHIVER),
        include_history=True,
    )
    data = json.dumps(export, sort_keys=True).encode()
    status = described.status.name
    meta = {
        "workflow_id": workflow_id,
        "run_ids": [h.run_id for h in histories],
        "closed_at": closed_at.isoformat() if closed_at else None,
        "status": status,
        "history_sha256": export["history_sha256"],
    }
    if await asyncio.to_thread(archive.put_if_absent, name, data, meta=meta):
        report.archived.append(
            ArchivedChain(
                workflow_id=workflow_id,
                name=name,
                run_ids=meta["run_ids"],
                closed_at=meta["closed_at"],
                status=status,
                history_sha256=export["history_sha256"],
                bytes=len(data),
            )
        )
    else:  # another sweep stored it first
        report.already_archived.append(workflow_id)


# --- Reading back -------------------------------------------------------------------------------


async def find_archived(archive: Archive, workflow_id: str) -> tuple[str, dict[str, Any]] | None:
    """The archived export of `workflow_id`'s latest archived chain (name, export), or None.

    When a reused workflow id has several entries, the one whose last run ended last wins.
    Raises ArchiveEntryError for an entry that is not a readable export. The caller verifies
    the digest (:func:`workflows.audit.verify_export`)."""
    names = await asyncio.to_thread(archive.list, _quoted_id(workflow_id) + "@")
    best: tuple[str, str, dict[str, Any]] | None = None
    for name in names:
        data = await asyncio.to_thread(archive.get, name)
        if data is None:
            continue
        try:
            export = export_from_text(data.decode())
        except (AuditExportError, UnicodeDecodeError) as exc:
            raise ArchiveEntryError(f"archive entry {name} is not an audit export: {exc}") from None
        if export.get("workflow_id") != workflow_id:
            raise ArchiveEntryError(
                f"archive entry {name} holds the export of {export.get('workflow_id')!r}"
            )
        ended = str((export.get("runs") or [{}])[-1].get("last_event_at", ""))
        if best is None or ended > best[0]:
            best = (ended, name, export)
    return None if best is None else (best[1], best[2])
