"""The daily notification sweep (workflows/notification_sweep.py runs it once a day):

- **escalation**: a reminder nobody acknowledged (POST /v1/notifications/{id}/ack) whose
  clock is still open escalates once its internal target has come: `escalate_days_before`
  business days before the last day (models/business_days.py; the last day itself stays in
  calendar days). It goes to the route's first escalation role, and one more role each further
  business day, until someone acknowledges a reminder of that clock or the clock closes;
- **digest**: every person routed reminders gets one message a day listing what is due in the
  next 30 days for the providers they look after.

Each escalation and digest is an outbox row with a deterministic key (`<workflow>/<clock>:
escalation:<step>`, `digest/<hash of the address>/<date>`), claimed, delivered and marked like
any notice, so a retried or repeated sweep sends nothing twice. The activity heartbeats the
keys it delivered: a retry after a send and before its mark only marks.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select
from temporalio import activity

from activities.notifications import Delivery, NotificationActivities
from models.business_days import business_days_before, is_business_day
from models.contracts import SWEEP_NOTIFICATIONS, NotificationRequest
from models.digest import DIGEST_DAYS, DigestLine, render_digest
from models.notices import Notice, NoticeKind
from models.notification import Notification, Severity
from models.read_model import DeadlineRow, NotificationAckRow, NotificationRow
from models.routing import RoutingTable
from models.rules import RuleKey, rule

__all__ = ["SWEEP_NOTIFICATIONS", "NotificationSweep", "SweepResult"]


class SweepResult(BaseModel):
    escalations: int = 0
    digests: int = 0


def _business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (0 if end <= start)."""
    days = 0
    current = start
    while current < end:
        current = date.fromordinal(current.toordinal() + 1)
        days += is_business_day(current)
    return days


class NotificationSweep:
    def __init__(
        self,
        outbox: NotificationActivities,
        table: RoutingTable,
        *,
        digest_days: int = DIGEST_DAYS,
    ) -> None:
        self._outbox = outbox
        self._engine = outbox._engine
        self._table = table
        self._digest_days = digest_days

    @activity.defn(name=SWEEP_NOTIFICATIONS)
    async def sweep(self, today: date) -> SweepResult:
        info = activity.info()
        claimant = f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
        done: set[str] = {d for d in info.heartbeat_details if isinstance(d, str)}
        result = SweepResult()
        for key, send in await asyncio.to_thread(self._due, today):
            if await asyncio.to_thread(self._once, key, send, claimant, done):
                activity.heartbeat(*sorted(done))
                if key.startswith("digest/"):
                    result.digests += 1
                else:
                    result.escalations += 1
        return result

    def _once(self, key: str, send: Any, claimant: str, done: set[str]) -> bool:
        columns, delivery = send
        if not self._outbox.claim(columns, claimant, datetime.now(UTC)):
            return False
        if key not in done:
            self._outbox.send(delivery, claimant, f"notice {key.rsplit('/', 1)[-1]}")
            done.add(key)
        self._outbox.mark(key, claimant)
        return True

    # --- what is due today -----------------------------------------------------------------

    def _due(self, today: date) -> list[tuple[str, tuple[dict[str, Any], Delivery]]]:
        with Session(self._engine) as s:
            reminders = list(
                s.exec(
                    select(NotificationRow, DeadlineRow)
                    .join(
                        DeadlineRow,
                        col(DeadlineRow.deadline_id)
                        == col(NotificationRow.workflow_id) + "/" + col(NotificationRow.clock_id),
                    )
                    .where(col(NotificationRow.kind) == NoticeKind.REMINDER.value)
                    .order_by(col(NotificationRow.id))
                )
            )
            acked = {
                (row.workflow_id, row.clock_id)
                for row, _ in s.exec(
                    select(NotificationRow, NotificationAckRow).join(
                        NotificationAckRow,
                        col(NotificationAckRow.idempotency_key)
                        == col(NotificationRow.idempotency_key),
                    )
                )
            }
            horizon = date.fromordinal(today.toordinal() + self._digest_days)
            deadlines = list(
                s.exec(
                    select(DeadlineRow)
                    .where(col(DeadlineRow.last_day) <= horizon)
                    .order_by(col(DeadlineRow.last_day))
                )
            )
        out = self._escalations(today, reminders, acked)
        out += self._digests(today, deadlines)
        return out

    def _escalations(
        self,
        today: date,
        reminders: list[tuple[NotificationRow, DeadlineRow]],
        acked: set[tuple[str, str | None]],
    ) -> list[tuple[str, tuple[dict[str, Any], Delivery]]]:
        latest: dict[tuple[str, str | None], tuple[NotificationRow, DeadlineRow]] = {}
        for row, deadline in reminders:
            latest[(row.workflow_id, row.clock_id)] = (row, deadline)  # ordered by id
        out = []
        for clock, (row, deadline) in latest.items():
            if clock in acked or deadline.last_day < today:
                continue
            days, steps = self._table.escalation(row.organization_id, row.npi, NoticeKind.REMINDER)
            if not steps:
                continue
            target = business_days_before(deadline.last_day, days)
            if today < target:
                continue
            reached = min(_business_days_between(target, today) + 1, len(steps))
            for step in range(1, reached + 1):
                req = self._escalation(row, deadline, step)
                columns = NotificationActivities._columns(req, self._outbox._channel.name)
                delivery = self._outbox.delivery(req, steps[step - 1])
                out.append((req.idempotency_key, (columns, delivery)))
        return out

    @staticmethod
    def _escalation(row: NotificationRow, deadline: DeadlineRow, step: int) -> NotificationRequest:
        ref = rule(RuleKey(deadline.rule_key), deadline.started_on).ref
        return NotificationRequest.model_validate(
            {
                "workflow_id": row.workflow_id,
                "record_kind": row.record_kind,
                "record_id": row.record_id,
                "organization_id": row.organization_id,
                "npi": row.npi,
                "notice": Notice(
                    key=f"{row.clock_id}:escalation:{step}",
                    kind=NoticeKind.ESCALATION,
                    subject=f"Not acknowledged (escalation {step}): {row.subject}",
                    body=deadline.explanation,
                    status=row.record_status,
                    clock_id=row.clock_id,
                    due_date=deadline.last_day,
                    rule=ref,
                ),
            }
        )

    def _digests(
        self, today: date, deadlines: list[DeadlineRow]
    ) -> list[tuple[str, tuple[dict[str, Any], Delivery]]]:
        out = []
        readers = {
            p.address: p
            for p in self._table.people
            if p.role in self._table.routed_roles(p.organization, NoticeKind.REMINDER)
        }
        for address, person in readers.items():
            lines = [
                DigestLine(
                    last_day=d.last_day,
                    internal_target=business_days_before(d.last_day, self._target_days(d)),
                    record_kind=d.record_kind,
                    record_id=d.record_id,
                    npi=d.npi,
                    clock_kind=d.clock_kind,
                    rule_citation=d.rule_citation,
                )
                for d in deadlines
                if d.organization_id == person.organization
                and person.looks_after(d.npi)
                and d.last_day >= today
            ]
            subject, text = render_digest(
                address, person.organization, today, lines, self._digest_days
            )
            digest_id = hashlib.sha256(address.encode()).hexdigest()[:16]
            key = f"digest/{digest_id}/{today.isoformat()}"
            notification = Notification(
                delivery_id=key,
                recipient=person.recipient(),
                kind=NoticeKind.DIGEST,
                severity=Severity.INFO,
                record_kind="digest",
                record_id=today.isoformat(),
                organization_id=person.organization,
                record_status="open",
                happened=subject,
                detail=text,
                record_link=f"{self._outbox._base_url.rstrip('/')}/v1/deadlines"
                f"?within_days={self._digest_days}&organization_id={person.organization}",
            )
            columns = {
                "idempotency_key": key,
                "workflow_id": "notification-sweep",
                "record_kind": "digest",
                "record_id": today.isoformat(),
                "organization_id": person.organization,
                "npi": None,
                "kind": NoticeKind.DIGEST.value,
                "subject": subject[:500],
                "body": text,
                "record_status": "open",
                "clock_id": None,
                "due_date": min((x.last_day for x in lines), default=None),
                "channel": self._outbox._channel.name,
            }
            delivery = Delivery(
                id=key,
                channel=self._outbox._channel.name,
                notification=notification,
                recipients=(person.recipient(),),
            )
            out.append((key, (columns, delivery)))
        return out

    def _target_days(self, deadline: DeadlineRow) -> int:
        days, _ = self._table.escalation(
            deadline.organization_id, deadline.npi, NoticeKind.REMINDER
        )
        return days
