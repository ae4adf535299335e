"""ApplicationWorkflow on the real dev server (`temporal server start-dev` from the wheel): what
the Java time-skipping server does not show faithfully."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from models.application import ApplicationStatus
from models.calendar import add_days
from models.read_model import DeadlineRow
from tests.workflow.harness import INDIVIDUAL, ApplicationDriver, driving

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def driver(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[ApplicationDriver]:
    async with driving(dev_env, sqlite_engine) as driver:
        yield driver


async def test_illegal_event_leaves_history_unchanged(driver: ApplicationDriver) -> None:
    handle = await driver.create()
    for event in ("submit", "signatures_completed", "received_by_mac"):
        await driver.record(handle, event)
    await driver.state(handle)  # its side effects done: they add history events
    before = (await handle.fetch_history()).events
    err = await driver.refused(handle, "approved", ptan="P", approval_date="2020-01-01")
    assert err.type == "InvalidEventData"
    err = await driver.refused(handle, "submit", web_tracking_id="WT-2")
    assert err.type == "IllegalTransition"
    assert "Allowed now:" in err.message
    after = (await handle.fetch_history()).events
    assert len(after) == len(before)
    assert [e.event_id for e in after] == [e.event_id for e in before]


async def test_update_that_closes_the_application_returns_its_result(
    driver: ApplicationDriver,
) -> None:
    handle = await driver.create()
    today = await driver.today()
    old = add_days(today, -40)
    await driver.send(
        handle,
        "submit",
        web_tracking_id="WT-1",
        submitted_on=old.isoformat(),
        signed_on=old.isoformat(),
    )
    await driver.send(handle, "received_by_mac", case_number="C", receipt_date=old.isoformat())
    state = await driver.send(
        handle, "development_requested", request_date=add_days(old, 1).isoformat(), items=["x"]
    )
    assert state.status == ApplicationStatus.REJECTED
    record = next(e for e in state.events if e.event == "development_requested")
    assert any("already ended" in n for n in record.notes)
    # The workflow stays open through the late-recording grace, then completes.
    assert [c.kind.value for c in state.clocks] == ["late_recording"]
    assert (await driver.state(handle)).status == ApplicationStatus.REJECTED


async def test_workflows_are_found_by_search_attributes_without_pii(
    driver: ApplicationDriver,
) -> None:
    from workflows.search_attributes import FORM, PROVIDER_NPI, RECORD_STATUS

    handle = await driver.create(details={**INDIVIDUAL, "npi": "1003000126"})
    for event in ("submit", "signatures_completed", "received_by_mac"):
        await driver.record(handle, event)
    desc = await handle.describe()
    attrs = desc.typed_search_attributes
    assert attrs.get(RECORD_STATUS) == "in_review"
    assert attrs.get(PROVIDER_NPI) == "1003000126" and attrs.get(FORM) == "CMS-855I"
    # Nothing sensitive: search attributes are stored in clear in the visibility store.
    flat = repr(attrs)
    assert "123-45-6789" not in flat and "Doe" not in flat
    query = 'ProviderNpi = "1003000126" AND EnrollmentRecordStatus = "in_review"'
    found: list[str] = []
    for _ in range(50):  # visibility is eventually consistent
        found = [w.id async for w in driver.client.list_workflows(query)]
        if handle.id in found:
            break
        await asyncio.sleep(0.1)
    assert handle.id in found


async def test_reindex_rebuilds_the_read_model_from_temporal(
    driver: ApplicationDriver, tmp_path: Path
) -> None:
    from activities.database import create_db_engine, create_schema
    from models.read_model import ApplicationRow
    from worker import reindex

    handle = await driver.create()
    for event in ("submit", "signatures_completed", "received_by_mac", "development_requested"):
        await driver.record(handle, event)
    app_id = handle.id.removeprefix("application-")
    fresh = create_db_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    create_schema(fresh)
    query = f'WorkflowId = "{handle.id}"'
    for _ in range(50):  # visibility is eventually consistent
        counts = await reindex(driver.client, fresh, query=query)
        if counts["applications"]:
            break
        await asyncio.sleep(0.1)
    assert counts == {"applications": 1, "enrollments": 0, "failed": 0}
    with Session(fresh) as s:
        row = s.get(ApplicationRow, app_id)
        deadlines = list(s.exec(select(DeadlineRow).where(DeadlineRow.workflow_id == handle.id)))
    assert row is not None
    # The driver's own read model follows by its projection activity, outside the update: wait
    # until it has projected what the rebuild read, then they must be the same row.
    original = driver.row(app_id)
    for _ in range(150):
        if original is not None and original.projected_seq >= row.projected_seq:
            break
        await asyncio.sleep(0.1)
        original = driver.row(app_id)
    assert original is not None
    assert row.model_dump() == original.model_dump()
    assert [d.clock_kind for d in deadlines] == ["development_response"]
