"""Property-based run of every operation in the OpenAPI schema against the real app.

The app is served over real HTTP (uvicorn) with a worker on the time-skipping server and a
SQLite read model, all in a background thread with its own event loop: schemathesis calls the
API synchronously (requests), which would block an event loop shared with the server.
Every operation is exercised with an operator key, `max_examples` per operation, positive and
negative data, from a fixed seed; every check schemathesis has runs but one (see NOT_YET): no
5xx, status, content type, headers (Allow too) and body as documented (an error, too:
problem+json of its problem schema), schema-violating requests refused; and each operation
must answer at least one example with something other than 401/403. No operation is excluded.
Every test here stands alone: none reads what another one left behind, so they pass alone, in
any order, and with -k.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import CHECKS, load_all_checks
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from api.app import create_app
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


# Loaded at collection time so each operation is its own test item. (The lazy
# `schemathesis.pytest.from_fixture` loader fails under pytest 9 with "'Function' object has no
# attribute '_nodeid'"; test_the_served_schema_is_the_one_tested proves the two are the same.)
OPENAPI = _openapi_document()
schema = schemathesis.openapi.from_dict(OPENAPI)


def test_the_served_schema_is_the_one_tested(served: str) -> None:
    served_document = httpx.get(f"{served}/openapi.json", timeout=10).json()
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
# bodies as documented, invalid data refused, auth not ignored, missing headers, unsupported
# methods, ... all but one: `positive_data_acceptance` (every schema-valid request accepted)
# fails where the models check what a JSON schema does not say: NPI check digits, each event's
# data by event, IANA zones, cursors the API did not issue, cross-field rules (a CMS-855O import
# with a due date; application_id with an Idempotency-Key): issue 16, left open.
NOT_YET = ("positive_data_acceptance",)
ALL_CHECKS = [check for check in CHECKS.get_all() if check.__name__ not in NOT_YET]
# A fixed seed: CI runs the same cases every time, so a failure reproduces.
SEED_NUMBER = 16


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
    response = case.call_and_validate(
        base_url=served,
        headers=AUTH,
        timeout=30,
        checks=ALL_CHECKS,
    )
    answers[response.status_code] += 1
