"""A retried request never applies twice across a reopening (issue 16, defect 4): the run an
admin's correction reopens takes over the closed run's request ids, so a retry of an event the
closed run applied is answered, not applied again. Over real HTTP, in the sandbox (the
time-skipping server), where the engine's rejection closes the application."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.calendar import add_days
from tests.integration.test_sandbox import Sandbox, sandbox
from tests.integration.test_sandbox import auth as sandbox_auth

__all__ = ["sandbox"]  # the fixture


def _event(event: str, data: dict[str, Any], reason: str) -> dict[str, Any]:
    return {"event": event, "data": data, "reason": reason}


async def _closed_with_a_note(sandbox: Sandbox, n: int) -> tuple[str, date, dict[str, Any]]:
    """An application whose development request (day 0) the engine rejected on day 31, noted
    on day 35 while its late-recording grace ran, closed on day 45 when the grace ended; with
    the note's request body. The note is within the request ids' retention window (30 days)
    of the day-50 retry below; the development request is not."""
    app_id = await sandbox.create(n)
    today = await sandbox.today()
    status = await sandbox.record(
        app_id, "submit", "signatures_completed", "received_by_mac", "development_requested"
    )
    assert status == "development_requested"
    assert (await sandbox.advance(35)).status_code == 200
    note = _event("note_added", {"text": "the MAC says the response came in"}, "phone call")
    noted = await sandbox.http.post(
        f"/v1/applications/{app_id}/events", json=note, headers=sandbox_auth("operator")
    )
    assert noted.status_code == 200 and noted.json()["status"] == "rejected", noted.text
    assert (await sandbox.advance(15)).status_code == 200
    another = _event("note_added", {"text": "closed now"}, "a later note")
    closed = await sandbox.http.post(
        f"/v1/applications/{app_id}/events", json=another, headers=sandbox_auth("operator")
    )
    assert closed.status_code == 409 and closed.json()["type"].endswith("/record-closed")
    return app_id, today, note


def _late_response(day0: date) -> dict[str, Any]:
    """The correction: the development response of day 30, found after the rejection."""
    return _event(
        "development_responded",
        {"responded_on": add_days(day0, 30).isoformat()},
        "the response of day 30 was found in the mailroom",
    )


def _notes(view: dict[str, Any]) -> list[str]:
    return [e["event"] for e in view["events"] if e["event"] == "note_added"]


async def test_a_retry_of_an_event_the_closed_run_applied_is_not_applied_again(
    sandbox: Sandbox,
) -> None:
    app_id, day0, note = await _closed_with_a_note(sandbox, 81)
    correction = _late_response(day0)
    done = await sandbox.http.post(
        f"/v1/applications/{app_id}/corrections", json=correction, headers=sandbox_auth("admin")
    )
    assert done.status_code == 200, done.text
    before = done.json()
    assert before["status"] == "in_review" and len(_notes(before)) == 1

    # The note's HTTP call retried (its first answer was lost): the reopened run knows its id
    # from the closed run, so it answers and records nothing.
    retried = await sandbox.http.post(
        f"/v1/applications/{app_id}/events", json=note, headers=sandbox_auth("operator")
    )
    assert retried.status_code == 200, retried.text
    after = await sandbox.get(f"/v1/applications/{app_id}")
    assert [e["event"] for e in after["events"]] == [e["event"] for e in before["events"]]


async def test_a_retried_correction_after_the_reopened_run_closed_again_reopens_nothing(
    sandbox: Sandbox,
) -> None:
    app_id, day0, _ = await _closed_with_a_note(sandbox, 82)
    correction = _late_response(day0)
    done = await sandbox.http.post(
        f"/v1/applications/{app_id}/corrections", json=correction, headers=sandbox_auth("admin")
    )
    assert done.status_code == 200 and done.json()["status"] == "in_review", done.text
    withdrawn = await sandbox.http.post(
        f"/v1/applications/{app_id}/events",
        json=_event("withdrawn", {}, "the provider withdrew"),
        headers=sandbox_auth("operator"),
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert (await sandbox.advance(15)).status_code == 200  # past the late-recording grace
    note = _event("note_added", {"text": "still closed?"}, "checking")
    closed = await sandbox.http.post(
        f"/v1/applications/{app_id}/events", json=note, headers=sandbox_auth("operator")
    )
    assert closed.status_code == 409 and closed.json()["type"].endswith("/record-closed")
    before = await sandbox.get(f"/v1/applications/{app_id}")

    # The correction's HTTP call retried after the reopened run closed again: answered with
    # the record as it is, and the application is not reopened a second time.
    retried = await sandbox.http.post(
        f"/v1/applications/{app_id}/corrections", json=correction, headers=sandbox_auth("admin")
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "withdrawn"
    after = await sandbox.get(f"/v1/applications/{app_id}")
    assert after["events"] == before["events"]
    still_closed = await sandbox.http.post(
        f"/v1/applications/{app_id}/events", json=note, headers=sandbox_auth("operator")
    )
    assert still_closed.status_code == 409, still_closed.text
    assert still_closed.json()["type"].endswith("/record-closed")
