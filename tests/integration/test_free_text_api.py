"""Issue 16, defect 1 over real HTTP: a control character in free text is a 422 naming the field,
and nothing is started or recorded (before, a NUL in a legal name answered 201 and then broke
the record on PostgreSQL)."""

from __future__ import annotations

from typing import Any

from tests.integration.test_api_contract import assert_problem, enrollment
from tests.integration.test_api_reads import Stack, stack, unique

__all__ = ["stack"]  # the fixture, used by name


def _field_error(problem: dict[str, Any], field: str) -> str:
    [error] = [e for e in problem["errors"] if e["field"] == field]
    reason: str = error["reason"]
    return reason


async def test_a_nul_in_a_legal_name_is_422_and_starts_nothing(stack: Stack) -> None:
    application_id = unique("nul")
    r = await stack.http.post(
        "/v1/applications",
        json={
            "application_id": application_id,
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {"legal_name": "Ann\u0000Smith", "npi": "1234567893"},
        },
    )
    problem = assert_problem(r, 422, "invalid-request")
    reason = _field_error(problem, "details.legal_name")
    assert "control character (U+0000) at position 3" in reason
    assert "Smith" not in r.text  # the value is not echoed
    missing = await stack.http.get(f"/v1/applications/{application_id}")
    assert missing.status_code == 404


async def test_events_refuse_control_characters_and_keep_line_breaks_in_reasons(
    stack: Stack,
) -> None:
    app_id = (await stack.create(form="CMS-855I", purpose="initial"))["application_id"]
    events = f"/v1/applications/{app_id}/events"

    changes = {"legal_name": "Ann\u001b[31mSmith"}
    r = await stack.http.post(
        events, json={"event": "update_draft", "data": {"changes": changes}, "reason": "typo"}
    )
    problem = assert_problem(r, 422, "invalid-request")
    assert "U+001B" in _field_error(problem, "data.changes.legal_name")

    r = await stack.http.post(
        events,
        json={"event": "update_draft", "data": {"changes": {}}, "reason": "bad\u0000reason"},
    )
    assert "U+0000" in _field_error(assert_problem(r, 422, "invalid-request"), "reason")

    # A reason may span lines; a name may not.
    r = await stack.http.post(
        events,
        json={
            "event": "update_draft",
            "data": {"changes": {"legal_name": "Ann Smith"}},
            "reason": "letter of 2 Dec:\r\n\tname as on the license",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["details"]["legal_name"] == "Ann Smith"
    r = await stack.http.post(
        events,
        json={
            "event": "update_draft",
            "data": {"changes": {"legal_name": "Ann\nSmith"}},
            "reason": "two lines",
        },
    )
    assert "U+000A" in _field_error(
        assert_problem(r, 422, "invalid-request"), "data.changes.legal_name"
    )
    view = (await stack.http.get(f"/v1/applications/{app_id}")).json()
    assert view["details"]["legal_name"] == "Ann Smith"  # nothing refused was applied


async def test_an_enrollment_import_refuses_a_control_character_in_the_name(
    stack: Stack,
) -> None:
    body = {**enrollment(unique("org")), "legal_name": "Ann\u0007Smith"}
    r = await stack.http.post("/v1/enrollments", json=body)
    assert "U+0007" in _field_error(assert_problem(r, 422, "invalid-request"), "legal_name")
    missing = await stack.http.get(f"/v1/enrollments/{body['enrollment_id']}")
    assert missing.status_code == 404
