"""Reference data over real HTTP: an admin loads the public files, anyone who reads sees the
history of loads; a drifted file is refused naming its columns."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.calendar import add_days
from models.contracts import ReferenceCheckRun
from models.read_model import NotificationRow
from tests.integration.test_api_reads import eventually
from tests.integration.test_enrollments_api import KEYS, Stack, auth, stack
from workflows.reference_checks import ReferenceChecksWorkflow

__all__ = ["stack"]

FIXTURES = Path(__file__).parent.parent / "fixtures" / "refdata"
CSV = {"Content-Type": "text/csv"}


async def test_an_admin_loads_a_file_and_a_reload_changes_nothing(stack: Stack) -> None:
    body = (FIXTURES / "order_referring.csv").read_bytes()
    r = await stack.http.post(
        "/v1/refdata/files/order_referring",
        content=body,
        params={"source_date": "2026-06-01", "file_name": "OrderReferring_20260601.csv"},
        headers={**auth("admin"), **CSV},
    )
    assert r.status_code == 200, r.text
    load = r.json()
    assert (load["status"], load["schema_version"], load["rows"], load["added"]) == (
        "done",
        "2024-04-01",
        2,
        2,
    )
    assert load["source_date"] == "2026-06-01"
    again = await stack.http.post(
        "/v1/refdata/files/order_referring", content=body, headers={**auth("admin"), **CSV}
    )
    assert again.status_code == 200, again.text
    assert (again.json()["added"], again.json()["changed"], again.json()["removed"]) == (0, 0, 0)
    history = await stack.http.get(
        "/v1/refdata/loads", params={"kind": "order_referring"}, headers=auth("auditor")
    )
    assert history.status_code == 200, history.text
    loads = history.json()["loads"]
    assert [x["load_id"] for x in loads] == [again.json()["load_id"], load["load_id"]]
    assert loads[1]["file_name"] == "OrderReferring_20260601.csv"


async def test_only_an_admin_loads(stack: Stack) -> None:
    body = (FIXTURES / "order_referring.csv").read_bytes()
    r = await stack.http.post(
        "/v1/refdata/files/order_referring", content=body, headers={**auth("operator"), **CSV}
    )
    assert r.status_code == 403, r.text


async def test_a_drifted_header_is_a_422_naming_the_column(stack: Stack) -> None:
    r = await stack.http.post(
        "/v1/refdata/files/leie",
        content=(FIXTURES / "leie_drifted.csv").read_bytes(),
        headers={**auth("admin"), **CSV},
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "'WVRSTATE'" in problem["detail"] and "'WAIVERSTATE'" in problem["detail"]
    assert problem["errors"][0]["field"] == "body"
    empty = await stack.http.post("/v1/refdata/files/leie", content=b"", headers=auth("admin"))
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    unknown = await stack.http.post("/v1/refdata/files/nppes", content=b"x", headers=auth("admin"))
    assert unknown.status_code == 422, unknown.text


# --- A reload checks the enrollments it touches ---------------------------------------------------

LEIE_HEADER = (FIXTURES / "leie_updated.csv").read_text().splitlines()[0]


def leie_file(*rows: str) -> bytes:
    return ("\n".join([LEIE_HEADER, *rows]) + "\n").encode()


def leie_row(npi: str, last: str = "DOE", first: str = "RICHARD") -> str:
    return (
        f"{last},{first},,,INDIVIDUAL,PHYSICIAN,,{npi},19700202,2 ELM ST,ORLANDO,FL,32801,"
        "1128a1,20210301,00000000,00000000,"
    )


def finding_notices(engine: Engine, workflow_id: str) -> list[NotificationRow]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(NotificationRow).where(
                    NotificationRow.workflow_id == workflow_id, NotificationRow.kind == "finding"
                )
            )
        )


async def test_a_new_leie_row_for_an_enrolled_npi_is_a_finding_and_one_notice(
    stack: Stack, sqlite_engine: Engine
) -> None:
    body = await stack.body(legal_name="Jane Q. Doe")
    created = await stack.http.post("/v1/enrollments", json=body)
    assert created.status_code == 201, created.text
    eid, npi = body["enrollment_id"], body["npi"]
    workflow_id = created.json()["workflow_id"]
    bystander = await stack.body(legal_name="Ann Other")
    assert (await stack.http.post("/v1/enrollments", json=bystander)).status_code == 201

    # A first list without them, then the monthly file with a new row for the NPI.
    first = leie_file(leie_row("1003000126", "SMITH", "JOHN"))
    r = await stack.http.post("/v1/refdata/files/leie", content=first, headers=auth("admin"))
    assert r.status_code == 200, r.text
    update = leie_file(leie_row("1003000126", "SMITH", "JOHN"), leie_row(npi))
    loaded = await stack.http.post("/v1/refdata/files/leie", content=update, headers=auth("admin"))
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["added"] == 1
    assert (
        loaded.json()["checks_workflow_id"] == f"reference-checks-load-{loaded.json()['load_id']}"
    )

    async def shown() -> bool:
        view = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
        return any(f["code"] == "excluded" for f in view["findings"])

    await eventually(shown, "the exclusion finding on the enrollment")
    view = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
    (finding,) = view["findings"]
    assert (finding["severity"], finding["source"], finding["check"]) == (
        "error",
        "OIG LEIE",
        "exclusions",
    )
    assert f"NPI {npi}" in finding["evidence"] and "1128a1" in finding["evidence"]

    async def notified() -> bool:
        return len(finding_notices(sqlite_engine, workflow_id)) == 1

    await eventually(notified, "the notice of the finding")

    # The same file again, and the monthly run over every enrollment: still one of each.
    again = await stack.http.post("/v1/refdata/files/leie", content=update, headers=auth("admin"))
    assert again.status_code == 200 and again.json()["added"] == 0
    load_checks = stack.env.client.get_workflow_handle(again.json()["checks_workflow_id"])
    assert await load_checks.result() == 0  # the repeat touched nobody
    checked = await stack.env.client.execute_workflow(
        ReferenceChecksWorkflow.run,
        ReferenceCheckRun(),
        id="reference-checks-test-monthly",
        task_queue=(await load_checks.describe()).task_queue,
    )
    assert checked == 2  # both enrollments checked
    view = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
    assert [f["code"] for f in view["findings"]] == ["excluded"]
    assert len(finding_notices(sqlite_engine, workflow_id)) == 1
    other = (await stack.http.get(f"/v1/enrollments/{bystander['enrollment_id']}")).json()
    assert other["findings"] == []

    env = {
        **os.environ,
        "ENROLL_API_URL": str(stack.http.base_url),
        "ENROLL_API_KEY": KEYS["operator"][0],
        "COLUMNS": "200",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "enrollments",
        "get",
        eid,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    shown = " ".join(out.decode().split())
    assert "Open findings (1)" in shown and "(OIG LEIE of" in shown and "1128a1" in shown

    audit = await stack.http.get(f"/v1/audit/{workflow_id}", headers=auth("auditor"))
    assert audit.status_code == 200, audit.text
    checks = [e for e in audit.json()["timeline"] if e.get("event") == "record_findings"]
    assert any("1 finding(s) (excluded)" in e["summary"] for e in checks), checks


# --- Exclusions before submission -----------------------------------------------------------------


async def test_a_suspected_owner_blocks_submit_until_an_operator_clears_it(
    stack: Stack, sqlite_engine: Engine
) -> None:
    listed = leie_file(leie_row("0000000000", "ROE", "MARY"))
    loaded = await stack.http.post("/v1/refdata/files/leie", content=listed, headers=auth("admin"))
    assert loaded.status_code == 200, loaded.text
    details = {
        "legal_name": "Sunshine Group LLC",
        "npi": "1245319599",
        "ein": "12-3456789",
        "state": "FL",
        "parties": [
            {"role": "owner", "name": "Mary Roe", "ownership_percent": 40},
            {"role": "owner", "name": "Ed Poe", "ownership_percent": 60},
        ],
    }
    created = await stack.http.post(
        "/v1/applications",
        json={"form": "CMS-855B", "purpose": "initial", "details": details},
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["application_id"]

    async def suspected() -> list[dict[str, Any]]:
        view = (await stack.http.get(f"/v1/applications/{app_id}")).json()
        return [f for f in view["findings"] if f["code"] == "exclusion_suspected"]

    async def found() -> bool:
        return bool(await suspected())

    await eventually(found, "the suspected exclusion match")
    (match,) = await suspected()

    async def notified() -> bool:
        return len(finding_notices(sqlite_engine, f"application-{app_id}")) == 1

    await eventually(notified, "the notice of the suspected match")
    assert match["field"] == "parties[0]" and match["source"] == "OIG LEIE"
    assert "ROE, MARY" in match["evidence"]

    events = f"/v1/applications/{app_id}/events"
    submit = {"event": "submit", "data": {"web_tracking_id": "WT-2026-000777"}, "reason": "filed"}
    refused = await stack.http.post(events, json=submit)
    assert refused.status_code == 422, refused.text
    assert any(f["code"] == "exclusion_suspected" for f in refused.json()["findings"])

    dispositions = f"/v1/applications/{app_id}/finding-dispositions"
    wrong = await stack.http.post(
        dispositions,
        json={
            "finding_key": "exclusion:leie:nope:parties[9]",
            "disposition": "cleared",
            "reason": "checked",
        },
    )
    assert wrong.status_code == 422 and match["key"] in wrong.text
    assert wrong.json()["errors"][0]["field"] == "finding_key"

    cleared = await stack.http.post(
        dispositions,
        json={
            "finding_key": match["key"],
            "disposition": "cleared",
            "reason": "Different date of birth on the LEIE entry (compared by phone with OIG)",
        },
    )
    assert cleared.status_code == 200, cleared.text
    codes = [f["code"] for f in cleared.json()["findings"]]
    assert "exclusion_cleared" in codes and "exclusion_suspected" not in codes

    packet = await stack.http.get(f"/v1/applications/{app_id}/support-packet")
    assert packet.status_code == 200, packet.text
    (shown,) = [f for f in packet.json()["open_findings"] if f["key"] == match["key"]]
    assert shown["code"] == "exclusion_cleared" and "ROE, MARY" in shown["evidence"]

    submitted = await stack.http.post(events, json=submit)
    assert submitted.status_code == 200, submitted.text
    assert len(finding_notices(sqlite_engine, f"application-{app_id}")) == 1  # told once

    audit = await stack.http.get(f"/v1/audit/application-{app_id}", headers=auth("auditor"))
    assert audit.status_code == 200, audit.text
    text = audit.text
    assert "finding_disposition" in text and "compared by phone with OIG" in text


async def test_an_enrollments_suspected_match_is_cleared_and_stays_cleared(stack: Stack) -> None:
    body = await stack.body(legal_name="Mary Roe")
    created = await stack.http.post("/v1/enrollments", json=body)
    assert created.status_code == 201, created.text
    eid = body["enrollment_id"]
    loaded = await stack.http.post(
        "/v1/refdata/files/leie",
        content=leie_file(leie_row("0000000000", "ROE", "MARY")),
        headers=auth("admin"),
    )
    assert loaded.status_code == 200, loaded.text

    async def suspected() -> bool:
        view = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
        return any(f["code"] == "exclusion_suspected" for f in view["findings"])

    await eventually(suspected, "the suspected match on the enrollment")
    view = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
    (match,) = view["findings"]
    url = f"/v1/enrollments/{eid}/finding-dispositions"
    cleared = await stack.http.post(
        url,
        json={
            "finding_key": match["key"],
            "disposition": "cleared",
            "reason": "LEIE entry is a nurse in another state",
        },
    )
    assert cleared.status_code == 200, cleared.text
    assert [f["code"] for f in cleared.json()["findings"]] == ["exclusion_cleared"]
    assert cleared.json()["events"][-1]["event"] == "finding_disposition"

    # The monthly run finds the same entry again: the decision stands.
    handle = stack.env.client.get_workflow_handle(loaded.json()["checks_workflow_id"])
    await stack.env.client.execute_workflow(
        ReferenceChecksWorkflow.run,
        ReferenceCheckRun(),
        id="reference-checks-test-cleared",
        task_queue=(await handle.describe()).task_queue,
    )
    view = (await stack.http.get(f"/v1/enrollments/{eid}")).json()
    assert [f["code"] for f in view["findings"]] == ["exclusion_cleared"]
    again = await stack.http.post(
        url, json={"finding_key": match["key"], "disposition": "cleared", "reason": "again"}
    )
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "finding_key"


async def test_a_draft_is_checked_again_when_an_exclusion_list_is_loaded(
    stack: Stack, sqlite_engine: Engine
) -> None:
    details = {
        "legal_name": "Harbor Clinic LLC",
        "npi": "1245319599",
        "ein": "12-3456789",
        "state": "FL",
        "parties": [{"role": "managing_employee", "name": "Ed Poe"}],
    }
    created = await stack.http.post(
        "/v1/applications", json={"form": "CMS-855B", "purpose": "initial", "details": details}
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["application_id"]

    async def checked() -> bool:
        view = (await stack.http.get(f"/v1/applications/{app_id}")).json()
        return view["side_effects_pending"] == 0

    await eventually(checked, "the first checks of the draft")
    view = (await stack.http.get(f"/v1/applications/{app_id}")).json()
    assert not [f for f in view["findings"] if f.get("check") == "exclusions"]

    listed = leie_file(leie_row("0000000000", "POE", "ED"))
    loaded = await stack.http.post("/v1/refdata/files/leie", content=listed, headers=auth("admin"))
    assert loaded.status_code == 200, loaded.text

    async def suspected() -> bool:
        view = (await stack.http.get(f"/v1/applications/{app_id}")).json()
        return any(f["code"] == "exclusion_suspected" for f in view["findings"])

    await eventually(suspected, "the suspected match found by the reload")

    async def notified() -> bool:
        return len(finding_notices(sqlite_engine, f"application-{app_id}")) == 1

    await eventually(notified, "one notice of it")


async def test_an_expiring_credential_is_a_finding_and_one_notice(
    stack: Stack, sqlite_engine: Engine
) -> None:
    today = await stack.today()
    details = {
        "legal_name": "Jane Q. Doe",
        "npi": "1234567893",
        "ssn": "123-45-6789",
        "state": "FL",
        "credentials": [
            {"kind": "state_license", "state": "FL", "expires_on": add_days(today, 60).isoformat()}
        ],
    }
    created = await stack.http.post(
        "/v1/applications", json={"form": "CMS-855I", "purpose": "initial", "details": details}
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["application_id"]
    (finding,) = [f for f in created.json()["findings"] if f["code"] == "credential_expiring"]
    assert finding["field"] == "credentials[0]"

    async def notified() -> bool:
        return len(finding_notices(sqlite_engine, f"application-{app_id}")) == 1

    await eventually(notified, "the notice of the expiring licence")
    # Another draft change runs the checks again: still one notice.
    change = await stack.http.post(
        f"/v1/applications/{app_id}/events",
        json={"event": "update_draft", "data": {"changes": {"provider_type": "x"}}, "reason": "r"},
    )
    assert change.status_code == 200, change.text

    async def settled() -> bool:
        view = (await stack.http.get(f"/v1/applications/{app_id}")).json()
        return view["side_effects_pending"] == 0

    await eventually(settled, "the second checks round")
    assert len(finding_notices(sqlite_engine, f"application-{app_id}")) == 1
