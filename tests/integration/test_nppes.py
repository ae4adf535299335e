"""The NPPES client against a local stand-in serving recorded shapes, and the NPPES checks."""

from __future__ import annotations

import socket
from datetime import date

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import ActivityEnvironment

from activities.nppes import NppesAnswerError, NppesClient, NppesUnavailable
from activities.reference_checks import ReferenceChecks
from models.application.details import ApplicationDetails
from models.contracts import CheckRequest
from models.forms import Form, Purpose
from models.nppes import nppes_findings, parse_answer, unreachable_finding
from tests.nppes_standin import nppes_standin

ON = date(2026, 11, 30)


async def no_sleep(_: float) -> None:
    return None


async def test_lookup_reads_the_recorded_shape_and_caches() -> None:
    with nppes_standin() as standin:
        client = NppesClient(standin.url, sleep=no_sleep)
        record = await client.lookup("1003000126")
        assert record is not None
        assert (record.enumeration_type, record.status, record.name) == (
            "NPI-1",
            "A",
            "ARDALAN ENKESHAFI",
        )
        assert record.location is not None and record.location.state == "MD"
        assert record.taxonomies[0].code == "208M00000X" and record.taxonomies[0].primary
        assert await client.lookup("1003000126") == record
        assert len(standin.requests) == 1  # the second came from the cache
        assert standin.requests[0] == {"version": "2.1", "number": "1003000126"}
        assert await client.lookup("1234567893") is None  # result_count 0


async def test_errors_come_as_http_200_and_are_not_retried() -> None:
    with nppes_standin() as standin:
        # The stand-in answers a version other than 2.1 as NPPES does: 200 with Errors.
        async with httpx.AsyncClient() as http:
            answer = await http.get(standin.url, params={"version": "2.0", "number": "1"})
        assert answer.status_code == 200 and answer.json()["Errors"][0]["number"] == "17"
        with pytest.raises(NppesAnswerError, match="error 17"):
            parse_answer(answer.json())
        # An Errors answer to the client is raised, not retried.
        client = NppesClient(standin.url, sleep=no_sleep)
        standin.requests.clear()
        with pytest.raises(NppesAnswerError, match="Invalid number"):
            await client.lookup("12345")
        assert len(standin.requests) == 1


async def test_a_failing_registry_is_retried_then_reported_unavailable() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with nppes_standin() as standin:
        standin.fail_next = 2
        client = NppesClient(standin.url, sleep=sleep, backoff_seconds=1, requests_per_second=0)
        assert await client.lookup("1245319599") is not None  # third attempt
        assert len(standin.requests) == 3 and slept == [1, 2]
        standin.fail_next = 5
        with pytest.raises(NppesUnavailable, match="HTTP 503 \\(3 attempts\\)"):
            await NppesClient(standin.url, sleep=no_sleep).lookup("1003000126")


async def test_a_registry_that_is_down_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = NppesClient(f"http://127.0.0.1:{port}/api/", sleep=no_sleep, attempts=2)
    with pytest.raises(NppesUnavailable, match="ConnectError"):
        await client.lookup("1003000126")


async def test_requests_are_spaced_by_the_rate_limit() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        now[0] += seconds

    with nppes_standin() as standin:
        client = NppesClient(standin.url, requests_per_second=2, clock=lambda: now[0], sleep=sleep)
        for npi in ("1003000126", "1245319599", "1234567893"):
            await client.lookup(npi)
        assert waits == [0.5, 0.5]


async def test_the_checks_fire_on_their_facts_and_not_otherwise() -> None:
    with nppes_standin() as standin:
        client = NppesClient(standin.url, sleep=no_sleep)
        person = await client.lookup("1003000126")
        group = await client.lookup("1245319599")
    assert person is not None
    licensed_md = person.model_copy(
        update={"taxonomies": (person.taxonomies[0].model_copy(update={"state": "MD"}),)}
    )
    quiet = nppes_findings(
        "1003000126",
        licensed_md,
        form=Form.CMS_855I,
        legal_name="Ardalan Enkeshafi",
        state="MD",
        on=ON,
    )
    assert quiet == []
    found = nppes_findings(
        "1003000126",
        person,
        form=Form.CMS_855B,
        legal_name="Ardalan K. Enkeshafy",
        state="FL",
        on=ON,
    )
    assert {f.code for f in found} == {
        "npi_type_mismatch",
        "nppes_name_differs",
        "nppes_location_differs",
    }
    assert all(f.source == "NPPES NPI Registry" and f.source_date == ON for f in found)
    wrong_state = nppes_findings(
        "1003000126",
        person,
        form=Form.CMS_855I,
        legal_name="Enkeshafi, Ardalan",
        state="MD",
        on=ON,
    )
    assert [f.code for f in wrong_state] == ["nppes_taxonomy_state"]
    org = nppes_findings(
        "1245319599",
        group,
        form=Form.CMS_855B,
        legal_name="Sunshine Group, LLC",
        state="FL",
        on=ON,
    )
    assert org == []
    inactive = person.model_copy(update={"status": "D"}) if person else None
    assert [
        f.code
        for f in nppes_findings(
            "1003000126", inactive, form=Form.CMS_855I, legal_name=None, state=None, on=ON
        )
    ] == ["npi_inactive"]
    (missing,) = nppes_findings(
        "1234567893", None, form=Form.CMS_855I, legal_name=None, state=None, on=ON
    )
    assert missing.code == "npi_not_in_nppes"
    down = unreachable_finding("1003000126", "ConnectError reaching NPPES", ON)
    assert down.severity == "warning" and "not reachable" in down.message


# --- In the pre-submission checks ----------------------------------------------------------------


def _request(**details: object) -> CheckRequest:
    facts = ApplicationDetails.model_validate(details).facts(Form.CMS_855B, Purpose.INITIAL)
    return CheckRequest(workflow_id="application-x", facts=facts, as_of=ON)


async def test_check_application_asks_nppes_and_says_when_it_is_down(
    sqlite_engine: Engine,
) -> None:
    request = _request(
        legal_name="Sunshine Group LLC", npi="1245319599", ein="12-3456789", state="GA"
    )
    with nppes_standin() as standin:
        checks = ReferenceChecks(sqlite_engine, NppesClient(standin.url, sleep=no_sleep))
        found = await ActivityEnvironment().run(checks.check_application, request)
        assert [f.code for f in found if f.check == "NPPES"] == ["nppes_location_differs"]
    down = ReferenceChecks(
        sqlite_engine, NppesClient(standin.url, sleep=no_sleep, attempts=1)
    )  # the stand-in has stopped: nothing listens there now
    found = await ActivityEnvironment().run(down.check_application, request)
    (unreachable,) = [f for f in found if f.check == "NPPES"]
    assert unreachable.code == "nppes_unreachable" and unreachable.severity == "warning"
    # The other checks still ran.
    assert any(f.code == "fee_due" for f in found)
    off = ReferenceChecks(sqlite_engine)
    found = await ActivityEnvironment().run(off.check_application, request)
    assert not [f for f in found if f.check == "NPPES"]
