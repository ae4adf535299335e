"""The sandbox's advance against the time-skipping test server's limits: a step whose work lasts
longer than the SDK's default call limit (30 s) completes, and hundreds of clocks firing at the
same instant settle in one advance with every enrollment acted on."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from api.app import create_app
from api.sandbox import TimeSkippingClock
from tests.integration.test_api_reads import _serve, unique
from tests.integration.test_sandbox import API_KEYS, ZONE, Sandbox, auth, npi, sandbox
from workflows.settings import Settings

__all__ = ["sandbox"]

# Longer than the SDK's default limit on one RPC (30 s), which ended the test server's sleep.
SLOW_WORK = timedelta(seconds=33)
progress_ticks = 0


@activity.defn
async def slow_work(seconds: float) -> None:
    """Work that holds the test server's clock (an activity in flight locks time skipping)
    and shows progress while it runs."""
    global progress_ticks
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        progress_ticks += 1
        await asyncio.sleep(0.25)


@workflow.defn(sandboxed=False)
class DayThenSlowWorkThenDay:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(timedelta(days=1))
        await workflow.execute_activity(
            slow_work, seconds, start_to_close_timeout=timedelta(minutes=5)
        )
        started = workflow.now()
        await workflow.sleep(timedelta(days=1))
        return started.isoformat()


@pytest.mark.timeout(180)
async def test_a_step_whose_work_outlasts_the_sdk_call_limit_completes(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async def ticks() -> int:
        return progress_ticks

    clock = TimeSkippingClock(time_skipping_env, stall_after=timedelta(seconds=2), progress=ticks)
    queue = unique("limits")
    with time_skipping_env.auto_time_skipping_disabled():
        async with Worker(
            time_skipping_env.client,
            task_queue=queue,
            workflows=[DayThenSlowWorkThenDay],
            activities=[slow_work],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await time_skipping_env.client.start_workflow(
                DayThenSlowWorkThenDay.run,
                SLOW_WORK.total_seconds(),
                id=unique("slow-step"),
                task_queue=queue,
            )
            before = await clock.now()
            # One step of three days: the day-1 timer's work takes 33 s of wall time.
            await clock.advance(timedelta(days=3))
            after = await clock.now()
            assert timedelta(days=3) <= after - before < timedelta(days=3, minutes=5)
            # Waited for, not cut short: the work held the clock (no lock taken from it),
            # and the second day's timer fired after it, within the same advance.
            assert clock.leaks_released == 0
            work_done_at = datetime.fromisoformat(await handle.result())
    assert timedelta(days=1) + SLOW_WORK <= work_done_at - before < timedelta(days=1, minutes=5)


# 150 enrollments, one advance: ~1 minute on a shared 2-core machine.
@pytest.mark.timeout(600)
async def test_hundreds_of_clocks_firing_at_once_settle_in_one_advance(sandbox: Sandbox) -> None:
    """Imported with no claim on record, every enrollment's no-claims clock fires at the same
    instant (the first day of the same month): one advance fires them all, and answers when
    every enrollment has been deactivated and the read model shows it."""
    day0 = await sandbox.today()
    effective = (day0 - timedelta(days=60)).isoformat()
    count = 150
    rows = ["enrollment_id,npi,ptan,form,state,effective_date"] + [
        f"I20200101{900000 + i:06d},{npi(5000 + i)},PT{i:07d},CMS-855I,FL,{effective}"
        for i in range(count)
    ]
    r = await sandbox.http.post(
        "/v1/imports",
        json={"roster_csv": "\n".join(rows) + "\n", "reason": "many clocks at once"},
        headers=auth("operator"),
        timeout=300,
    )
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["created"] == count, r.json()["counts"]

    r = await sandbox.http.post(
        "/v1/sandbox/clock/advance", json={"days": 400}, headers=auth("operator"), timeout=600
    )
    assert r.status_code == 200, r.text
    report = r.json()
    fired = [p for p in report["passed"] if p["clock_kind"] == "non_billing"]
    assert len(fired) == count
    assert len({p["fires_at"] for p in fired}) == 1  # all at the same instant
    assert report["status_changes_count"] == count
    page = await sandbox.get("/v1/enrollments", status="deactivated", limit=200)
    assert len(page["items"]) == count


@pytest.mark.timeout(180)
async def test_an_advance_whose_engine_makes_no_progress_answers_504_clock_stalled(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    """The clock held (an activity in flight locks time skipping) and nothing moving: the read
    model, the progress probe and the clock all still. After its stalls the advance answers a
    504 naming the stuck clock instead of waiting for ever or a 500."""

    async def still() -> int:
        return 0

    clock = TimeSkippingClock(
        time_skipping_env, stall_after=timedelta(seconds=1), progress=still, max_stalls=0
    )
    settings = Settings(
        task_queue=unique("stalled"), default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine, sandbox=clock)
    with time_skipping_env.auto_time_skipping_disabled():
        async with Worker(
            time_skipping_env.client,
            task_queue=settings.task_queue,
            workflows=[DayThenSlowWorkThenDay],
            activities=[slow_work],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            await time_skipping_env.client.start_workflow(
                DayThenSlowWorkThenDay.run,
                60.0,  # a minute of work that shows no progress to this clock's probe
                id=unique("stalled-step"),
                task_queue=settings.task_queue,
            )
            async with _serve(app, auth("admin")) as http:
                # Waiting for the work would answer 200 after its minute: the 504 is the
                # advance giving up on a stuck clock.
                r = await http.post("/v1/sandbox/clock/advance", json={"days": 3})
    assert r.status_code == 504, r.text
    problem = r.json()
    assert problem["type"].endswith("/clock-stalled") and "stuck" in problem["detail"], problem
