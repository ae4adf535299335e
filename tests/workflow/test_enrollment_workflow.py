"""EnrollmentWorkflow on the real time-skipping test server: cycles, stays, gaps, bars."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.calendar import EnrollmentClockKind as K
from models.calendar import add_days, add_months, add_years, last_day_of_month, start_of_day
from models.enrollment import EnrollmentState, EnrollmentStatus, refuse_if_barred
from models.notices import NoticeKind
from models.records import EventRefused
from tests.workflow.enrollment_driver import ZONE, EnrollmentDriver
from tests.workflow.harness import settled
from worker import build_worker
from workflows.enrollment import EnrollmentWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
S = EnrollmentStatus
# README: "40 years stay under 260 history events per run".
EVENTS_PER_RUN_BOUND = 260


@pytest.fixture
async def driver(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[EnrollmentDriver]:
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        yield EnrollmentDriver(time_skipping_env, task_queue, sqlite_engine)


async def _one_cycle(
    driver: EnrollmentDriver, handle: Any, *, claims_every_days: int = 300
) -> None:
    """Bill regularly, then revalidate inside the window and get approved."""
    state = await driver.state(handle)
    due = state.revalidation_due_date
    assert due is not None
    opens = state.revalidation_window_opens
    assert opens is not None
    day = await driver.today()
    while add_days(day, claims_every_days) < opens:
        day = add_days(day, claims_every_days)
        await driver.sleep_until_local(day)
        await driver.send(handle, "claim_activity", latest_claim_date=day.isoformat())
    submit_on = add_days(opens, 10)
    await driver.sleep_until_local(submit_on)
    await driver.send(handle, "claim_activity", latest_claim_date=submit_on.isoformat())
    await driver.send(handle, "revalidation_submitted", receipt_date=submit_on.isoformat())
    approve_on = add_days(submit_on, 45)
    await driver.sleep_until_local(approve_on)
    await driver.send(handle, "revalidation_approved", approval_date=approve_on.isoformat())


async def test_three_five_year_cycles_continue_as_new(driver: EnrollmentDriver) -> None:
    await _three_cycles(driver, "CMS-855I", years=5)


async def test_three_dmepos_three_year_cycles_continue_as_new(driver: EnrollmentDriver) -> None:
    await _three_cycles(driver, "CMS-855S", years=3)


async def _three_cycles(driver: EnrollmentDriver, form: str, *, years: int) -> None:
    handle = await driver.start(form=form)
    first = await driver.state(handle)
    assert first.status == S.ACTIVE and first.cycle == 1
    assert first.revalidation_due_date == last_day_of_month(add_years(first.effective_date, years))
    dues: list[date | None] = [first.revalidation_due_date]
    runs = {(await handle.describe()).run_id}
    for cycle in (2, 3, 4):
        await _one_cycle(driver, handle)
        state = await driver.state(handle)
        assert state.cycle == cycle, state.events[-3:]
        assert state.status == S.ACTIVE
        dues.append(state.revalidation_due_date)
        runs.add((await handle.describe()).run_id)
    # Continue-as-new at each cycle's boundary (and mid-cycle past the bound on a run's history).
    assert len(runs) >= 4
    for earlier, later in itertools.pairwise(dues):
        assert earlier is not None and later is not None
        assert (later.year - earlier.year) == years and later.month == earlier.month
    keys = driver.notification_keys(handle.id)
    assert len(keys) == len(set(keys))
    row = driver.row(first.enrollment_id)
    assert row is not None and row.cycle == 4 and row.status == "active"
    assert row.revalidation_due_date == dues[-1]
    final = await driver.state(handle)
    assert [c.due_date for c in final.past_cycles] == dues[:3]
    histories = await driver.run_histories(handle.id, handle.first_execution_run_id or "")
    assert len(histories) >= 4 and all(len(h.events) < EVENTS_PER_RUN_BOUND for h in histories)
    print(f"\n{form} per-run history events: {[len(h.events) for h in histories]}")


# --- Helpers ------------------------------------------------------------------------------------


def _clock(state: EnrollmentState, kind: K) -> Any:
    found = state.clocks_of(kind)
    assert len(found) == 1, (kind, [c.clock_id for c in state.clocks])
    return found[0]


def _closed(state: EnrollmentState, kind: K) -> list[Any]:
    return [c for c in state.closed_clocks if c.clock.kind == kind]


async def _start_due_in(
    driver: EnrollmentDriver, months: int, **overrides: Any
) -> tuple[Any, date]:
    """An imported enrollment whose posted due date (CMS list) is the month end `months` on."""
    due = last_day_of_month(add_months(await driver.today(), months))
    handle = await driver.start(source="import", revalidation_due_date=due.isoformat(), **overrides)
    state = await driver.state(handle)
    assert state.revalidation_due_date == due
    return handle, due


async def _stayed_after_missed_due_date(driver: EnrollmentDriver) -> tuple[Any, date]:
    handle, due = await _start_due_in(driver, 3)
    await driver.sleep_until_local(due)
    assert (await driver.state(handle)).status == S.ACTIVE  # the due date itself counts
    await driver.sleep_until_local(add_days(due, 1))
    state = await driver.state(handle)
    assert state.status == S.STAYED
    stay = _clock(state, K.STAY)
    assert stay.last_day == add_days(due, 30)  # 30 days, day 0 = the due date
    assert not state.clocks_of(K.REVALIDATION_DUE)
    (record,) = state.stays
    assert record.cause == "revalidation" and record.deactivation_effective == due
    row = driver.row(state.enrollment_id)
    assert row is not None and row.status == "stayed"
    await driver.sleep_until_local(add_days(due, 30))
    assert (await driver.state(handle)).status == S.STAYED  # the stay's last day counts
    return handle, due


# --- Missed revalidation: stay, then cure or deactivation and reactivation ----------------------


async def test_missed_due_date_stay_cured_inside_30_days(driver: EnrollmentDriver) -> None:
    handle, due = await _stayed_after_missed_due_date(driver)
    last = add_days(due, 30)
    state = await driver.send(handle, "revalidation_submitted", receipt_date=last.isoformat())
    assert state.status == S.ACTIVE
    assert state.stays[0].outcome == "cured" and not state.clocks_of(K.STAY)
    await driver.sleep_until_local(add_days(due, 31))
    state = await driver.state(handle)
    assert state.status == S.ACTIVE and state.deactivation is None
    row = driver.row(state.enrollment_id)
    assert row is not None and row.status == "active" and row.unbillable_days == 0
    first_run = (await handle.describe()).run_id
    approve_on = add_days(due, 40)
    await driver.sleep_until_local(approve_on)
    await driver.send(handle, "revalidation_approved", approval_date=approve_on.isoformat())
    state = await driver.state(handle)
    assert (await handle.describe()).run_id != first_run  # continued as new
    assert state.cycle == 2 and state.status == S.ACTIVE
    assert state.revalidation_due_date == last_day_of_month(add_years(due, 5))
    assert state.past_cycles[-1].stayed and state.past_cycles[-1].submitted_on == last
    assert state.gaps == []


async def test_missed_due_date_stay_deactivation_then_reactivation_gap(
    driver: EnrollmentDriver,
) -> None:
    handle, due = await _stayed_after_missed_due_date(driver)
    await driver.sleep_until_local(add_days(due, 31))
    state = await driver.state(handle)
    assert state.status == S.DEACTIVATED
    assert state.deactivation is not None
    assert state.deactivation.effective_date == due  # retroactive to the due date (FCSO)
    assert state.deactivation.reason == "missed_revalidation" and state.deactivation.by_engine
    assert state.stays[0].outcome == "deactivated"
    assert _clock(state, K.DEACTIVATION_REBUTTAL).last_day == add_days(due, 31 + 15)
    late = await driver.refused(
        handle, "revalidation_submitted", receipt_date=add_days(due, 31).isoformat()
    )
    assert late.type == "IllegalTransition"
    receipt = add_days(due, 51)
    await driver.sleep_until_local(receipt)
    state = await driver.send(handle, "reactivation_submitted", receipt_date=receipt.isoformat())
    assert state.status == S.DEACTIVATED
    assert state.deactivation and state.deactivation.reactivation_receipt_date == receipt
    first_run = (await handle.describe()).run_id
    approved = add_days(receipt, 30)
    await driver.sleep_until_local(approved)
    state = await driver.send(handle, "reactivation_approved", approval_date=approved.isoformat())
    assert state.status == S.ACTIVE and state.deactivation is None
    (gap,) = state.gaps
    assert gap.reason == "missed_revalidation"
    assert (gap.deactivated_from, gap.reactivation_receipt_date) == (due, receipt)
    assert gap.through == add_days(receipt, -1)
    assert gap.days == (receipt - due).days == 51
    assert state.current_effective_date == receipt
    # The reactivation application revalidated the enrollment: a new cycle, a new run.
    assert state.cycle == 2
    assert state.revalidation_due_date == last_day_of_month(add_years(receipt, 5))
    await driver.sleep_until_local(add_days(approved, 1))
    assert (await handle.describe()).run_id != first_run
    state = await driver.state(handle)
    assert state.status == S.ACTIVE and state.gaps == [gap]
    row = driver.row(state.enrollment_id)
    assert row is not None
    assert row.status == "active" and row.unbillable_days == 51
    assert row.effective_date == receipt and row.cycle == 2


# --- Change reporting (424.516(d), CY2024 PFS): both sides of 30 and 90 days --------------------


async def test_change_reporting_windows_on_both_sides(driver: EnrollmentDriver) -> None:
    day0 = await driver.today()

    async def changed(kind: str) -> Any:
        handle = await driver.start()
        state = await driver.send(
            handle, "change_occurred", kind=kind, change_date=day0.isoformat()
        )
        return handle, _clock(state, K.CHANGE_REPORT)

    location_on_time, c1 = await changed("practice_location")
    location_late, c2 = await changed("practice_location")
    other_on_time, c3 = await changed("other")
    other_late, c4 = await changed("other")
    assert c1.last_day == c2.last_day == add_days(day0, 30)
    assert c3.last_day == c4.last_day == add_days(day0, 90)

    # Day 30: a practice-location change reported today is on time.
    await driver.sleep_until_local(add_days(day0, 30))
    assert (await driver.state(location_late)).status == S.ACTIVE
    state = await driver.send(
        location_on_time, "change_reported", reported_on=add_days(day0, 30).isoformat()
    )
    assert state.status == S.ACTIVE and not state.clocks_of(K.CHANGE_REPORT)
    assert state.changes[0].reported_on == add_days(day0, 30)

    # Day 31: unreported by the end of day 30 -> stayed for up to 60 days.
    await driver.sleep_until_local(add_days(day0, 31))
    assert (await driver.state(location_on_time)).status == S.ACTIVE
    state = await driver.state(location_late)
    assert state.status == S.STAYED
    assert _clock(state, K.STAY).last_day == add_days(day0, 30 + 60)
    assert state.stays[0].cause == "unreported_change"
    assert state.changes[0].stay_clock_id == state.stays[0].clock_id

    # Day 90: an 'other' change reported today is on time; the location stay still runs.
    await driver.sleep_until_local(add_days(day0, 90))
    assert (await driver.state(location_late)).status == S.STAYED
    assert (await driver.state(other_late)).status == S.ACTIVE
    state = await driver.send(
        other_on_time, "change_reported", reported_on=add_days(day0, 90).isoformat()
    )
    assert state.status == S.ACTIVE and state.stays == []

    # Day 91: the location stay ended uncured -> deactivated; the 'other' change is late.
    await driver.sleep_until_local(add_days(day0, 91))
    state = await driver.state(location_late)
    assert state.status == S.DEACTIVATED and state.deactivation is not None
    assert state.deactivation.reason == "unreported_change"
    assert state.deactivation.effective_date == add_days(day0, 91)  # the day after the stay
    state = await driver.state(other_late)
    assert state.status == S.STAYED
    assert _clock(state, K.STAY).last_day == add_days(day0, 90 + 60)
    state = await driver.send(
        other_late, "change_reported", reported_on=add_days(day0, 91).isoformat()
    )
    assert state.status == S.ACTIVE and state.stays[0].outcome == "cured"
    assert (await driver.state(other_on_time)).status == S.ACTIVE
    for handle, status in (
        (location_on_time, "active"),
        (location_late, "deactivated"),
        (other_on_time, "active"),
        (other_late, "active"),
    ):
        row = driver.row((await driver.state(handle)).enrollment_id)
        assert row is not None and row.status == status


# --- 12 months without claims (424.540(a)(1)) ---------------------------------------------------


async def test_twelve_months_without_claims_deactivates_after_two_warnings(
    driver: EnrollmentDriver,
) -> None:
    handle = await driver.start()
    state = await driver.state(handle)
    clock = _clock(state, K.NON_BILLING)
    first_month = add_months(state.effective_date.replace(day=1), 1)  # effective month billed
    last_day = last_day_of_month(add_months(first_month, 11))
    assert clock.last_day == last_day
    nine, eleven = add_months(first_month, 9), add_months(first_month, 11)
    assert [r.on for r in clock.reminders] == [nine, eleven]

    def warnings() -> list[str]:
        return [
            n.idempotency_key.split("/", 1)[1]
            for n in driver.outbox(handle.id)
            if n.kind == NoticeKind.REMINDER and n.clock_id == clock.clock_id
        ]

    await driver.sleep_until_local(add_days(nine, -1))
    assert warnings() == []
    await driver.sleep_until_local(nine)
    assert warnings() == [f"{clock.clock_id}:reminder:{(last_day - nine).days}"]
    await driver.sleep_until_local(last_day)
    assert (await driver.state(handle)).status == S.ACTIVE  # the 12th month's last day counts
    await driver.sleep_until_local(add_days(last_day, 1))
    state = await driver.state(handle)
    assert state.status == S.DEACTIVATED and state.deactivation is not None
    assert state.deactivation.reason == "non_billing"
    assert state.deactivation.effective_date == add_days(last_day, 1)
    await driver.sleep_until_local(add_days(last_day, 60))  # rebuttal window ends too
    keys = warnings()
    assert sorted(keys) == sorted(
        f"{clock.clock_id}:reminder:{(last_day - d).days}" for d in (nine, eleven)
    )
    scheduled = await driver.scheduled_notice_keys(
        await driver.run_histories(handle.id, handle.first_execution_run_id or "")
    )
    assert sorted(k for k in scheduled if k.startswith(f"{clock.clock_id}:reminder")) == sorted(
        keys
    )
    outbox = [n.idempotency_key for n in driver.outbox(handle.id)]
    assert len(outbox) == len(set(outbox)) and len(scheduled) == len(set(scheduled))
    consequences = [
        n
        for n in driver.outbox(handle.id)
        if n.idempotency_key.endswith(f"{clock.clock_id}:expired")
    ]
    assert len(consequences) == 1 and consequences[0].kind == NoticeKind.CONSEQUENCE


# --- Revocation and the re-enrollment bar (424.535(c), 424.526) ---------------------------------


async def test_revocation_three_year_bar_then_notified_and_completed(
    driver: EnrollmentDriver,
) -> None:
    handle = await driver.start()
    assert await handle.query(EnrollmentWorkflow.reenrollment_bar) is None
    notice = await driver.today()
    state = await driver.send(
        handle, "revoked", notice_date=notice.isoformat(), bar_years=3, grounds="424.535(a)(12)"
    )
    # Pending until it takes effect, 30 days after the notice (42 CFR 424.535(g)).
    assert state.status == S.REVOCATION_PENDING
    effective = add_days(notice, 30)
    barred_through = add_days(add_years(effective, 3), -1)
    bar = await handle.query(EnrollmentWorkflow.reenrollment_bar)
    assert bar is not None
    assert (bar.revoked_effective, bar.years, bar.expired) == (effective, 3, False)
    assert bar.barred_through == barred_through
    assert bar.may_apply_from == add_years(effective, 3)
    bar_clock = _clock(state, K.REENROLLMENT_BAR)
    assert {c.kind for c in state.clocks} == {
        K.REVOCATION_EFFECTIVE,
        K.REVOCATION_RECONSIDERATION,
        K.REENROLLMENT_BAR,
    }

    queried = await driver.state(handle)
    for early in (notice, add_days(notice, 400), barred_through):
        with pytest.raises(EventRefused) as info:
            refuse_if_barred(queried, early)
        assert info.value.code == "ReenrollmentBarred"
        assert bar.may_apply_from.isoformat() in info.value.message
    refuse_if_barred(queried, bar.may_apply_from)
    # Billing goes on until the effective date; from then on the enrollment is revoked.
    await driver.send(handle, "claim_activity", latest_claim_date=notice.isoformat())
    await driver.sleep_until_local(add_days(effective, -1))
    assert (await driver.state(handle)).status == S.REVOCATION_PENDING
    await driver.sleep_until_local(effective)
    assert (await driver.state(handle)).status == S.REVOKED
    refused = await driver.refused(handle, "claim_activity", latest_claim_date=notice.isoformat())
    assert refused.type == "IllegalTransition"

    await driver.sleep_until_local(barred_through)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    final = await handle.result()
    assert await driver.now() >= start_of_day(bar.may_apply_from, ZONE)
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert final.status == S.REVOKED and not final.clocks
    assert final.revocation is not None and final.revocation.bar_expired
    bar = await handle.query(EnrollmentWorkflow.reenrollment_bar)
    assert bar is not None and bar.expired
    refuse_if_barred(final, bar.may_apply_from)
    (expired,) = [
        n
        for n in driver.outbox(handle.id)
        if n.idempotency_key.endswith(f"{bar_clock.clock_id}:expired")
    ]
    assert expired.kind == NoticeKind.CONSEQUENCE and "new initial application" in expired.body
    row = driver.row(final.enrollment_id)
    assert row is not None and row.status == "revoked" and row.open_clocks == 0


# --- Forty years of one enrollment: small histories -------------------------------------------


# README: "It continues as new at each cycle, so 40 years stay under 260 history events per run".


async def test_forty_years_keep_every_run_under_260_events(driver: EnrollmentDriver) -> None:
    began = time.monotonic()
    handle = await driver.start()
    first = await driver.state(handle)
    until = add_years(first.effective_date, 40)
    while await driver.today() < until:
        await _one_cycle(driver, handle)
    state = await driver.state(handle)
    assert state.status == S.ACTIVE and state.gaps == []
    assert [c.cycle for c in state.past_cycles] == list(range(1, state.cycle))
    histories = await driver.run_histories(handle.id, handle.first_execution_run_id or "")
    counts = [len(h.events) for h in histories]
    # A run per cycle at least: continue-as-new at each cycle's end, and mid-cycle where a run
    # passed the engine's own bound on its history.
    assert len(histories) >= state.cycle
    over = [
        f"run {n} of {len(histories)} ({h.run_id}): {len(h.events)} events"
        for n, h in enumerate(histories, 1)
        if len(h.events) >= EVENTS_PER_RUN_BOUND
    ]
    assert not over, f"runs at or over {EVENTS_PER_RUN_BOUND} history events: {over}"
    keys = driver.notification_keys(handle.id)
    assert len(keys) == len(set(keys))
    scheduled = await driver.scheduled_notice_keys(histories)
    assert len(scheduled) == len(set(scheduled))  # no notice scheduled twice
    wall = time.monotonic() - began
    print(
        f"\n40 years: {state.cycle - 1} cycles to {await driver.today()}, {len(histories)} runs, "
        f"events per run {counts}, total {sum(counts)}, wall {wall:.1f}s"
    )


# --- Reminders once each across a worker restart -------------------------------------------------


async def test_reminders_sent_once_across_a_worker_restart(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    task_queue = f"tq-{uuid.uuid4()}"
    driver = EnrollmentDriver(time_skipping_env, task_queue, sqlite_engine)
    offsets = (180, 120, 90, 60, 30, 14, 7, 1)
    # The first worker is the production worker without its workflow cache: a cached worker
    # leaves the workflow on its sticky queue, which a real server re-routes after a few seconds
    # once the worker is gone, but the time-skipping test server never does (its clock stalls on
    # the stranded task). Uncached, it also replays the whole history on every task.
    template = build_worker(time_skipping_env.client, sqlite_engine, task_queue=f"{task_queue}-t")
    config = template.config()
    config["task_queue"] = task_queue
    config["max_cached_workflows"] = 0
    async with Worker(**config):
        handle, due = await _start_due_in(driver, 8)
        state = await driver.state(handle)
        clock = _clock(state, K.REVALIDATION_DUE)
        assert [r.days_before for r in clock.reminders] == list(offsets)
        await driver.sleep_until_local(add_days(due, -75))  # between the 90- and 60-day ones

        def reminders() -> list[str]:
            return [
                k
                for k in driver.notification_keys(handle.id)
                if k.startswith(f"{clock.clock_id}:reminder:")
            ]

        assert sorted(reminders()) == sorted(
            f"{clock.clock_id}:reminder:{o}" for o in (180, 120, 90)
        )
    # The first worker is gone; a new one takes over the same task queue and read model.
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        await driver.sleep_until_local(add_days(due, -59))
        assert sorted(reminders()) == sorted(
            f"{clock.clock_id}:reminder:{o}" for o in (180, 120, 90, 60)
        )
        await driver.sleep_until_local(due)
        state = await driver.send(handle, "revalidation_submitted", receipt_date=due.isoformat())
        assert state.status == S.ACTIVE
        await driver.sleep_until_local(add_days(due, 10))
        state = await driver.state(handle)
        assert state.status == S.ACTIVE and state.stays == []
        (closed,) = [
            c for c in _closed(state, K.REVALIDATION_DUE) if c.clock.clock_id == clock.clock_id
        ]
        assert closed.outcome == "satisfied"
        expected = [f"{clock.clock_id}:reminder:{o}" for o in offsets]
        sent = reminders()
        assert sorted(sent) == sorted(expected)
        assert all(sent.count(k) == 1 for k in expected)
        scheduled = await driver.scheduled_notice_keys(
            await driver.run_histories(handle.id, handle.first_execution_run_id or "")
        )
        assert sorted(k for k in scheduled if k in expected) == sorted(expected)


async def test_revalidation_is_a_child_application_that_reports_back(
    driver: EnrollmentDriver,
) -> None:
    from models.application import ApplicationEventRequest
    from models.contracts import OpenApplication
    from workflows.application import ApplicationWorkflow

    today = await driver.today()
    handle, due = await _start_due_in(driver, 3)  # inside the 7-month window
    state = await driver.state(handle)
    assert state.status == S.ACTIVE

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            EnrollmentWorkflow.open_application,
            OpenApplication(purpose="reactivation", actor="ops", reason="r"),
        )
    assert "deactivated" in str(refused.value.cause)

    ask = OpenApplication(purpose="revalidation", actor="ops@example.org", reason="MAC notice")
    app_id = await handle.execute_update(EnrollmentWorkflow.open_application, ask)
    assert app_id == await handle.execute_update(EnrollmentWorkflow.open_application, ask)
    child = driver.client.get_workflow_handle(f"application-{app_id}")
    draft = await child.query(ApplicationWorkflow.state)
    assert draft.purpose.value == "revalidation" and draft.status.value == "draft"
    assert draft.details.enrollment_id == state.enrollment_id
    assert draft.details.revalidation_due_date == due
    assert draft.details.existing_ptan == state.ptan

    events: TypeAdapter[Any] = TypeAdapter(ApplicationEventRequest)

    async def record(event: str, **data: Any) -> Any:
        request = events.validate_python(
            {"event": event, "actor": "ops@example.org", "reason": "r", **data}
        )
        await child.execute_update(ApplicationWorkflow.record_event, request)
        # Telling the enrollment is one of the update's side effects: wait for them.
        return await settled(child, ApplicationWorkflow.state)

    # The operator completes what the enrollment cannot know (the SSN), then files it.
    await record("update_draft", changes={"legal_name": "Jane Doe", "ssn": "123-45-6789"})
    d = today.isoformat()
    await record("submit", web_tracking_id="WT-R1", signed_on=d)
    assert (await driver.state(handle)).revalidation_submitted_on == today
    await record("received_by_mac", case_number="C-R1", receipt_date=d)
    await record("approved", ptan=state.ptan, approval_date=d)
    after = await driver.state(handle)
    assert after.cycle == 2 and after.revalidation_due_date is not None
    assert after.revalidation_due_date > due


async def test_an_enrollment_has_an_audit_timeline(driver: EnrollmentDriver) -> None:
    from workflows.audit import build_timeline, fetch_chain

    handle = await driver.start()
    today = await driver.today()
    await driver.send(handle, "claim_activity", latest_claim_date=today.isoformat())
    entries, warnings = await build_timeline(
        await fetch_chain(driver.client, handle.id), driver.client.data_converter
    )
    assert warnings == []
    lines = [(e.kind, e.event, e.from_status, e.to_status) for e in entries if e.event]
    assert lines[:2] == [
        ("created", "created", None, "active"),
        ("event", "claim_activity", "active", "active"),
    ]


async def test_assignee_notes_and_status_since_outlive_continue_as_new(
    driver: EnrollmentDriver,
) -> None:
    handle = await driver.start(form="CMS-855I")
    first_run = (await handle.describe()).run_id
    state = await driver.send(handle, "assigned", assignee="bea@example.org")
    assert state.assignee == "bea@example.org" and state.status == S.ACTIVE
    await driver.send(handle, "note_added", text="Revalidation packet in the shared drive")
    state = await driver.state(handle)  # its projection done
    row = driver.row(state.enrollment_id)
    assert row is not None and row.assignee == "bea@example.org"
    assert row.status_since == state.effective_date  # active since it took effect
    await _one_cycle(driver, handle)
    state = await driver.state(handle)
    assert (await handle.describe()).run_id != first_run and state.cycle == 2
    assert state.assignee == "bea@example.org"
    assert [n.text for n in state.notes] == ["Revalidation packet in the shared drive"]
    assert state.events[0].event == "continued"  # this run's log starts anew...
    row = driver.row(state.enrollment_id)
    assert row is not None and row.assignee == "bea@example.org"
    assert row.status_since == state.effective_date  # ...but it has been active all along
