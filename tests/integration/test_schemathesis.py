"""Property-based run of every operation in the OpenAPI schema against the real app.

The app is served over real HTTP (uvicorn) with a worker on the time-skipping server and a
SQLite read model, all in a background thread with its own event loop: schemathesis calls the
API synchronously (requests), which would block an event loop shared with the server.
Every operation is exercised with an operator key, `max_examples` per operation, positive and
negative data, from a fixed seed; every check schemathesis has runs: no 5xx, status, content
type, headers (Allow too) and body as documented (an error, too: problem+json of its problem
schema), schema-violating requests refused, schema-valid requests accepted; and each operation
must answer at least one example with something other than 401/403. No operation is excluded.
Every test here stands alone: none reads what another one left behind, so they pass alone, in
any order, and with -k.

The rule for "schema-valid requests accepted" (positive_data_acceptance): what a request's
content alone decides is in the document, so a request the document allows is never refused
for its content. NPIs (check digit), IANA time zones, page cursors, revalidation due dates
(month ends), PECOS/MAC identifiers and the CSV files are formats of the document's own,
described there and registered below with strategies that generate valid values; each event's
`data` is a oneOf discriminated on `event`; cross-field rules are JSON Schema if/then (a
CMS-855O import takes no due date, an accepted CAP or a reversed denial gives a PTAN, a
revocation's bar years, a PECOS user_added names a role). The one rule that spans a header and
the body (application_id or an Idempotency-Key, not both) cannot be said in OpenAPI: its
positive cases drop the header (_names_the_application_twice). What depends on the server's
state is a documented answer, not a refusal of the data: an unknown record (404) and an event
not allowed now (409) are among schemathesis's accepted statuses already; an answer that is
state-dependent and yet a 422 is listed in STATE_DEPENDENT, per operation, with why.
About two minutes on a loaded 2-core machine (the oneOf bodies of the two event routes and the
correction route take most of it).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import PositiveDataAcceptanceConfig, SchemathesisConfig
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from api.app import create_app
from api.bodies import (
    CLAIMS_CSV_FORMAT,
    DUE_DATES_CSV_FORMAT,
    MONTH_END_FORMAT,
    ROSTER_CSV_FORMAT,
)
from api.reads import CURSOR_FORMAT, encode_cursor
from models.calendar import TIME_ZONE_FORMAT, last_day_of_month
from models.due_date_list import CMS_HEADERS, CMS_REQUIRED
from models.identifiers import NPI_FORMAT, OPAQUE_IDENTIFIER_FORMAT, npi_check_digit
from models.roster import REQUIRED as ROSTER_COLUMNS
from tests.conftest import TEST_CONVERTER, TEST_SERVER
from tests.integration.test_api_reads import _serve
from worker import build_worker
from workflows.search_attributes import register as register_search_attributes
from workflows.settings import Settings

OPERATOR_KEY = "schemathesis-operator-" + "o" * 24
API_KEYS = json.dumps({OPERATOR_KEY: {"actor": "fuzz@example.org", "role": "operator"}})
AUTH = {"Authorization": f"Bearer {OPERATOR_KEY}"}
MAX_EXAMPLES = 25
SEED = {
    "application_id": "jdoe-855i-2026",
    "form": "CMS-855I",
    "purpose": "initial",
    "details": {"legal_name": "Jane Q. Doe", "npi": "1234567893", "state": "FL"},
    "reason": "seeded for the property run",
}


class _BackgroundStack:
    """The served app, its worker and the time-skipping server, on a thread of their own."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._ready: Future[str] = Future()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="api-under-test", daemon=True)

    def start(self) -> str:
        self._thread.start()
        return self._ready.result(timeout=60)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the served stack did not stop within 30 s"

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        engine = create_db_engine(f"sqlite:///{self._database}")
        create_schema(engine)
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(TEST_SERVER), data_converter=TEST_CONVERTER
        )
        await register_search_attributes(env.client)
        try:
            task_queue = f"fuzz-{uuid.uuid4()}"
            app_settings = Settings(
                task_queue=task_queue,
                default_time_zone="America/New_York",
                log_json=False,
                log_level="WARNING",
                api_keys=API_KEYS,
            )
            app = create_app(app_settings, client=env.client, engine=engine)
            async with build_worker(env.client, engine, task_queue=task_queue):
                async with _serve(app, AUTH) as http:
                    # The application the schema's examples name, so they read a real record.
                    seeded = await http.post("/v1/applications", json=SEED)
                    assert seeded.status_code == 201, seeded.text
                    self._ready.set_result(str(http.base_url).rstrip("/"))
                    await self._stop.wait()
        finally:
            await env.shutdown()
            engine.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = _BackgroundStack(tmp_path_factory.mktemp("fuzz") / "read_model.db")
    base_url = stack.start()
    try:
        yield base_url
    finally:
        stack.stop()


def _openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app, built the way the served one is (no I/O: the document
    does not depend on Temporal or the database)."""
    engine = create_db_engine("sqlite://")
    try:
        app = create_app(Settings(log_json=False, api_keys=API_KEYS), client=None, engine=engine)
        return app.openapi()
    finally:
        engine.dispose()


def _npi(first: str, rest: int) -> str:
    base = f"{first}{rest:08d}"
    return f"{base}{npi_check_digit(base)}"


# The document's own formats (what a pattern cannot say), generated valid: an NPI with its
# check digit, an IANA zone this machine knows, a cursor as the API writes them.
schemathesis.openapi.format(
    NPI_FORMAT, st.builds(_npi, st.sampled_from("12"), st.integers(0, 10**8 - 1))
)
schemathesis.openapi.format(
    MONTH_END_FORMAT,
    st.dates().map(last_day_of_month).map(lambda d: d.isoformat()),
)
schemathesis.openapi.format(TIME_ZONE_FORMAT, st.sampled_from(sorted(available_timezones())))
schemathesis.openapi.format(
    CURSOR_FORMAT,
    st.builds(
        encode_cursor,
        st.datetimes(timezones=st.just(UTC)),
        st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=40),
    ),
)


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _csv_files(header: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A CSV file with that header line, then rows of any printable cells: the API reports a
    bad row with its line and column and goes on (a 200), so the rows need not be good."""
    cell = st.text(st.characters(codec="ascii", categories=["L", "N", "P", "Zs"]), max_size=12)
    rows = st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=3)
    return st.builds(_csv, st.just(header), rows)


schemathesis.openapi.format(ROSTER_CSV_FORMAT, _csv_files(ROSTER_COLUMNS))
schemathesis.openapi.format(
    DUE_DATES_CSV_FORMAT, _csv_files(tuple(CMS_HEADERS[c] for c in CMS_REQUIRED))
)
schemathesis.openapi.format(CLAIMS_CSV_FORMAT, _csv_files(("billing_npi", "date_of_service")))
schemathesis.openapi.format(
    OPAQUE_IDENTIFIER_FORMAT, st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,20}", fullmatch=True)
)


# Loaded at collection time so each operation is its own test item. (The lazy
# `schemathesis.pytest.from_fixture` loader fails under pytest 9 with "'Function' object has no
# attribute '_nodeid'"; test_the_served_schema_is_the_one_tested proves the two are the same.)
OPENAPI = _openapi_document()
# positive_data_acceptance takes schemathesis's default statuses (2xx, 3xx, 401, 403, 404, 409,
# 429, 5xx: an unknown record and an event not allowed now are answers about the server's
# state, not refusals of the data), and for one operation a 422 more, each for a reason that
# is the server's state and not the request's content:
STATE_DEPENDENT = {
    # A PECOS user the organisation has not recorded (user_removed, login_recorded and
    # password_changed name a person user_added recorded earlier) answers 422 naming `user`.
    "recordPecosAccessEvent": [*PositiveDataAcceptanceConfig().expected_statuses, "422"],
    # A finding key that names no open suspected exclusion match of this record (the record's
    # checks decide which are open) answers 422 naming `finding_key` and the open ones.
    "recordFindingDisposition": [*PositiveDataAcceptanceConfig().expected_statuses, "422"],
    "recordEnrollmentFindingDisposition": [
        *PositiveDataAcceptanceConfig().expected_statuses,
        "422",
    ],
}
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-operation-id": operation_id,
                "checks": {"positive_data_acceptance": {"expected-statuses": statuses}},
            }
            for operation_id, statuses in STATE_DEPENDENT.items()
        ]
    }
)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Every operation's case has the same node id, and pytest-xdist runs a node id once: under
    # -n this file would test one operation and pass. scripts/test runs it on its own.
    pytest.fail(
        "run tests/integration/test_schemathesis.py without -n (see scripts/test)", pytrace=False
    )

schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)


def test_the_served_schema_is_the_one_tested(served: str) -> None:
    # The first request builds the document: seconds on a loaded machine.
    served_document = httpx.get(f"{served}/openapi.json", timeout=60).json()
    assert served_document == OPENAPI


@pytest.fixture
def answers(request: pytest.FixtureRequest) -> Iterator[Counter[int]]:
    """The status codes one operation answered over all its examples (hypothesis runs them all
    within one test item, so a function-scoped fixture spans exactly that operation's run).
    Afterwards: the run got past authentication, so it tested the route itself, not only the
    401 answer. Checked per operation, by the item that sent the requests: a closing test
    reading a module-level tally failed when run alone or before the property test."""
    seen: Counter[int] = Counter()
    yield seen
    print(f"\n{request.node.name} answered {dict(sorted(seen.items()))}")
    assert set(seen) - {401, 403}, f"{request.node.name} only answered {dict(seen)}"


load_all_checks()
# Every check schemathesis has (not only "no 5xx"): statuses, content types, headers, Allow and
# bodies as documented, invalid data refused, valid data accepted, auth not ignored, missing
# headers, unsupported methods, ...
ALL_CHECKS = CHECKS.get_all()
# A fixed seed: CI runs the same cases every time, so a failure reproduces.
SEED_NUMBER = 16


def _names_the_application_twice(case: schemathesis.Case) -> bool:
    """A create with both `application_id` and an Idempotency-Key: the rule (one or the other,
    each names the application) spans a header and the body, which OpenAPI cannot say, so the
    positive cases keep the id and drop the header; the negative ones are sent as generated."""
    return (
        case.operation.definition.raw.get("operationId") == "createApplication"
        and case.meta is not None
        and case.meta.generation.mode.is_positive
        and isinstance(case.body, dict)
        and case.body.get("application_id") is not None
        and "idempotency-key" in {h.lower() for h in (case.headers or {})}
    )


@schema.parametrize()
@seed(SEED_NUMBER)
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the working tree
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_operation_answers_without_5xx_and_as_documented(
    case: schemathesis.Case, served: str, answers: Counter[int]
) -> None:
    if _names_the_application_twice(case):
        for name in [h for h in case.headers if h.lower() == "idempotency-key"]:
            del case.headers[name]
    response = case.call_and_validate(
        base_url=served,
        headers=AUTH,
        timeout=30,
        checks=ALL_CHECKS,
    )
    answers[response.status_code] += 1
