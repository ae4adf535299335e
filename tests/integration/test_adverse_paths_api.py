"""Issue 15 over real HTTP: a past-due import is its own outcome and leads the deadlines screen
with its name and what to do (in the sandbox); an initial application for an NPI under a
re-enrollment bar is refused until the bar ends; a second enrollment of the same line of
business is flagged; an approval without an enrollment ID says its enrollment is provisional;
a closed application takes an admin's audited correction."""

from __future__ import annotations

import uuid
from typing import Any

from models.calendar import add_days, add_months, add_years, last_day_of_month
from tests.integration.test_api_reads import eventually, npi
from tests.integration.test_enrollments_api import Stack, enrollment_id, stack
from tests.integration.test_sandbox import Sandbox, sandbox
from tests.integration.test_sandbox import auth as sandbox_auth
from tests.workflow.harness import event_data

__all__ = ["sandbox", "stack"]  # the fixtures

ZONE = "America/New_York"


def us(d: Any) -> str:
    return str(d.strftime("%m/%d/%Y"))


async def test_a_past_due_import_leads_the_deadlines_screen_in_the_sandbox(
    sandbox: Sandbox,
) -> None:
    today = await sandbox.today()
    long_past = last_day_of_month(add_months(today, -3))
    upcoming = last_day_of_month(add_months(today, 4))
    late, fine = enrollment_id(), enrollment_id()
    roster = "\n".join(
        [
            "Enrollment ID,NPI,PTAN,Form,State,Effective Date,Revalidation Due Date,Name",
            f"{fine},{npi(71)},P1,CMS-855I,FL,{us(add_years(upcoming, -5))},{us(upcoming)},"
            "Sunrise Clinic",
            f"{late},{npi(72)},P2,CMS-855I,FL,{us(add_years(long_past, -5))},{us(long_past)},"
            "Jane Q. Doe",
        ]
    )
    r = await sandbox.http.post(
        "/v1/imports", json={"roster_csv": roster}, headers=sandbox_auth("operator")
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["counts"]["created"] == 1 and report["counts"]["past_due"] == 1
    results = {row["enrollment_id"]: row for row in report["results"]}
    assert results[fine]["outcome"] == "created"
    past = results[late]
    assert past["outcome"] == "past_due" and past["status"] == "deactivated"
    assert f"deactivated effective {long_past}" in past["detail"]
    assert "file a reactivation" in past["detail"]

    async def listed() -> bool:
        items = (await sandbox.get("/v1/deadlines", role="auditor"))["items"]
        return {late, fine} <= {i["record"]["id"] for i in items}

    await eventually(listed, "both imports on the deadlines screen")
    screen = await sandbox.get("/v1/deadlines", role="auditor")
    first = screen["items"][0]
    assert first["clock_kind"] == "standing" and first["record"]["id"] == late
    assert first["record"]["legal_name"] == "Jane Q. Doe"
    assert first["record"]["status"] == "deactivated"
    assert first["last_day"] == long_past.isoformat() and first["days_left"] < 0
    assert "file a reactivation" in first["action"] and first["rule"] is None
    # The other enrollment's clocks follow, soonest first, with its name.
    theirs = [i for i in screen["items"] if i["record"]["id"] == fine]
    assert theirs and all(i["record"]["legal_name"] == "Sunrise Clinic" for i in theirs)
    assert [i["last_day"] for i in theirs] == sorted(i["last_day"] for i in theirs)
    # Only the standing ones, when asked.
    standing = await sandbox.get("/v1/deadlines", role="auditor", kind="standing")
    assert [i["record"]["id"] for i in standing["items"]] == [late]
    view = await sandbox.get(f"/v1/enrollments/{late}")
    assert view["status_text"] == f"deactivated effective {long_past}"
    assert view["legal_name"] == "Jane Q. Doe"


async def _listed(stack: Stack, number: str, status: str) -> bool:
    """The read model lists the NPI's enrollment in that status (its projection is done)."""
    items = (await stack.list(npi=number))["items"]
    return bool(items) and items[0]["status"] == status


async def _application(stack: Stack, number: str, **extra: Any) -> Any:
    return await stack.http.post(
        "/v1/applications",
        json={
            "application_id": f"app-{uuid.uuid4().hex[:10]}",
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {
                "legal_name": "Jane Doe",
                "npi": number,
                "ssn": "123-45-6789",
                "state": "FL",
            },
            **extra,
        },
    )


async def _sandbox_application(sandbox: Sandbox, number: str) -> Any:
    return await sandbox.http.post(
        "/v1/applications",
        json={
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {"legal_name": "J", "npi": number, "ssn": "123-45-6789", "state": "FL"},
        },
        headers=sandbox_auth("operator"),
    )


async def test_an_npi_under_a_bar_gets_no_initial_application_until_the_bar_ends(
    sandbox: Sandbox,
) -> None:
    barred = npi(73)
    eid = enrollment_id()
    today = await sandbox.today()
    r = await sandbox.http.post(
        "/v1/enrollments",
        json={
            "enrollment_id": eid,
            "npi": barred,
            "ptan": "P1",
            "form": "CMS-855I",
            "state": "FL",
            "effective_date": add_months(today, -24).isoformat(),
        },
        headers=sandbox_auth("operator"),
    )
    assert r.status_code == 201, r.text
    r = await sandbox.http.post(
        f"/v1/enrollments/{eid}/events",
        json={
            "event": "revoked",
            "data": {
                "notice_date": today.isoformat(),
                "effective_date": today.isoformat(),
                "ground": "felony",
                "bar_years": 1,
                "grounds": "424.535(a)(3)",
            },
            "reason": "revocation letter",
        },
        headers=sandbox_auth("operator"),
    )
    assert r.status_code == 200, r.text
    barred_through = add_days(add_years(today, 1), -1)

    async def projected() -> bool:
        items = (await sandbox.get("/v1/enrollments", npi=barred))["items"]
        return bool(items) and items[0]["status"] == "revoked"

    await eventually(projected, "the revocation in the read model")
    r = await _sandbox_application(sandbox, barred)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"].endswith("/reenrollment-barred")
    assert eid in problem["detail"] and barred_through.isoformat() in problem["detail"]
    assert problem["barred_through"] == barred_through.isoformat()

    # Its last day: still barred; the next day: accepted.
    assert (await sandbox.advance((barred_through - today).days)).status_code == 200
    assert await sandbox.today() == barred_through
    assert (await _sandbox_application(sandbox, barred)).status_code == 409
    assert (await sandbox.advance(1)).status_code == 200
    assert (await _sandbox_application(sandbox, barred)).status_code == 201


async def test_a_second_enrollment_of_the_same_line_of_business_is_flagged(
    stack: Stack,
) -> None:
    number = npi(uuid.uuid4().int % 10**8)
    eid = (await stack.imported(npi=number))["enrollment_id"]

    await eventually(lambda: _listed(stack, number, "active"), "the enrollment in the read model")
    r = await _application(stack, number)
    assert r.status_code == 201, r.text
    (found,) = [f for f in r.json()["findings"] if f["code"] == "already_enrolled"]
    assert found["severity"] == "warning" and eid in found["message"]
    elsewhere = await stack.http.post(
        "/v1/applications",
        json={
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {"legal_name": "J", "npi": number, "ssn": "123-45-6789", "state": "GA"},
        },
    )
    assert elsewhere.status_code == 201
    assert not [f for f in elsewhere.json()["findings"] if f["code"] == "already_enrolled"]


async def _record(stack: Stack, app_id: str, event: str, **data: Any) -> Any:
    r = await stack.http.post(
        f"/v1/applications/{app_id}/events",
        json={"event": event, "data": data, "reason": f"test {event}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_approval_without_an_enrollment_id_says_the_enrollment_is_provisional(
    stack: Stack,
) -> None:
    r = await _application(stack, npi(uuid.uuid4().int % 10**8))
    app_id = r.json()["application_id"]
    today = await stack.today()
    for event in ("submit", "signatures_completed", "received_by_mac", "approved"):
        view = await _record(stack, app_id, event, **event_data(event, today))
    provisional = view["enrollment_id"]
    assert view["enrollment_id_provisional"] is True and provisional.startswith("P")
    assert provisional in view["enrollment"] and "enrollment_id_assigned" in view["enrollment"]

    async def started() -> bool:
        got = await stack.http.get(f"/v1/enrollments/{provisional}")
        return got.status_code == 200 and bool(got.json()["provisional"])

    await eventually(started, "the provisional enrollment")


async def test_a_closed_application_takes_an_admins_audited_correction(
    sandbox: Sandbox,
) -> None:
    app_id = await sandbox.create(74)
    today = await sandbox.today()
    status = await sandbox.record(
        app_id, "submit", "signatures_completed", "received_by_mac", "development_requested"
    )
    assert status == "development_requested"
    # Rejected on day 31, closed 14 days later.
    assert (await sandbox.advance(50)).status_code == 200
    day30, day31 = add_days(today, 30), add_days(today, 31)
    view = await sandbox.get(f"/v1/applications/{app_id}")
    assert view["status"] == "rejected" and not view["clocks"]

    def event(when: Any) -> dict[str, Any]:
        return {
            "event": "development_responded",
            "data": {"responded_on": when.isoformat()},
            "reason": "the response of day 30 was found in the mailroom",
        }

    refused = await sandbox.http.post(
        f"/v1/applications/{app_id}/events", json=event(day30), headers=sandbox_auth("operator")
    )
    assert refused.status_code == 409 and refused.json()["type"].endswith("/record-closed")

    def correction(when: Any, role: str) -> Any:
        return sandbox.http.post(
            f"/v1/applications/{app_id}/corrections", json=event(when), headers=sandbox_auth(role)
        )

    assert (await correction(day30, "operator")).status_code == 403
    assert (await correction(day30, "auditor")).status_code == 403
    late = await correction(day31, "admin")  # after the window: the rejection stands
    assert late.status_code == 409, late.text
    assert (await sandbox.get(f"/v1/applications/{app_id}"))["status"] == "rejected"
    done = await correction(day30, "admin")
    assert done.status_code == 200, done.text
    view = done.json()
    assert view["status"] == "in_review"
    reopened, responded = view["events"][-2:]
    assert (reopened["event"], reopened["role"]) == ("reopened", "admin")
    assert reopened["reason"] == "the response of day 30 was found in the mailroom"
    assert (responded["event"], responded["event_date"]) == (
        "development_responded",
        day30.isoformat(),
    )
    audit = await sandbox.get(
        f"/v1/audit/application-{app_id}", role="auditor", include_history="true"
    )
    assert len(audit["raw_history"]) == 2  # both runs: the closed one and the reopened one
