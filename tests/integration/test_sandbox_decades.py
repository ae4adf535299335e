"""Forty years in the sandbox: imported enrollments and one started by an approved application
revalidate cycle after cycle while the clock advances a year at a time; every advance answers
200 with what happened, including the one across a child workflow's close (which, on the Java
test server, leaves a time-skipping lock nobody releases: api/sandbox.py gives it back)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from models.calendar import revalidation_due_date
from tests.integration.test_sandbox import Sandbox, auth, npi, sandbox

__all__ = ["sandbox"]

YEARS = 40


async def record(sandbox: Sandbox, eid: str, event: str, **data: Any) -> dict[str, Any]:
    r = await sandbox.http.post(
        f"/v1/enrollments/{eid}/events",
        json={"event": event, "data": data, "reason": f"sandbox {event}"},
        headers=auth("operator"),
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def view(sandbox: Sandbox, eid: str) -> dict[str, Any]:
    return await sandbox.get(f"/v1/enrollments/{eid}")


# About 55 advances and 4 enrollments: ~2 minutes on a shared 2-core machine.
@pytest.mark.timeout(900)
async def test_forty_years_of_cycles_in_yearly_advances(
    sandbox: Sandbox, time_skipping_env: WorkflowEnvironment
) -> None:
    day0 = await sandbox.today()
    imported = {"I20200101000101": "CMS-855I", "I20200101000102": "CMS-855I"}
    imported["O20200101000103"] = "CMS-855S"  # DMEPOS: 3-year cycles
    for n, (eid, form) in enumerate(imported.items()):
        r = await sandbox.http.post(
            "/v1/enrollments",
            json={
                "enrollment_id": eid, "npi": npi(100 + n), "ptan": f"PT{n:07d}", "form": form,
                "state": "FL", "effective_date": (day0 - timedelta(days=30)).isoformat(),
                "reason": "imported from the spreadsheet",
            },
            headers=auth("operator"),
        )  # fmt: skip
        assert r.status_code == 201, r.text

    # One enrollment started by an approved application (a child workflow of it).
    app_id = await sandbox.create(110)
    child = "I20200101000110"
    r = await sandbox.http.post(
        f"/v1/applications/{app_id}/events",
        json={
            "event": "update_draft",
            "data": {"changes": {"enrollment_id": child}},
            "reason": "x",
        },
        headers=auth("operator"),
    )
    assert r.status_code == 200, r.text
    assert await sandbox.record(app_id, "submit", "signatures_completed", "received_by_mac") == (
        "in_review"
    )
    assert await sandbox.record(app_id, "approved") == "approved"
    r = await sandbox.advance(1)
    assert r.status_code == 200, r.text
    assert (await view(sandbox, child))["status"] == "active"

    everyone = [*imported, child]
    dues = {
        eid: date.fromisoformat((await view(sandbox, eid))["revalidation_due_date"])
        for eid in everyone
    }
    cycles = dict.fromkeys(everyone, 1)
    advances = []
    horizon = day0 + timedelta(days=YEARS * 365 + 10)
    while (today := await sandbox.today()) < horizon:
        # Next stop: the soonest revalidation window (150 days before a due date), a year at
        # most, with the year's claims recorded (12 months without one deactivates).
        soonest = min(dues.values()) - timedelta(days=150)
        days = max(1, min(365, (soonest - today).days, (horizon - today).days))
        for eid in everyone:
            await record(sandbox, eid, "claim_activity", latest_claim_date=today.isoformat())
        r = await sandbox.advance(days)
        assert r.status_code == 200, (today, r.text)
        report = r.json()
        advances.append(report)
        assert report["days"] == days and report["steps"] == -(-days // 90)
        today = await sandbox.today()
        for eid in everyone:
            state = await view(sandbox, eid)
            assert state["status"] == "active", (today, eid, state["status"])
            assert state["cycle"] == cycles[eid], (today, eid)
            # This cycle's revalidation clock is open and ends on its due date.
            due_clocks = [c for c in state["clocks"] if c["kind"] == "revalidation_due"]
            assert [c["last_day"] for c in due_clocks] == [dues[eid].isoformat()], (today, eid)
            if (dues[eid] - today).days <= 150:
                # Filed and approved before the due date: the cycle completes (continue-as-new).
                await record(sandbox, eid, "revalidation_submitted", receipt_date=today.isoformat())
                after = await record(
                    sandbox, eid, "revalidation_approved", approval_date=today.isoformat()
                )
                dmepos = imported.get(eid) == "CMS-855S"
                expected = revalidation_due_date(dues[eid], dmepos=dmepos)
                assert after["revalidation_due_date"] == expected.isoformat(), (today, eid)
                assert after["cycle"] == cycles[eid] + 1
                dues[eid] = expected
                cycles[eid] += 1

    end = await sandbox.today()
    assert (end - day0).days >= YEARS * 365
    assert cycles[child] >= 8 and cycles["O20200101000103"] >= 13
    # Every year's reminders were reported as notices of the advance that sent them.
    assert sum(a["notices_by_kind"].get("reminder", 0) for a in advances) > 0
    assert all(a["status_changes"] == [] for a in advances)

    # The application-started enrollment ends: its close used to wedge the test server's
    # clock (a lock for the closed parent) and every advance after it answered 500.
    await record(sandbox, child, "voluntarily_terminated", effective_date=end.isoformat())
    r = await sandbox.advance(30)
    assert r.status_code == 200, r.text
    r = await sandbox.advance(400)
    assert r.status_code == 200, r.text
    assert r.json()["to"]["today"] == (end + timedelta(days=430)).isoformat()
    handle = time_skipping_env.client.get_workflow_handle(f"enrollment-{child}")
    assert (await handle.describe()).status is not None
    assert (await view(sandbox, child))["status"] == "voluntarily_terminated"


# Two advances of six years each: ~20 s.
@pytest.mark.timeout(300)
async def test_an_enrollment_with_no_cycle_to_complete_outlives_the_test_servers_ten_years(
    sandbox: Sandbox, time_skipping_env: WorkflowEnvironment
) -> None:
    """The time-skipping server gives every run a 10-year run timeout. An enrollment deactivated
    for a missed revalidation has no cycle to complete and so no continue-as-new of its own; it
    must still be there, and answer, twelve sandbox years on."""
    day0 = await sandbox.today()
    eid = "I20200101000120"
    r = await sandbox.http.post(
        "/v1/enrollments",
        json={
            "enrollment_id": eid, "npi": npi(120), "ptan": "PT0000120", "form": "CMS-855I",
            "state": "FL", "effective_date": (day0 - timedelta(days=30)).isoformat(),
            "reason": "imported from the spreadsheet",
        },
        headers=auth("operator"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    for _ in range(2):
        r = await sandbox.advance(6 * 365)
        assert r.status_code == 200, r.text
    state = await view(sandbox, eid)
    assert state["status"] == "deactivated"
    handle = time_skipping_env.client.get_workflow_handle(f"enrollment-{eid}")
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    # It handed over to a new run before the old one's timeout, not after it.
    assert described.run_id != described.raw_description.workflow_execution_info.first_run_id
    today = (await sandbox.today()).isoformat()
    await record(sandbox, eid, "reactivation_submitted", receipt_date=today)
    back = await record(sandbox, eid, "reactivation_approved", approval_date=today)
    assert back["status"] == "active" and back["gaps"], back
