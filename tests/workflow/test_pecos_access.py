"""PECOS access hygiene (workflows/pecos_access.py, models/pecos_access.py) on the time-skipping
test server, through the real notification outbox: reminders before the 60-day password expiry
and before the 365-day lock, each on its day and not the day before; a finding when fewer than
two people can act, not the day before."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.notifications import Delivery, NotificationActivities
from models.calendar import local_date
from models.pecos_access import AccessEvent, AccessState, PecosUser
from workflows.pecos_access import PecosAccessWorkflow, pecos_access_id

ZONE = "America/New_York"


class Inbox:
    name = "test"

    def __init__(self) -> None:
        self.subjects: list[str] = []
        self._lock = threading.Lock()

    def deliver(self, delivery: Delivery) -> None:
        with self._lock:
            self.subjects.append(delivery.notification.happened)


def _user(user: str, role: str, password: date, login: date) -> PecosUser:
    return PecosUser.model_validate(
        {"user": user, "role": role, "password_changed_on": password, "last_login_on": login}
    )


async def _settle(handle: WorkflowHandle[Any, Any], inbox: Inbox, expected: int) -> list[str]:
    """Wait (real seconds) for the workflow's notices to go out; the server's clock only skips
    while the test sleeps it forward."""
    deadline = time.monotonic() + 15
    while len(inbox.subjects) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await handle.query(PecosAccessWorkflow.state)  # the workflow is idle again
    await asyncio.sleep(0.3)
    return list(inbox.subjects)


async def _start(
    env: WorkflowEnvironment, engine: Engine, users: list[PecosUser]
) -> tuple[Worker, WorkflowHandle[Any, Any], Inbox]:
    inbox = Inbox()
    outbox = NotificationActivities(engine, inbox)
    task_queue = f"pecos-{uuid.uuid4()}"
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=[PecosAccessWorkflow],
        activities=[outbox.record_notification],
    )
    org = f"org-{uuid.uuid4().hex[:6]}"
    start = AccessState(organization_id=org, time_zone=ZONE, users={u.user: u for u in users})
    await worker.__aenter__()
    handle = await env.client.start_workflow(
        PecosAccessWorkflow.run, start, id=pecos_access_id(org), task_queue=task_queue
    )
    return worker, handle, inbox


async def test_password_reminders_and_the_finding_on_both_sides_of_60_days(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    env = time_skipping_env
    t = local_date(await env.get_current_time(), ZONE)
    users = [_user("ana", "authorized_official", t, t), _user("bob", "surrogate", t, t)]
    worker, handle, inbox = await _start(env, sqlite_engine, users)
    try:
        assert await _settle(handle, inbox, 0) == []
        await env.sleep(timedelta(days=49))  # day 49: nothing yet
        assert await _settle(handle, inbox, 0) == []
        await env.sleep(timedelta(days=1))  # day 50: ten days before the expiry on day 60
        got = await _settle(handle, inbox, 2)
        assert len(got) == 2 and all(
            f"password expires {t + timedelta(60)} (10 d)" in s for s in got
        )
        # Ana changes her password on day 50; Bob does not.
        await handle.execute_update(
            PecosAccessWorkflow.record,
            AccessEvent(event="password_changed", user="ana", on=t + timedelta(days=50)),
        )
        await env.sleep(timedelta(days=7))  # day 57: three days before Bob's expiry
        got = await _settle(handle, inbox, 3)
        assert got[2:] == [got[2]] and "bob's PECOS password expires" in got[2]
        await env.sleep(timedelta(days=2))  # day 59: Bob can still act
        assert len(await _settle(handle, inbox, 3)) == 3
        await env.sleep(timedelta(days=1))  # day 60: Bob's password expired: one can act
        got = await _settle(handle, inbox, 4)
        assert len(got) == 4 and got[3].endswith("only 1 can act")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                PecosAccessWorkflow.record,
                AccessEvent(event="login_recorded", user="zed", on=t),
            )
        assert "no PECOS user 'zed'" in str(refused.value.cause)
        # Its history replays on this code (timers, updates, activities: deterministic).
        replayer = Replayer(
            workflows=[PecosAccessWorkflow], data_converter=env.client.data_converter
        )
        await replayer.replay_workflow(await handle.fetch_history())
    finally:
        await worker.__aexit__(None, None, None)


async def test_login_reminders_and_the_lock_on_both_sides_of_365_days(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    env = time_skipping_env
    t = local_date(await env.get_current_time(), ZONE)
    old = t - timedelta(days=340)  # locked on day 365 after it: t + 25
    users = [
        _user("ana", "authorized_official", t, t),
        _user("old", "delegated_official", t - timedelta(days=10), old),
    ]
    worker, handle, inbox = await _start(env, sqlite_engine, users)
    try:
        got = await _settle(handle, inbox, 1)  # 30 days before the lock: already due
        assert got == [got[0]] and f"old's PECOS account locks {t + timedelta(25)} (25 d)" in got[0]
        await env.sleep(timedelta(days=17))  # day 357 without a login: nothing new
        assert len(await _settle(handle, inbox, 1)) == 1
        await env.sleep(timedelta(days=1))  # day 358: seven days before the lock
        got = await _settle(handle, inbox, 2)
        assert len(got) == 2 and "(7 d)" in got[1]
        await env.sleep(timedelta(days=6))  # day 364: both still can act
        assert len(await _settle(handle, inbox, 2)) == 2
        await env.sleep(timedelta(days=1))  # day 365: locked; one can act
        got = await _settle(handle, inbox, 3)
        assert len(got) == 3 and got[2].endswith("only 1 can act")
    finally:
        await worker.__aexit__(None, None, None)
