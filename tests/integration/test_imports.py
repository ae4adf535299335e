"""POST /v1/imports over real HTTP (issue #4): a roster plus the CMS Revalidation Due Date List
starts one enrollment workflow per good row, reports bad rows by line, column and reason, and is
idempotent when re-run."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from models.calendar import add_months, last_day_of_month, revalidation_due_date
from models.read_model import DeadlineRow, EnrollmentRow, enrollment_projection
from tests.integration.test_api_reads import eventually, npi
from tests.integration.test_enrollments_api import Stack, auth, enrollment_id, stack
from workflows.enrollment import EnrollmentWorkflow

__all__ = ["stack"]  # the fixture, shared with the enrollment routes' tests

ENROLLMENT = EnrollmentRow.__table__  # type: ignore[attr-defined]
DEADLINE = DeadlineRow.__table__  # type: ignore[attr-defined]

CMS_HEADER = (
    "Enrollment ID,National Provider Identifier,First Name,Last Name,Organization Name,"
    "Enrollment State Code,Enrollment Type,Provider Type Text,Enrollment Specialty,"
    "Revalidation Due Date,Adjusted Due Date,Individual Total Reassign To,"
    "Receiving Benefits Reassignment"
)


def us(d: date) -> str:
    return d.strftime("%m/%d/%Y")


def cms_line(eid: str, number: str, due: str, adjusted: str = "") -> str:
    return f"{eid},{number},JANE,DOE,,FL,Individual,Physician,Family Practice,{due},{adjusted},1,0"


def expected_computed_due(effective: date, today: date, *, dmepos: bool) -> date:
    """What the workflow computes without a posted date: the first cycle end not yet past."""
    due = revalidation_due_date(effective, dmepos=dmepos)
    while due < today:
        due = revalidation_due_date(due, dmepos=dmepos)
    return due


async def run_import(stack: Stack, **body: Any) -> dict[str, Any]:
    r = await stack.http.post("/v1/imports", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_roster_with_good_and_bad_rows_and_the_cms_due_date_list(stack: Stack) -> None:
    today = await stack.today()
    effective = add_months(today, -26)
    listed = last_day_of_month(add_months(today, 5))
    first_listed = last_day_of_month(add_months(today, 2))
    adjusted = last_day_of_month(add_months(today, 6))
    own = last_day_of_month(add_months(today, 14))
    ids = [enrollment_id() for _ in range(8)]
    npis = [npi(uuid.uuid4().int % 10**8) for _ in range(8)]
    org = f"org-{uuid.uuid4().hex[:8]}"
    eff = us(effective)
    roster = "\n".join(
        [
            "\ufeffEnrollment ID,NPI,PTAN,Form,State,Effective Date,Revalidation Due Date,Notes",
            f"{ids[0]},{npis[0]},P0,CMS-855I,FL,{eff},,on the CMS list",
            f"{ids[1]},{npis[1]},P1,855I,GA,{effective.isoformat()},,adjusted on the CMS list",
            f"{ids[2]},{npis[2]},P2,CMS-855I,FL,{eff},,TBD on the CMS list",
            f"{ids[3]},{npis[3]},P3,CMS-855B,TX,{eff},{us(own)},own date",
            f"{ids[4]},{npis[4]},P4,CMS-855S,CA,{eff},,DMEPOS: 3-year cycle",
            f"{ids[5]},1234567890,P5,CMS-855I,FL,{eff},,bad check digit",
            f"{ids[6]},{npis[6]},P6,CMS-855I,ZZ,{eff},,unknown state",
            f"{ids[7]},{npis[7]},P7,CMS-855I,FL,,,no effective date",
        ]
    )
    due_dates = "\n".join(
        [
            CMS_HEADER,
            cms_line(ids[0], npis[0], us(listed)),
            cms_line(ids[1], npis[1], us(first_listed), adjusted.isoformat()),
            cms_line(ids[2], npis[2], "TBD", ""),
            cms_line(enrollment_id(), npi(7), us(listed)),  # someone else's enrollment
        ]
    )
    report = await run_import(
        stack, roster_csv=roster, due_dates_csv=due_dates, organization_id=org
    )

    assert report["counts"] == {
        "rows": 8,
        "good_rows": 5,
        "bad_rows": 3,
        "problems": 3,
        "created": 5,
        "past_due": 0,
        "unchanged": 0,
        "due_date_differs": 0,
        "conflict": 0,
        "failed": 0,
    }
    assert report["due_dates"] == {"rows": 4, "matched": 3}
    assert [(r["row"], r["enrollment_id"], r["outcome"]) for r in report["results"]] == [
        (n + 2, ids[n], "created") for n in range(5)
    ]
    sources = [r["due_date_source"] for r in report["results"]]
    assert sources == ["cms_list", "cms_list_adjusted", None, "roster", None]
    problems = {p["row"]: p for p in report["problems"]}
    assert set(problems) == {7, 8, 9}
    assert problems[7]["column"] == "NPI"
    assert "fails the check digit: the last digit should be 3" in problems[7]["reason"]
    assert problems[8]["column"] == "State" and "'ZZ'" in problems[8]["reason"]
    assert problems[9]["column"] == "Effective Date"
    assert problems[9]["reason"].startswith("effective_date is empty")
    assert [problems[n]["enrollment_id"] for n in (7, 8, 9)] == ids[5:]

    # The workflows run with the right due dates.
    expected = {
        ids[0]: listed,
        ids[1]: adjusted,  # the adjusted due date wins
        ids[2]: expected_computed_due(effective, today, dmepos=False),  # TBD: computed
        ids[3]: own,
        ids[4]: expected_computed_due(effective, today, dmepos=True),
    }
    for eid, due in expected.items():
        r = await stack.http.get(f"/v1/enrollments/{eid}", headers=auth("auditor"))
        assert r.status_code == 200, r.text
        view = r.json()
        assert view["revalidation_due_date"] == due.isoformat(), eid
        assert (view["source"], view["organization_id"]) == ("import", org)
        assert view["events"][0]["actor"] == "ops@example.org"
    for eid in ids[5:]:
        assert (await stack.http.get(f"/v1/enrollments/{eid}")).status_code == 404

    async def all_listed() -> bool:
        r = await stack.http.get("/v1/enrollments", params={"organization_id": org})
        return {i["enrollment_id"] for i in r.json()["items"]} == set(expected)

    await eventually(all_listed, "the five imported enrollments")

    # The same import again: every good row unchanged, the same problems, nothing started.
    again = await run_import(stack, roster_csv=roster, due_dates_csv=due_dates, organization_id=org)
    assert again["counts"]["unchanged"] == 5
    assert again["counts"]["created"] == 0
    assert [r["outcome"] for r in again["results"]] == ["unchanged"] * 5
    assert again["problems"] == report["problems"]
    for eid in expected:
        events = (await stack.http.get(f"/v1/enrollments/{eid}")).json()["events"]
        assert [e["event"] for e in events] == ["created"]

    # A newer CMS list with another date: reported, the workflow left as it is.
    moved = last_day_of_month(add_months(today, 8))
    newer = due_dates.replace(us(listed), us(moved), 1)
    differs = await run_import(stack, roster_csv=roster, due_dates_csv=newer, organization_id=org)
    assert differs["counts"]["due_date_differs"] == 1
    assert differs["counts"]["unchanged"] == 4
    first = differs["results"][0]
    assert first["outcome"] == "due_date_differs"
    assert first["current_revalidation_due_date"] == listed.isoformat()
    assert first["revalidation_due_date"] == moved.isoformat()
    assert "revalidation_notice_received" in first["detail"]
    view = (await stack.http.get(f"/v1/enrollments/{ids[0]}")).json()
    assert view["revalidation_due_date"] == listed.isoformat()

    # The same enrollment id with another NPI: a conflict, nothing changed.
    clash_roster = (
        "enrollment_id,npi,ptan,form,state,effective_date\n"
        f"{ids[3]},{npis[0]},P3,CMS-855B,TX,{eff}\n"
    )
    clash = await run_import(stack, roster_csv=clash_roster, organization_id=org)
    assert clash["counts"]["conflict"] == 1
    assert clash["due_dates"] is None
    [result] = clash["results"]
    assert result["outcome"] == "conflict"
    assert set(result["differences"]) == {"npi"}
    assert npis[0] in result["detail"] and npis[3] in result["detail"]


async def test_unreadable_files_are_422_naming_the_file_and_the_columns(stack: Stack) -> None:
    r = await stack.http.post(
        "/v1/imports", json={"roster_csv": "Enrollment ID,NPI,Form\nI20031103000001,x,y\n"}
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["errors"][0]["field"] == "roster_csv"
    assert "'ptan', 'state', 'effective_date'" in problem["detail"]

    roster = "enrollment_id,npi,ptan,form,state,effective_date\n"
    r = await stack.http.post(
        "/v1/imports",
        json={"roster_csv": roster, "due_dates_csv": "Enrollment ID,Due\nI20031103000001,x\n"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "due_dates_csv"
    assert "'Revalidation Due Date'" in r.json()["detail"]

    for body, field in (
        ({}, "roster_csv"),
        ({"roster_csv": roster, "actor": "me"}, "body"),
        ({"roster_csv": roster, "time_zone": "Nowhere/Land"}, "time_zone"),
        ({"roster_csv": roster, "organization_id": "bad org!"}, "organization_id"),
    ):
        r = await stack.http.post("/v1/imports", json=body)
        assert r.status_code == 422, f"{body}: {r.text}"
        assert r.json()["errors"][0]["field"] == field

    # A header-only roster is readable: nothing to do.
    empty = await run_import(stack, roster_csv=roster)
    assert empty["counts"]["rows"] == 0 and empty["results"] == []


async def test_a_larger_roster_starts_every_row_once(stack: Stack) -> None:
    today = await stack.today()
    eff = add_months(today, -3).isoformat()
    ids = [enrollment_id("O") for _ in range(40)]
    lines = ["enrollment_id,npi,ptan,form,state,effective_date,organization_id"]
    lines += [
        f"{eid},{npi(n + 1000)},PT{n},CMS-855B,NY,{eff},bulk-{n % 3}" for n, eid in enumerate(ids)
    ]
    roster = "\n".join(lines)
    report = await run_import(stack, roster_csv=roster)
    assert report["counts"]["created"] == 40 and report["problems"] == []
    again = await run_import(stack, roster_csv=roster)
    assert again["counts"]["unchanged"] == 40
    view = (await stack.http.get(f"/v1/enrollments/{ids[4]}")).json()
    assert view["organization_id"] == "bulk-1"


def _rows(engine: Engine, ids: list[str]) -> dict[str, tuple[dict[str, Any], set[tuple[Any, ...]]]]:
    """enrollment id -> (its enrollment row, its deadline rows), as the read model holds them."""
    workflow_ids = [f"enrollment-{eid}" for eid in ids]
    with engine.connect() as conn:
        rows = conn.execute(select(ENROLLMENT).where(ENROLLMENT.c.enrollment_id.in_(ids)))
        found = {r.enrollment_id: dict(r._mapping) for r in rows}
        clocks = conn.execute(select(DEADLINE).where(DEADLINE.c.workflow_id.in_(workflow_ids)))
        deadlines: dict[str, set[tuple[Any, ...]]] = {}
        for d in clocks:
            deadlines.setdefault(d.record_id, set()).add(tuple(d))
    return {eid: (row, deadlines.get(eid, set())) for eid, row in found.items()}


def _without_times(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}


async def test_a_bulk_import_is_listed_when_it_answers_and_the_workflows_own_their_rows(
    stack: Stack, sqlite_engine: Engine
) -> None:
    """Rows are started at once (bounded), each enrollment is in the read model as soon as the
    import answers, and the rows written ahead are those of the workflow's own projection, which
    then replaces them."""
    today = await stack.today()
    ids = [enrollment_id() for _ in range(60)]
    lines = ["enrollment_id,npi,ptan,form,state,effective_date,revalidation_due_date"]
    lines += [
        f"{eid},{npi(n + 5000)},PT{n},CMS-855I,FL,{add_months(today, -30).isoformat()},"
        f"{last_day_of_month(add_months(today, 8 + n % 30)).isoformat()}"
        for n, eid in enumerate(ids)
    ]
    report = await run_import(stack, roster_csv="\n".join(lines))
    assert report["counts"]["created"] == 60
    ahead = _rows(sqlite_engine, ids)
    assert sorted(ahead) == sorted(ids)  # listed when the import answers
    assert all(len(clocks) >= 1 for _, clocks in ahead.values())

    client = stack.env.client
    states = {
        eid: await client.get_workflow_handle(f"enrollment-{eid}").query(EnrollmentWorkflow.state)
        for eid in ids
    }

    async def projected_by_workflows() -> bool:
        rows = _rows(sqlite_engine, ids)
        return all(rows[eid][0]["created_at"] == states[eid].created_at for eid in ids)

    await eventually(projected_by_workflows, "every workflow's own projection")
    final = _rows(sqlite_engine, ids)
    for eid in ids:
        own = enrollment_projection(states[eid])
        row, clocks = final[eid]
        assert row == {**own.row.model_dump(), "projected_seq": own.seq}
        assert _without_times(ahead[eid][0]) == _without_times(row)
        assert ahead[eid][1] == clocks
