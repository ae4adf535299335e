"""Retention (issue #7): closed workflows are exported to an append-only archive before
Temporal's retention deletes them, and the audit API serves them from there afterwards.

The time-skipping test server does not implement visibility listing, so the sweep over it is
given explicit workflow ids; the listing itself is tested on the dev server."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.conftest import TEST_CONVERTER, TEST_SERVER
from tests.integration.test_api_reads import _serve
from tests.integration.test_audit import ZONE, drive
from tests.integration.test_audit import Stack as AuditStack
from tests.integration.test_auth import API_KEYS, headers
from worker import build_worker
from workflows.archive import (
    DEFAULT_QUERY,
    MANIFEST,
    Archive,
    ArchiveEntryError,
    DirectoryArchive,
    archive_closed,
    entry_name,
    find_archived,
    workflow_id_of,
)
from workflows.audit import export_from_text, verify_export
from workflows.settings import Settings

DETAILS = {"legal_name": "Jane Doe", "npi": "1234567893", "state": "FL"}


def settings_for(task_queue: str, archive_dir: Path) -> Settings:
    return Settings(
        task_queue=task_queue,
        default_time_zone=ZONE,
        log_json=False,
        api_keys=API_KEYS,
        archive_dir=archive_dir,
    )


async def create(http: httpx.AsyncClient, app_id: str) -> str:
    r = await http.post(
        "/v1/applications",
        json={
            "application_id": app_id,
            "form": "CMS-855I",
            "purpose": "initial",
            "details": DETAILS,
            "reason": "archive test",
        },
        headers=headers("operator"),
    )
    assert r.status_code == 201, r.text
    return f"application-{app_id}"


# --- The directory archive on its own ------------------------------------------------------------


def test_directory_archive_is_append_only(tmp_path: Path) -> None:
    archive = DirectoryArchive(tmp_path / "archive")
    assert isinstance(archive, Archive)
    assert archive.list() == [] and archive.get("x@r.json") is None  # no directory yet: empty
    name = entry_name("application-a/b@c", "run-1")
    assert "/" not in name and workflow_id_of(name) == "application-a/b@c"
    assert entry_name(".hidden", "r").startswith("%2E")

    assert archive.put_if_absent(name, b'{"v": 1}', meta={"workflow_id": "application-a/b@c"})
    path = archive.path / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    # Never overwritten: the second put reports False and the bytes stay.
    assert not archive.put_if_absent(name, b'{"v": 2}')
    assert not DirectoryArchive(archive.path).put_if_absent(name, b'{"v": 3}')
    assert archive.get(name) == b'{"v": 1}'
    if os.geteuid() != 0:  # root ignores file modes
        with pytest.raises(PermissionError):
            path.open("wb")
    assert archive.put_if_absent(entry_name("application-a", "run-1"), b"{}")
    assert archive.list() == sorted([name, entry_name("application-a", "run-1")])
    assert archive.list(entry_name("application-a", "")[: -len(".json")]) == [
        entry_name("application-a", "run-1")
    ]
    # No temporary file left behind; the manifest has a line per stored entry.
    assert sorted(os.listdir(archive.path)) == sorted([*archive.list(), MANIFEST])
    lines = archive.manifest()
    assert [line["name"] for line in lines] == [name, entry_name("application-a", "run-1")]
    assert lines[0]["workflow_id"] == "application-a/b@c" and lines[0]["bytes"] == 8
    for bad in ("../x.json", "a/b.json", ".tmp-x.json", MANIFEST, "x.txt"):
        with pytest.raises(ArchiveEntryError):
            archive.put_if_absent(bad, b"{}")


# --- A workflow driven to completion on the time-skipping server, then "retention" ---------------


@dataclass
class Stack:
    http: httpx.AsyncClient
    env: WorkflowEnvironment
    settings: Settings


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine, tmp_path: Path
) -> AsyncIterator[Stack]:
    task_queue = f"archive-{uuid.uuid4()}"
    settings = settings_for(task_queue, tmp_path / "archive")
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app) as http:
            yield Stack(http, time_skipping_env, settings)


async def test_archive_then_serve_after_retention(
    stack: Stack, sqlite_engine: Engine, tmp_path: Path
) -> None:
    client = stack.env.client
    app_id = f"arch-{uuid.uuid4().hex[:8]}"
    await drive(AuditStack(stack.http, stack.env), app_id)  # ... -> rejected by the engine
    workflow_id = f"application-{app_id}"
    handle = client.get_workflow_handle(workflow_id)
    # Run the remaining clocks (reconsideration window, grace) out until the workflow closes.
    for _ in range(10):
        described = await handle.describe()
        if described.status != WorkflowExecutionStatus.RUNNING:
            break
        await stack.env.sleep(timedelta(days=100))
    assert described.status == WorkflowExecutionStatus.COMPLETED, described.status
    assert described.status == WorkflowExecutionStatus.COMPLETED
    open_id = await create(stack.http, f"arch-open-{uuid.uuid4().hex[:8]}")

    live = await stack.http.get(f"/v1/audit/{workflow_id}", headers=headers("auditor"))
    assert live.status_code == 200 and live.json()["source"] == "temporal"
    assert live.headers["x-audit-source"] == "temporal"
    digest = live.json()["history_sha256"]

    archive = DirectoryArchive(stack.settings.resolved_archive_dir())
    ids = [workflow_id, open_id, "application-never-existed"]
    report = await archive_closed(client, archive, workflow_ids=ids)
    assert report.ok, report.failed
    [done] = report.archived
    assert done.workflow_id == workflow_id and done.history_sha256 == digest
    assert done.run_ids == [described.run_id] and done.status == "COMPLETED"
    assert report.still_running == [open_id]
    assert report.not_found == ["application-never-existed"]
    assert archive.list() == [entry_name(workflow_id, described.run_id)] == [done.name]

    # The archived file is exactly a verifiable export of the whole chain.
    path = archive.path / done.name
    text = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    export = export_from_text(text)
    assert export["workflow_id"] == workflow_id and export["history_sha256"] == digest
    assert export["generated_by"] == {"actor": "archive", "role": "system"}
    assert export["timeline"] == live.json()["timeline"]
    assert export["timeline"][-1]["kind"] == "closed"
    result = await verify_export(text, converter=TEST_CONVERTER)
    assert result.ok and "timeline matches" in result.message, result.message
    [line] = archive.manifest()
    assert line["name"] == done.name and line["workflow_id"] == workflow_id
    assert line["run_ids"] == [described.run_id] and line["history_sha256"] == digest
    assert line["closed_at"] == described.close_time.isoformat()  # type: ignore[union-attr]

    # A second sweep archives nothing and touches nothing.
    before = (path.read_bytes(), path.stat().st_mtime_ns, (archive.path / MANIFEST).read_bytes())
    again = await archive_closed(client, archive, workflow_ids=ids)
    assert again.archived == [] and again.already_archived == [workflow_id]
    after = (path.read_bytes(), path.stat().st_mtime_ns, (archive.path / MANIFEST).read_bytes())
    assert after == before
    # An overwrite attempt fails and changes nothing.
    assert not archive.put_if_absent(done.name, b'{"format": "forged"}')
    if os.geteuid() != 0:
        with pytest.raises(PermissionError):
            path.open("wb")
    assert path.read_bytes() == before[0]
    # `older_than`: a chain closed less than that long ago waits for a later sweep.
    other = DirectoryArchive(tmp_path / "other")
    recent = await archive_closed(
        client,
        other,
        workflow_ids=[workflow_id],
        older_than=timedelta(days=1),
        now=described.close_time,
    )
    assert recent.too_recent == [workflow_id] and other.list() == []

    # Retention: a FRESH Temporal server (the workflow is unknown there), same archive.
    fresh = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=TEST_CONVERTER
    )
    try:
        app = create_app(stack.settings, client=fresh.client, engine=sqlite_engine)
        async with _serve(app) as http:
            await _served_from_archive(http, app, app_id, workflow_id, digest, tmp_path)
    finally:
        await fresh.shutdown()


async def _served_from_archive(
    http: httpx.AsyncClient,
    app: FastAPI,
    app_id: str,
    workflow_id: str,
    digest: str,
    tmp_path: Path,
) -> None:
    r = await http.get(
        f"/v1/audit/{workflow_id}", params={"include_history": "true"}, headers=headers("auditor")
    )
    assert r.status_code == 200, r.text
    served = r.json()
    assert served["source"] == "archive" and r.headers["x-audit-source"] == "archive"
    assert served["history_sha256"] == digest == r.headers["x-audit-history-sha256"]
    assert served["archive_entry"].startswith(entry_name(workflow_id, "")[: -len(".json")])
    assert (await verify_export(r.text, converter=TEST_CONVERTER)).ok
    # An application id works too; CSV and HTML come from the archived export.
    by_app = await http.get(f"/v1/audit/{app_id}", headers=headers("operator"))
    assert by_app.status_code == 200 and by_app.json()["history_sha256"] == digest
    slim = await http.get(
        f"/v1/audit/{workflow_id}", params={"include_history": "false"}, headers=headers("admin")
    )
    assert slim.status_code == 200 and "raw_history" not in slim.json()
    csv = await http.get(
        f"/v1/audit/{workflow_id}", params={"format": "csv"}, headers=headers("auditor")
    )
    assert csv.status_code == 200 and digest in csv.text
    page = await http.get(
        f"/v1/audit/{workflow_id}", params={"format": "html"}, headers=headers("auditor")
    )
    assert page.status_code == 200 and (await verify_export(page.text)).ok
    assert (await http.get(f"/v1/audit/{workflow_id}")).status_code == 401

    # Absent from both: 404 that says where it looked.
    missing = await http.get("/v1/audit/application-nope", headers=headers("auditor"))
    assert missing.status_code == 404, missing.text
    assert "Temporal or in the audit archive" in missing.json()["detail"]

    # A damaged archive entry is never served.
    entry = served["archive_entry"]
    original = (Path(app.state.settings.resolved_archive_dir()) / entry).read_text()
    at = original.index('"data": "', original.index('"raw_history"')) + 12
    flipped = original[:at] + ("A" if original[at] != "A" else "B") + original[at + 1 :]
    damaged = DirectoryArchive(tmp_path / "damaged")
    assert damaged.put_if_absent(entry, flipped.encode())
    app.state.archive = damaged
    bad = await http.get(f"/v1/audit/{workflow_id}", headers=headers("auditor"))
    assert bad.status_code == 500, bad.text
    assert "failed verification" in bad.json()["title"]
    assert "does not match" in bad.json()["detail"]
    found = await find_archived(damaged, workflow_id)
    assert found is not None and found[0] == entry
    del app.state.archive


# --- Listing closed workflows on the dev server ---------------------------------------------------


async def test_sweep_lists_closed_workflows_on_the_dev_server(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine, tmp_path: Path
) -> None:
    client = dev_env.client
    task_queue = f"archive-list-{uuid.uuid4()}"
    settings = settings_for(task_queue, tmp_path / "archive")
    archive = DirectoryArchive(settings.resolved_archive_dir())
    app = create_app(settings, client=client, engine=sqlite_engine)
    async with build_worker(client, sqlite_engine, task_queue=task_queue), _serve(app) as http:
        closed_id = await create(http, f"list-closed-{uuid.uuid4().hex[:8]}")
        open_id = await create(http, f"list-open-{uuid.uuid4().hex[:8]}")
        await client.get_workflow_handle(closed_id).terminate(reason="archive test: closed")

        # Visibility follows closes with a lag: sweep until the closed one is listed.
        mine = f'TaskQueue = "{task_queue}"'
        deadline = time.monotonic() + 20
        while True:
            report = await archive_closed(client, archive, query=f"{DEFAULT_QUERY} AND {mine}")
            assert report.ok, report.failed
            if report.archived:
                break
            assert time.monotonic() < deadline, "the closed workflow was never listed"
            await asyncio.sleep(0.2)
        [done] = report.archived
        assert done.workflow_id == closed_id and done.status == "TERMINATED"
        assert open_id not in report.still_running  # the default query lists closed runs only
        assert (await verify_export((archive.path / done.name).read_text())).ok

        # Every run of this queue: the open one is seen and left; the closed one is not redone.
        everything = await archive_closed(client, archive, query=mine)
        assert everything.archived == [] and everything.already_archived == [closed_id]
        assert everything.still_running == [open_id]
        # older_than goes into the query: nothing closed a year ago here.
        old = await archive_closed(
            client, DirectoryArchive(tmp_path / "old"), query=mine, older_than=timedelta(days=365)
        )
        assert old.archived == old.already_archived == old.still_running == [] and old.ok
        assert archive.list() == [done.name]
        await client.get_workflow_handle(open_id).terminate(reason="archive test: cleanup")

        # The API on the same server still reads Temporal while it knows the workflow.
        live = await http.get(f"/v1/audit/{closed_id}", headers=headers("auditor"))
        assert live.status_code == 200 and live.json()["source"] == "temporal"
        assert live.json()["history_sha256"] == done.history_sha256
        payload = json.loads((archive.path / done.name).read_text())
        assert payload["history_sha256"] == done.history_sha256
