"""The outward checks against loaded reference files, on a real read model: each fires on its
fact and stays quiet without it; and the monthly Schedule on the dev server."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from activities.claims import check_claims, claim_records
from activities.nppes import NppesClient
from activities.reassignments import reassignment_graph
from activities.refdata import load_reference_file
from activities.reference_checks import (
    ReferenceChecks,
    enrollment_findings,
    exclusion_entries,
    touched_enrollments,
)
from models.checks import CheckedParty
from models.claims import ClaimHeader
from models.contracts import ReferenceCheckRun
from models.nppes import NPPES
from models.read_model import EnrollmentRow
from models.refdata import ReferenceKind
from tests.integration.test_refdata_load import db
from tests.nppes_standin import nppes_standin
from workflows.reference_checks import (
    MONTHLY_SCHEDULE_ID,
    ensure_monthly_schedule,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "refdata"
__all__ = ["db"]  # the fixture: SQLite and PostgreSQL
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def enrollment(engine: Engine, **overrides: Any) -> EnrollmentRow:
    values: dict[str, Any] = {
        "enrollment_id": "I20200101000001",
        "workflow_id": "enrollment-I20200101000001",
        "organization_id": "acme",
        "npi": "1234567893",
        "ptan": "PT1",
        "form": "CMS-855I",
        "legal_name": "Jane Q. Doe",
        "state": "FL",
        "status": "active",
        "effective_date": date(2022, 3, 1),
        "revalidation_due_date": date(2027, 3, 31),
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    row = EnrollmentRow.model_validate(values)
    with Session(engine) as s:
        s.add(row)
        s.commit()
        s.refresh(row)
    return row


def load(engine: Engine, name: str, kind: ReferenceKind) -> int:
    report = load_reference_file(
        engine, kind, FIXTURES / name, actor="admin", source_date=date(2026, 11, 1)
    )
    return report.load_id


def findings_of(engine: Engine, row: EnrollmentRow) -> dict[str, Any]:
    with engine.connect() as conn:
        return {f.code: f for f in enrollment_findings(conn, row)}


def test_nothing_loaded_nothing_found(db: Engine) -> None:
    row = enrollment(db)
    assert findings_of(db, row) == {}


def test_listed_everywhere_and_on_time_is_quiet(db: Engine) -> None:
    row = enrollment(db)
    load(db, "order_referring.csv", ReferenceKind.ORDER_REFERRING)
    load(db, "ppef_enrollment_2025-04-01.csv", ReferenceKind.PPEF_ENROLLMENT)
    load(db, "revalidation_due_dates.csv", ReferenceKind.REVALIDATION_DUE_DATES)
    load(db, "sam_exclusions.csv", ReferenceKind.SAM)  # lists other parties
    assert findings_of(db, row) == {}


def test_each_reconciliation_fires_on_its_fact(db: Engine) -> None:
    row = enrollment(
        db,
        enrollment_id="I20200101000009",
        workflow_id="enrollment-I20200101000009",
        npi="1003000126",
        revalidation_due_date=date(2027, 1, 31),
    )
    load(db, "order_referring.csv", ReferenceKind.ORDER_REFERRING)
    load(db, "ppef_enrollment_2025-04-01.csv", ReferenceKind.PPEF_ENROLLMENT)
    found = findings_of(db, row)
    assert set(found) == {"pecos_enrollment_missing"}  # 1003000126 is in the O&R file
    orphan = enrollment(
        db,
        enrollment_id="I20200101000001",
        workflow_id="enrollment-I20200101000001",
        npi="1245319599",
        revalidation_due_date=date(2027, 1, 31),
    )
    load(db, "revalidation_due_dates.csv", ReferenceKind.REVALIDATION_DUE_DATES)
    found = findings_of(db, orphan)
    assert set(found) == {"not_in_order_referring", "due_date_differs"}
    differs = found["due_date_differs"]
    assert "gives 2027-03-31" in differs.message and "2027-01-31, which its clocks use" in (
        differs.message
    )
    assert differs.source_date == date(2026, 11, 1)


def test_a_group_nobody_reassigns_to(db: Engine) -> None:
    group = enrollment(
        db,
        enrollment_id="O20190101000002",
        workflow_id="enrollment-O20190101000002",
        npi="1245319599",
        form="CMS-855B",
        legal_name="Sunshine Group LLC",
    )
    lonely = enrollment(
        db,
        enrollment_id="O20190101000003",
        workflow_id="enrollment-O20190101000003",
        npi="1003000126",
        form="CMS-855B",
        legal_name="Lonely Clinic LLC",
    )
    assert findings_of(db, lonely) == {}  # the extract is not loaded yet
    load(db, "ppef_reassignment.csv", ReferenceKind.PPEF_REASSIGNMENT)
    assert "group_without_rendering" not in findings_of(db, group)
    found = findings_of(db, lonely)["group_without_rendering"]
    assert "O20190101000003" in found.message and found.source == "PPEF reassignment extract"


def test_an_exclusion_load_touches_only_the_enrollments_it_names(db: Engine) -> None:
    doe = enrollment(db)
    other = enrollment(
        db,
        enrollment_id="I20200101000002",
        workflow_id="enrollment-I20200101000002",
        npi="1003000126",
        legal_name="Mary Roe",
    )
    load_id = load(db, "leie_updated.csv", ReferenceKind.LEIE)
    with db.connect() as conn:
        touched = touched_enrollments(conn, ReferenceCheckRun(load_id=load_id, kind="leie"))
        assert [r.enrollment_id for r in touched] == [doe.enrollment_id]
        every = touched_enrollments(conn, ReferenceCheckRun())
        assert {r.enrollment_id for r in every} == {doe.enrollment_id, other.enrollment_id}
    assert set(findings_of(db, doe)) == {"excluded"}
    repeat = load(db, "leie_updated.csv", ReferenceKind.LEIE)
    with db.connect() as conn:
        assert touched_enrollments(conn, ReferenceCheckRun(load_id=repeat, kind="leie")) == []


async def test_the_monthly_schedule_is_created_once(dev_env: WorkflowEnvironment) -> None:
    task_queue = f"checks-{uuid.uuid4()}"
    client = dev_env.client
    handle = client.get_schedule_handle(MONTHLY_SCHEDULE_ID)
    try:
        await handle.delete()
    except Exception:
        pass  # not there yet
    assert await ensure_monthly_schedule(client, task_queue) is True
    assert await ensure_monthly_schedule(client, task_queue) is False
    described = await handle.describe()
    (calendar,) = described.schedule.spec.calendars
    assert [r.start for r in calendar.day_of_month] == [2]
    await handle.delete()


def test_a_sam_exclusion_by_npi(db: Engine) -> None:
    firm = enrollment(
        db,
        enrollment_id="O20190101000002",
        workflow_id="enrollment-O20190101000002",
        npi="1245319599",
        form="CMS-855B",
        legal_name="Sunshine Group LLC",
    )
    load(db, "sam_exclusions.csv", ReferenceKind.SAM)
    found = findings_of(db, firm)["excluded"]
    assert found.source == "SAM.gov" and found.source_date == date(2026, 11, 1)
    assert "BAD BILLING INC" in (found.evidence or "") and "since 2023-03-01" in (
        found.evidence or ""
    )


def test_claim_lookups_and_the_reassignment_graph(db: Engine) -> None:
    enrollment(
        db,
        enrollment_id="O20190101000002",
        workflow_id="enrollment-O20190101000002",
        npi="1245319599",
        ptan="PTG1",
        form="CMS-855B",
        legal_name="Sunshine Group LLC",
    )
    for name, kind in (
        ("ppef_enrollment_2025-04-01.csv", ReferenceKind.PPEF_ENROLLMENT),
        ("ppef_reassignment.csv", ReferenceKind.PPEF_REASSIGNMENT),
        ("ppef_practice_location.csv", ReferenceKind.PPEF_PRACTICE_LOCATION),
    ):
        load(db, name, kind)
    claim = ClaimHeader(
        billing_npi="1245319599",
        rendering_npi="1234567893",
        ptan="PTG1",
        service_facility_state="FL",
        service_facility_zip="32801",
        date_of_service=date(2026, 11, 30),
    )
    with db.connect() as conn:
        records = claim_records(conn, claim)
        assert records.reassigned_to == ("O20190101000002",)
        assert records.locations == (("ORLANDO", "FL", "328011234"),)
        graph = reassignment_graph(conn, "1234567893")
    assert [link["group"]["ptan"] for link in graph["reassigns_to"]] == ["PTG1"]
    (findings,) = check_claims(db, [claim])
    assert findings == []


async def test_a_run_of_every_check_asks_nppes_about_each_enrollment(db: Engine) -> None:
    """NPPES for enrollments: the monthly run (no load) checks each open enrollment's NPI
    against the registry and replaces its NPPES findings; a reload leaves them as they were."""
    listed = enrollment(db, npi="1003000126", legal_name="Jane Q. Doe", state="MD")
    missing = enrollment(
        db,
        enrollment_id="I20200101000002",
        workflow_id="enrollment-I20200101000002",
        npi="1234567893",
        legal_name="John Roe",
    )
    on = date(2026, 11, 30)
    with nppes_standin() as standin:
        checks = ReferenceChecks(db, NppesClient(standin.url, sleep=_no_sleep))
        monthly = {
            w: (c, f) for w, c, f in await checks.enrollment_targets(ReferenceCheckRun(), on)
        }
        reload = await checks.enrollment_targets(ReferenceCheckRun(load_id=1, kind="ppef"), on)
    ran, found = monthly[listed.workflow_id]
    assert NPPES in ran
    # The registry's name for that NPI is not the enrollment's: told, with NPPES as its source.
    assert {f.code for f in found if f.check == NPPES} >= {"nppes_name_differs"}
    ran, found = monthly[missing.workflow_id]
    assert [f.code for f in found if f.check == NPPES] == ["npi_not_in_nppes"]
    assert all(NPPES not in ran and not [f for f in found if f.check == NPPES]
               for _, ran, found in reload)  # fmt: skip
    # NPPES down: a warning on the enrollment, the other checks still run.
    checks = ReferenceChecks(
        db, NppesClient("http://127.0.0.1:9/api/", sleep=_no_sleep, attempts=1)
    )
    down = {w: f for w, _, f in await checks.enrollment_targets(ReferenceCheckRun(), on)}
    assert [f.code for f in down[listed.workflow_id] if f.check == NPPES] == ["nppes_unreachable"]


async def _no_sleep(_: float) -> None:
    return None


def test_exclusion_rows_by_npi_by_name_and_by_neither(db: Engine) -> None:
    load(db, "leie_updated.csv", ReferenceKind.LEIE)

    def party(name: str, npi: str | None) -> CheckedParty:
        return CheckedParty(
            role="owner",
            label="owner 1",
            field="owners[0]",
            name=name,
            organization=False,
            npi=npi,
        )

    def keys(*parties: CheckedParty) -> list[str]:
        with db.connect() as conn:
            return sorted(e.record_key for e in exclusion_entries(conn, parties))

    by_npi = keys(party("Someone Else", "1234567893"))
    by_name = keys(party("Smith Jr, John", None))  # no NPI: the name alone
    assert len(by_npi) == 1 and len(by_name) == 1 and by_npi != by_name
    assert keys(party("Smith Jr, John", None), party("Someone Else", "1234567893")) == sorted(
        by_npi + by_name
    )
    assert keys(party("Nobody Listed", "1999999999")) == []
