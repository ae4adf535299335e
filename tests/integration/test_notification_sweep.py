"""The daily notification sweep (activities/notification_sweep.py) on a real read model:
escalation of an unacknowledged reminder from its internal target (business days before the
last day), one role further each business day, stopped by an acknowledgement; and the daily
digest per recipient of what is due in the next 30 days, each sent once however often the
sweep runs."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.notification_sweep import NotificationSweep, SweepResult
from activities.notifications import Delivery, NotificationActivities
from activities.projection import ProjectionActivities
from models.application import ApplicationCreate, new_application
from models.contracts import NotificationRequest
from models.notices import Notice, NoticeKind
from models.read_model import NotificationAckRow, NotificationRow, application_projection
from models.routing import RoutingTable
from tests.conftest import TEST_KEYRING
from tests.integration.test_api_reads import npi
from tests.integration.test_read_model import NOW, _step, history
from worker import run_worker
from workflows.notification_sweep import NOTIFICATION_SWEEP_ID
from workflows.settings import Settings

__all__ = ["history"]  # a fixture, used by name

ROUTES = RoutingTable.model_validate(
    {
        "people": [
            {
                "address": "ana@acme.example",
                "role": "specialist",
                "organization": "acme",
                "providers": ["1234567893"],
            },
            {
                "address": "ben@acme.example",
                "role": "specialist",
                "organization": "acme",
                "providers": [npi(2)],
            },
            {"address": "lee@acme.example", "role": "manager", "organization": "acme"},
            {"address": "kim@acme.example", "role": "director", "organization": "acme"},
        ],
        "routes": [
            {
                "kinds": ["reminder", "consequence"],
                "roles": ["specialist"],
                "escalate_to": ["manager", "director"],
                "escalate_days_before": 5,
            },
        ],
    }
)


class Inbox:
    name = "test"

    def __init__(self) -> None:
        self.got: list[Delivery] = []

    def deliver(self, delivery: Delivery) -> None:
        self.got.append(delivery)

    def to(self, address: str, kind: NoticeKind) -> list[Delivery]:
        return [
            d
            for d in self.got
            if d.notification.kind == kind and address in [r.address for r in d.recipients]
        ]


def _portfolio(engine: Engine, history: dict[int, Any], outbox: NotificationActivities) -> None:
    """app-1 (NPI 1234567893): development response due 2025-03-31, and its reminder sent;
    app-2 (another NPI): signatures due, its reminder sent too."""
    projection = ProjectionActivities(engine)
    state, _ = history[5]
    projection._project(application_projection(state))
    other = new_application(
        ApplicationCreate(
            application_id="app-2",
            organization_id="acme",
            form="CMS-855I",
            purpose="initial",
            actor="ops@example.org",
            details={"legal_name": "John Roe", "npi": npi(2), "ssn": "234-56-7890", "state": "FL"},
        ),
        NOW,
    )
    other, _ = _step(
        other, {"event": "submit", "web_tracking_id": "WT-2", "submitted_on": "2025-03-03"}
    )
    projection._project(application_projection(other))
    for s, record_id in ((state, "app-1"), (other, "app-2")):
        [clock] = [c for c in s.clocks if c.kind != "late_recording"]
        req = NotificationRequest(
            workflow_id=s.workflow_id,
            record_kind="application",
            record_id=record_id,
            organization_id="acme",
            npi=s.details.npi,
            notice=Notice(
                key=f"{clock.clock_id}:reminder:10",
                kind=NoticeKind.REMINDER,
                subject=f"{record_id}: {clock.rule.name} due {clock.last_day}",
                body=clock.explanation,
                status=s.status.value,
                clock_id=clock.clock_id,
                due_date=clock.last_day,
                rule=clock.rule,
            ),
        )
        claimant = f"seed/{record_id}"
        assert outbox.claim(NotificationActivities._columns(req, "test"), claimant, NOW)
        outbox.mark(req.idempotency_key, claimant)


def _sweep(sweep: NotificationSweep, today: date, attempt: str = "1") -> SweepResult:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_id=f"sweep-{today}-{attempt}")
    result: SweepResult = env.run(sweep.sweep, today)
    return result


def _ack(engine: Engine, key_part: str) -> None:
    with Session(engine) as s:
        [row] = [
            r
            for r in s.exec(select(NotificationRow))
            if key_part in r.idempotency_key and r.kind == "reminder"
        ]
        s.add(
            NotificationAckRow(
                idempotency_key=row.idempotency_key, acknowledged_at=datetime.now(UTC), actor="ben"
            )
        )
        s.commit()


async def test_an_unacknowledged_deadline_escalates_a_role_a_business_day_until_acknowledged(
    sqlite_engine: Engine, history: dict[int, Any]
) -> None:
    inbox = Inbox()
    outbox = NotificationActivities(sqlite_engine, inbox, base_url="https://enroll.example.org")
    _portfolio(sqlite_engine, history, outbox)
    _ack(sqlite_engine, "application-app-2/")  # ben is on app-2's signatures: no escalation
    sweep = NotificationSweep(outbox, ROUTES)

    # Last day 2025-03-31 (a Monday); the internal target is 5 business days before: the 24th.
    assert (await _sweep(sweep, date(2025, 3, 21))).escalations == 0
    assert (await _sweep(sweep, date(2025, 3, 24))).escalations == 1
    [first] = inbox.to("lee@acme.example", NoticeKind.ESCALATION)
    assert first.notification.rule is not None and first.notification.due_by == date(2025, 3, 31)
    assert first.notification.happened.startswith("Not acknowledged (escalation 1): ")
    assert first.id.endswith(":escalation:1") and first.id.startswith("application-app-1/")
    assert (await _sweep(sweep, date(2025, 3, 24), "again")).escalations == 0  # once
    # The next business day, still unacknowledged: the next role, the director.
    assert (await _sweep(sweep, date(2025, 3, 25))).escalations == 1
    assert len(inbox.to("kim@acme.example", NoticeKind.ESCALATION)) == 1
    _ack(sqlite_engine, "application-app-1/")
    assert (await _sweep(sweep, date(2025, 3, 26))).escalations == 0
    assert len(inbox.to("lee@acme.example", NoticeKind.ESCALATION)) == 1
    assert [d for d in inbox.got if "app-2" in d.id and d.notification.kind == "escalation"] == []


async def test_a_daily_digest_per_recipient_of_what_is_due_in_30_days(
    sqlite_engine: Engine, history: dict[int, Any]
) -> None:
    inbox = Inbox()
    outbox = NotificationActivities(sqlite_engine, inbox, base_url="https://enroll.example.org")
    _portfolio(sqlite_engine, history, outbox)
    sweep = NotificationSweep(outbox, ROUTES)
    assert (await _sweep(sweep, date(2025, 3, 10))).digests == 2  # ana and ben
    assert (await _sweep(sweep, date(2025, 3, 10), "again")).digests == 0
    [ana] = inbox.to("ana@acme.example", NoticeKind.DIGEST)
    [ben] = inbox.to("ben@acme.example", NoticeKind.DIGEST)
    print("\n" + ana.notification.detail + "\n" + ben.notification.detail)  # for the report
    assert (
        "2025-03-31 (21 d)  target 2025-03-24  application app-1 NPI 1234567893: "
        "development_response" in ana.notification.detail
    )
    assert "app-2" not in ana.notification.detail and "app-1" not in ben.notification.detail
    assert "app-2" in ben.notification.detail
    assert "123-45-6789" not in ana.notification.detail + ben.notification.detail
    assert (await _sweep(sweep, date(2025, 3, 11))).digests == 2  # a new day, a new digest


async def test_a_worker_with_a_routing_file_starts_the_daily_sweep_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """run_worker (what `enroll worker` runs): with ENROLL_NOTIFY_ROUTES_FILE it registers the
    sweep and starts its workflow; a second worker keeps the running one."""
    routes = tmp_path / "routes.json"
    routes.write_text(ROUTES.model_dump_json())
    settings = Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue=f"sweep-{uuid.uuid4()}",
        database_url=f"sqlite:///{tmp_path / 'read_model.db'}",
        payload_keys=TEST_KEYRING.to_config(),
        register_search_attributes=False,
        notify_routes_file=routes,
        notify_sweep_hour=6,
    )
    handle = dev_env.client.get_workflow_handle(NOTIFICATION_SWEEP_ID)
    runs = []
    try:
        for _ in range(2):
            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(settings, stop))
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                try:
                    desc = await handle.describe()
                    if desc.status == WorkflowExecutionStatus.RUNNING:
                        break
                except RPCError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "no sweep workflow"
                await asyncio.sleep(0.1)
            runs.append(desc.run_id)
            stop.set()
            await worker
        assert runs[0] == runs[1]
        assert desc.workflow_type == "NotificationSweepWorkflow"
    finally:
        await handle.terminate(reason="test over")
