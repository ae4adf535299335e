"""Claim readiness over real HTTP: one claim or a CSV, each mismatch naming what it contradicts."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from models.calendar import add_months
from tests.integration.test_api_reads import npi
from tests.integration.test_enrollments_api import KEYS, Stack, auth, stack

__all__ = ["stack"]

FIXTURES = Path(__file__).parent.parent / "fixtures" / "refdata"
GROUP_NPI, GROUP_ID, RENDERING_NPI = "1245319599", "O20190101000002", "1234567893"
FILES = {
    "ppef_enrollment": "ppef_enrollment_2025-04-01.csv",
    "ppef_reassignment": "ppef_reassignment.csv",
    "ppef_practice_location": "ppef_practice_location.csv",
    "order_referring": "order_referring.csv",
}


async def setup(stack: Stack) -> date:
    today = await stack.today()
    body = await stack.body(
        enrollment_id=GROUP_ID,
        npi=GROUP_NPI,
        ptan="PTG1",
        form="CMS-855B",
        legal_name="Sunshine Group LLC",
        effective_date=add_months(today, -24).isoformat(),
    )
    created = await stack.http.post("/v1/enrollments", json=body)
    assert created.status_code == 201, created.text
    for kind, name in FILES.items():
        r = await stack.http.post(
            f"/v1/refdata/files/{kind}",
            content=(FIXTURES / name).read_bytes(),
            headers=auth("admin"),
        )
        assert r.status_code == 200, r.text
    return today


def claim(today: date, **overrides: Any) -> dict[str, Any]:
    return {
        "billing_npi": GROUP_NPI,
        "rendering_npi": RENDERING_NPI,
        "referring_npi": RENDERING_NPI,
        "ptan": "PTG1",
        "service_facility_state": "FL",
        "service_facility_zip": "32801",
        "date_of_service": today.isoformat(),
        **overrides,
    }


async def test_a_clean_claim_is_ready_and_each_mismatch_names_its_record(stack: Stack) -> None:
    today = await setup(stack)
    ok = await stack.http.post("/v1/claims/readiness", json=claim(today), headers=auth("auditor"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["ready"] is True and ok.json()["findings"] == []

    stranger = npi(424242)
    bad = await stack.http.post(
        "/v1/claims/readiness",
        json=claim(
            today,
            rendering_npi="1003000126",
            referring_npi=stranger,
            ptan="PTX9",
            service_facility_state="GA",
            service_facility_zip="30301",
        ),
    )
    assert bad.status_code == 200, bad.text
    answer = bad.json()
    found = {f["code"]: f for f in answer["findings"]}
    assert answer["ready"] is False
    assert set(found) == {
        "ptan_mismatch",
        "rendering_not_reassigned",
        "referring_not_in_order_referring",
        "service_location_unknown",
    }
    assert "PTG1" in found["ptan_mismatch"]["evidence"]
    assert GROUP_ID in found["rendering_not_reassigned"]["evidence"]
    assert found["rendering_not_reassigned"]["source"] == "PPEF reassignment extract"
    assert "ORLANDO FL 328011234" in found["service_location_unknown"]["evidence"]

    early = await stack.http.post(
        "/v1/claims/readiness",
        json=claim(today, date_of_service=add_months(today, -30).isoformat()),
    )
    assert [f["code"] for f in early.json()["findings"]] == ["billing_not_payable"]
    unknown = await stack.http.post(
        "/v1/claims/readiness", json=claim(today, billing_npi=stranger, rendering_npi=None)
    )
    assert [f["code"] for f in unknown.json()["findings"]] == ["billing_not_enrolled"]

    leie = (FIXTURES / "leie_updated.csv").read_bytes()  # lists NPI 1234567893
    assert (
        await stack.http.post("/v1/refdata/files/leie", content=leie, headers=auth("admin"))
    ).status_code == 200
    excluded = await stack.http.post("/v1/claims/readiness", json=claim(today))
    codes = sorted((f["code"], f["field"]) for f in excluded.json()["findings"])
    assert codes == [("excluded_party", "referring_npi"), ("excluded_party", "rendering_npi")]


async def test_a_csv_of_claims_with_a_bad_line(stack: Stack) -> None:
    today = await setup(stack)
    d = today.isoformat()
    text = (
        "Claim ID,Billing NPI,Rendering NPI,Referring NPI,PTAN,Date of Service\n"
        f"C1,{GROUP_NPI},{RENDERING_NPI},,PTG1,{d}\n"
        f"C2,{GROUP_NPI},1003000126,,PTG1,{d}\n"
        f"C3,123,,,PTG1,{d}\n"
    )
    r = await stack.http.post(
        "/v1/claims/readiness/csv",
        content=text.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["ready"], report["not_ready"]) == (1, 1)
    assert [(c["row"], c["claim"]["claim_id"], c["ready"]) for c in report["claims"]] == [
        (2, "C1", True),
        (3, "C2", False),
    ]
    (problem,) = report["problems"]
    assert (problem["row"], problem["column"]) == (4, "billing_npi")
    drifted = await stack.http.post(
        "/v1/claims/readiness/csv",
        content=b"billing,when\n1,2\n",
        headers={"Content-Type": "text/csv"},
    )
    assert drifted.status_code == 422 and "unknown column(s) billing, when" in drifted.text


async def test_enroll_claims_check_for_one_claim_and_a_csv(stack: Stack, tmp_path: Path) -> None:
    today = await setup(stack)
    env = {
        **os.environ,
        "ENROLL_API_URL": str(stack.http.base_url),
        "ENROLL_API_KEY": KEYS["operator"][0],
        "COLUMNS": "200",
    }

    async def enroll(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "claims",
            "check",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    status, out, err = await enroll(
        "--billing-npi", GROUP_NPI, "--date-of-service", "today", "--ptan", "PTX9"
    )
    assert status == 2, err
    assert "ptan_mismatch" in out and "PTG1" in out
    path = tmp_path / "claims.csv"
    path.write_text(
        "claim_id,billing_npi,rendering_npi,ptan,date_of_service\n"
        f"C1,{GROUP_NPI},{RENDERING_NPI},PTG1,{today.isoformat()}\n"
    )
    status, out, err = await enroll("--csv", str(path), "--json")
    assert status == 0, err
    assert json.loads(out)["ready"] == 1


async def test_the_reassignment_graph_of_a_practitioner_and_of_its_group(stack: Stack) -> None:
    await setup(stack)
    r = await stack.http.get(f"/v1/refdata/reassignments/{RENDERING_NPI}")
    assert r.status_code == 200, r.text
    graph = r.json()
    assert [e["enrollment_id"] for e in graph["enrollments"]] == ["I20200101000001"]
    (link,) = graph["reassigns_to"]
    assert link["group"]["enrollment_id"] == GROUP_ID
    assert (link["group"]["name"], link["group"]["ptan"]) == ("SUNSHINE GROUP LLC", "PTG1")
    assert link["practice_locations"] == [{"city": "ORLANDO", "state": "FL", "zip": "328011234"}]
    group = (await stack.http.get(f"/v1/refdata/reassignments/{GROUP_NPI}")).json()
    (member,) = group["receives_from"]
    assert member["practitioner"]["npi"] == RENDERING_NPI and member["to_enrollment_id"] == GROUP_ID
    bad = await stack.http.get("/v1/refdata/reassignments/123")
    assert bad.status_code == 422
