"""Reference data over real HTTP: an admin loads the public files, anyone who reads sees the
history of loads; a drifted file is refused naming its columns."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_enrollments_api import Stack, auth, stack

__all__ = ["stack"]

FIXTURES = Path(__file__).parent.parent / "fixtures" / "refdata"
CSV = {"Content-Type": "text/csv"}


async def test_an_admin_loads_a_file_and_a_reload_changes_nothing(stack: Stack) -> None:
    body = (FIXTURES / "order_referring.csv").read_bytes()
    r = await stack.http.post(
        "/v1/refdata/order_referring",
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
        "/v1/refdata/order_referring", content=body, headers={**auth("admin"), **CSV}
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
        "/v1/refdata/order_referring", content=body, headers={**auth("operator"), **CSV}
    )
    assert r.status_code == 403, r.text


async def test_a_drifted_header_is_a_422_naming_the_column(stack: Stack) -> None:
    r = await stack.http.post(
        "/v1/refdata/leie",
        content=(FIXTURES / "leie_drifted.csv").read_bytes(),
        headers={**auth("admin"), **CSV},
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "'WVRSTATE'" in problem["detail"] and "'WAIVERSTATE'" in problem["detail"]
    assert problem["errors"][0]["field"] == "body"
    empty = await stack.http.post("/v1/refdata/leie", content=b"", headers=auth("admin"))
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    unknown = await stack.http.post("/v1/refdata/nppes", content=b"x", headers=auth("admin"))
    assert unknown.status_code == 422, unknown.text
