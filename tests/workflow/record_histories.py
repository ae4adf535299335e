"""Record the histories that tests/workflow/test_replay.py replays (issue #7).

    python -m tests.workflow.record_histories            # every scenario
    python -m tests.workflow.record_histories approval   # just some

Runs each scenario on the Java time-skipping test server with the real worker and a throw-away
SQLite read model, then writes one ``tests/histories/<name>.json`` per workflow run it recorded
(``WorkflowHistory.to_json()``): ``application-<scenario>.json`` for the application scenarios;
the enrollment scenarios (tests/workflow/enrollment_scenarios.py) write every run of the
enrollment's continue-as-new chain and the applications that took part. Payloads are encrypted
with the committed *test-only* key ring in ``tests/histories/keyring.txt`` (created on first
run). Only synthetic data is used. Re-record only for a deliberate, compatible change of workflow
code; see tests/histories/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from models.application import ApplicationState, ApplicationStatus
from models.calendar import add_days
from tests.workflow import enrollment_scenarios
from tests.workflow.enrollment_driver import EnrollmentDriver
from tests.workflow.enrollment_scenarios import Drivers, Recorded
from tests.workflow.harness import ApplicationDriver
from worker import build_worker
from workflows.converter import KeyRing, build_data_converter
from workflows.replay import load_history_file, replay_histories
from workflows.search_attributes import register as register_search_attributes

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
KEYRING_FILE = HISTORIES / "keyring.txt"
KEY_ID = "histories-v1"
TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
TASK_QUEUE = "record-histories"

Handle = WorkflowHandle[Any, ApplicationState]
S = ApplicationStatus


def load_keyring(*, create: bool = False) -> KeyRing:
    """The committed test-only key ring; generated (and written) on the first recording."""
    if KEYRING_FILE.exists():
        return KeyRing.from_config(KEYRING_FILE.read_text(encoding="utf-8").strip())
    if not create:
        raise FileNotFoundError(f"{KEYRING_FILE} is missing; run {__name__} to create it")
    keyring = KeyRing.generate(KEY_ID)
    KEYRING_FILE.parent.mkdir(parents=True, exist_ok=True)
    KEYRING_FILE.write_text(keyring.to_config() + "\n", encoding="utf-8")
    return keyring


async def _to_review(driver: ApplicationDriver, application_id: str, generation: int = 0) -> Handle:
    handle = await driver.create(application_id=application_id, generation=generation)
    for event in ("submit", "signatures_completed", "received_by_mac"):
        await driver.record(handle, event)
    return handle


async def approval(driver: ApplicationDriver, application_id: str) -> Handle:
    """Draft → submit → signatures → received → development requested → responded → approved."""
    handle = await _to_review(driver, application_id)
    await driver.record(handle, "development_requested")
    await driver.record(handle, "development_responded")
    await driver.record(handle, "approved")
    return handle


async def approval_generation_1(driver: ApplicationDriver, application_id: str) -> Handle:
    """The approval as a run started today takes it: generation 1, its patches without markers
    (workflows/patches.py)."""
    handle = await _to_review(driver, application_id, generation=1)
    await driver.record(handle, "development_requested")
    await driver.record(handle, "development_responded")
    await driver.record(handle, "approved")
    return handle


async def development_expired(driver: ApplicationDriver, application_id: str) -> Handle:
    """A development request left unanswered past day 30: the timer rejects (with reminders)."""
    handle = await _to_review(driver, application_id)
    state = await driver.record(handle, "development_requested")
    request_date = state.development_requests[-1].request_date
    await driver.sleep_until_local(add_days(request_date, 31), 1)
    return handle


async def reconsideration_reversed(driver: ApplicationDriver, application_id: str) -> Handle:
    """Fingerprints not received in 30 days → denied by the timer → reconsideration → reversed."""
    handle = await _to_review(driver, application_id)
    state = await driver.record(handle, "fingerprints_requested")
    letter = state.fingerprints_requested_on
    assert letter is not None
    await driver.sleep_until_local(add_days(letter, 31), 6)
    denied = await driver.state(handle)
    assert denied.status == S.DENIED, denied.status
    await driver.record(handle, "reconsideration_requested")
    await driver.record(handle, "reconsideration_decided", "reversed")
    return handle


async def withdrawal(driver: ApplicationDriver, application_id: str) -> Handle:
    """A draft edited (re-running the checks), an illegal event refused, then withdrawn."""
    handle = await driver.create(application_id=application_id)
    await driver.record(handle, "update_draft")
    await driver.refused(handle, "approved", ptan="PT1", approval_date="2026-01-01")
    await driver.record(handle, "submit")
    await driver.record(handle, "signatures_completed")
    await driver.record(handle, "withdrawn")
    return handle


ApplicationScenario = Callable[[ApplicationDriver, str], Awaitable[Handle]]
Scenario = Callable[[Drivers], Awaitable[Recorded]]


def _application(
    name: str, scenario: ApplicationScenario, expected: ApplicationStatus
) -> tuple[str, Scenario]:
    """One application run to its end; the workflow id is application-<name>, the file's name."""

    async def record(drivers: Drivers) -> Recorded:
        handle = await scenario(drivers.application, name)
        final = await handle.result()
        if final.status != expected:
            raise RuntimeError(f"{name}: ended {final.status}, not {expected}")
        return [(f"application-{name}", await handle.fetch_history())]

    return name, record


SCENARIOS: dict[str, Scenario] = dict(
    [
        _application("approval", approval, S.APPROVED),
        # The same path from the effects-round patch on: one activity per side-effect round.
        _application("approval-effects-round", approval, S.APPROVED),
        # The same path as a run of generation 1 takes it: every patch, no marker.
        _application("approval-generation-1", approval_generation_1, S.APPROVED),
        _application("development-expired", development_expired, S.REJECTED),
        _application("reconsideration-reversed", reconsideration_reversed, S.APPROVED),
        _application("withdrawal", withdrawal, S.WITHDRAWN),
        ("enrollment-revalidation", enrollment_scenarios.revalidation),
        ("enrollment-missed-revalidation", enrollment_scenarios.missed_revalidation),
        ("enrollment-revocation", enrollment_scenarios.revocation),
    ]
)


def _failed_tasks(recorded: Recorded) -> list[str]:
    """Runs whose history shows a failed workflow task: not a path the code takes normally."""
    return [
        name
        for name, history in recorded
        if any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events)
    ]


async def record_one(name: str, keyring: KeyRing) -> list[Path]:
    """Run one scenario on a fresh server (so it starts at today's date: a server shared by
    several scenarios was seen to jump ~10 years between them) and write its histories."""
    started = time.perf_counter()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=build_data_converter(keyring)
    )
    try:
        # As in production: the workflows publish search attributes, which the server must know.
        await register_search_attributes(env.client)
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_db_engine(f"sqlite:///{Path(tmp) / 'read_model.db'}")
            create_schema(engine)
            try:
                async with build_worker(env.client, engine, task_queue=TASK_QUEUE):
                    drivers = Drivers(
                        ApplicationDriver(env, TASK_QUEUE, engine),
                        EnrollmentDriver(env, TASK_QUEUE, engine),
                    )
                    recorded = await SCENARIOS[name](drivers)
            finally:
                engine.dispose()
    finally:
        await env.shutdown()
    failed = _failed_tasks(recorded)
    if failed:
        raise RuntimeError(f"{name}: a workflow task failed in {', '.join(failed)}")
    written = []
    for file_name, history in recorded:
        path = HISTORIES / f"{file_name}.json"
        path.write_text(history.to_json() + "\n", encoding="utf-8")
        last = EventType.Name(history.events[-1].event_type).removeprefix("EVENT_TYPE_")
        print(
            f"{path.relative_to(HISTORIES.parent.parent)}: {len(history.events)} events, "
            f"last {last}, {path.stat().st_size} bytes"
        )
        written.append(path)
    print(f"{name}: {time.perf_counter() - started:.2f}s")
    return written


async def record(names: list[str]) -> list[Path]:
    keyring = load_keyring(create=True)
    written = [path for name in names for path in await record_one(name, keyring)]
    # What CI will do: every file just written must replay on the code that wrote it.
    outcomes = await replay_histories([load_history_file(p) for p in written], keyring=keyring)
    for outcome in outcomes:
        print(f"replay {outcome}")
    if not all(o.ok for o in outcomes):
        raise RuntimeError("a freshly recorded history does not replay")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.workflow.record_histories")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(SCENARIOS))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    status = 0
    try:
        asyncio.run(record(args.scenarios or list(SCENARIOS)))
    except Exception as exc:
        print(f"recording failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # The SDK's runtime threads can abort the interpreter at exit (sdk-python #300).
    os._exit(status)


if __name__ == "__main__":
    main()
