"""Issue 16, fault test: the real workflow and the pure lifecycle agree, event by event.

A hypothesis state machine drives random sequences of operator events (with plausible data,
dated the engine's today) and time advances of 1-40 days through ApplicationWorkflow on the
time-skipping server, and the same through the pure reducer (models/application/: check_event,
apply_event, fire_due_clocks at each wake-up) over the lifecycle table (models/lifecycle.py).
At every step they must agree: the workflow accepts what the pure side accepts and refuses what
it refuses, with the same refusal code; the status, the open clocks and the events allowed
next are the same; a status reached is one the table allows for that event.

The pre-submission checks are a side effect (an activity): their findings are taken from the
workflow into the pure state once the side effects are done, as the workflow itself gets them.
The machine runs on its own event loop (hypothesis calls rules synchronously). Bounded: a fixed
seed, MAX_EXAMPLES runs of at most STEPS steps; the wall time is printed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.database import create_db_engine, create_schema
from models.application import (
    APPLICATION_LIFECYCLE,
    ApplicationState,
    EventRefused,
    apply_event,
    check_event,
    fire_due_clocks,
)
from models.calendar import local_date, start_of_day
from tests.conftest import TEST_CONVERTER, TEST_SERVER
from tests.unit.test_reducer_properties import CLOSING_EVENTS, OPERATOR_EVENTS, _event
from tests.workflow.harness import ZONE, ApplicationDriver, settled
from worker import build_worker
from workflows.application import ApplicationWorkflow
from workflows.search_attributes import register as register_search_attributes

MAX_EXAMPLES = 25
STEPS = 25
T = TypeVar("T")


class Servers:
    """The time-skipping server, a worker and its read model, on one event loop of their own."""

    def __init__(self, tmp: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = create_db_engine(f"sqlite:///{tmp}/read_model.db")
        create_schema(self.engine)
        self.env: WorkflowEnvironment = self.run(
            WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=str(TEST_SERVER), data_converter=TEST_CONVERTER
            )
        )
        self.run(register_search_attributes(self.env.client))
        task_queue = f"agree-{uuid.uuid4()}"
        self.worker: Worker = self.run(self._start_worker(task_queue))
        self.driver = ApplicationDriver(self.env, task_queue, self.engine)

    async def _start_worker(self, task_queue: str) -> Worker:
        worker = build_worker(self.env.client, self.engine, task_queue=task_queue)
        await worker.__aenter__()
        return worker

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.worker.__aexit__(None, None, None))
        self.run(self.env.shutdown())
        self.loop.close()
        self.engine.dispose()


SERVERS: Servers | None = None
TALLY: Counter[str] = Counter()  # what the runs did: accepted, refused, closed, advanced
REACHED: set[str] = set()  # the statuses the runs reached


def _servers() -> Servers:
    assert SERVERS is not None
    return SERVERS


class Agreement(RuleBasedStateMachine):
    handle: WorkflowHandle[Any, Any]
    mirror: ApplicationState

    @initialize()
    def create(self) -> None:
        s = _servers()
        # Start each run at 10:00 in the organisation's zone, so that no step crosses midnight
        # between the pure side's clock reading and the workflow's.
        now = s.run(s.driver.now())
        ten = start_of_day(local_date(now, ZONE) + timedelta(days=1), ZONE) + timedelta(hours=10)
        s.run(s.env.sleep(ten - now))
        self.handle = s.run(s.driver.create())
        TALLY["runs"] += 1
        self.mirror = s.run(settled(self.handle, ApplicationWorkflow.state))
        self.steps: list[str] = []

    def open(self) -> bool:
        return not self.mirror.is_closed

    # Two rules record, one advances: runs go further before a clock closes them.
    @precondition(open)
    @rule(data=st.data())
    def record(self, data: st.DataObject) -> None:
        self._record(data)

    @precondition(open)
    @rule(data=st.data())
    def record_another(self, data: st.DataObject) -> None:
        self._record(data)

    @precondition(lambda self: self.mirror.is_closed)
    @rule(data=st.data())
    def record_after_the_end(self, data: st.DataObject) -> None:
        self._record(data)

    def _record(self, data: st.DataObject) -> None:
        # Mostly an event the table allows now that does not end the record (the interesting
        # paths are long), sometimes one that does, sometimes any event at all.
        allowed = [
            e
            for e in APPLICATION_LIFECYCLE.allowed_events(self.mirror.status)
            if e in OPERATOR_EVENTS
        ]
        going_on = [e for e in allowed if e not in CLOSING_EVENTS]
        pick = data.draw(st.integers(0, 4), label="which events")
        choices = (going_on if pick > 1 else allowed if pick == 1 else []) or OPERATOR_EVENTS
        name = data.draw(st.sampled_from(choices), label="event")
        s = _servers()
        now = s.run(s.driver.now())
        today = local_date(now, ZONE)
        request = _event(name, today, today, data.draw)
        try:
            check_event(self.mirror, request, now)
            expected: str | None = None
        except EventRefused as exc:
            expected = exc.code
        answered = s.run(self._send(request))
        self.steps.append(f"{name}: pure {expected or 'accepts'}, workflow {answered or 'accepts'}")
        TALLY["accepted" if answered is None else f"refused {answered}"] += 1
        if answered == "closed":  # its workflow has ended: the pure side refuses it too
            assert self.mirror.is_closed and expected == "IllegalTransition", self.steps
            return
        assert answered == expected, self.steps
        if expected is None:
            before = self.mirror.status
            self.mirror = apply_event(self.mirror, request, now).state
            targets = {t.target for t in APPLICATION_LIFECYCLE.options(before, name)}
            assert self.mirror.status in targets | {before}, (before, name, self.mirror.status)

    async def _send(self, request: Any) -> str | None:
        """None if the workflow applied it, else its refusal code ("closed": it has ended)."""
        try:
            await self.handle.execute_update(ApplicationWorkflow.record_event, request)
        except WorkflowUpdateFailedError as exc:
            assert isinstance(exc.cause, ApplicationError), exc.cause
            return exc.cause.type
        except RPCError as exc:
            if "completed" in str(exc).lower() or "not found" in str(exc).lower():
                return "closed"
            raise
        return None

    @precondition(open)
    # Mostly a few days (a clock's reminder, a letter's turnaround), sometimes past a deadline.
    @rule(days=st.one_of(st.integers(1, 5), st.integers(1, 5), st.integers(6, 40)))
    def advance(self, days: int) -> None:
        s = _servers()
        s.run(s.env.sleep(timedelta(days=days)))
        now = s.run(s.driver.now())
        self.steps.append(f"+{days} days")
        TALLY["advanced"] += 1
        for _ in range(100):  # every wake-up the workflow had, in order
            wake: datetime | None = self.mirror.next_wake()
            if wake is None or wake > now:
                break
            self.mirror = fire_due_clocks(self.mirror, wake).state

    @invariant()
    def same_record(self) -> None:
        s = _servers()
        actual: ApplicationState = s.run(settled(self.handle, ApplicationWorkflow.state))
        # The checks' findings come from an activity: the pure side takes them as they arrive.
        self.mirror = self.mirror.model_copy(update={"findings": actual.findings})
        assert actual.status == self.mirror.status, self.steps
        REACHED.add(str(actual.status))
        assert _clocks(actual) == _clocks(self.mirror), self.steps
        lifecycle = APPLICATION_LIFECYCLE
        assert lifecycle.allowed_events(actual.status) == lifecycle.allowed_events(
            self.mirror.status
        )
        assert actual.is_closed == self.mirror.is_closed, self.steps


def _clocks(state: ApplicationState) -> list[tuple[str, str]]:
    return sorted((c.kind, c.last_day.isoformat()) for c in state.clocks)


Agreement.TestCase.settings = settings(
    max_examples=MAX_EXAMPLES,
    stateful_step_count=STEPS,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_workflow_and_the_pure_lifecycle_agree(tmp_path: Any) -> None:
    global SERVERS
    SERVERS = Servers(str(tmp_path))
    started = time.monotonic()
    try:
        Agreement.TestCase().runTest()
    finally:
        SERVERS.close()
        SERVERS = None
    print(
        f"\n{TALLY['runs']} random runs of up to {STEPS} steps on the time-skipping server "
        f"({dict(TALLY)}; reached {sorted(REACHED)}): {time.monotonic() - started:.1f} s"
    )
    assert TALLY["accepted"] and TALLY["refused IllegalTransition"] and TALLY["advanced"]
