"""Notification delivery through an outbox table, exactly once per idempotency key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import select
from temporalio import activity

from activities.database import read_model_errors, rejected_data_error, session
from models.contracts import RECORD_NOTIFICATION, NotificationRequest
from models.read_model import NotificationRow

# The only channel for now: a structured log line, which log shipping turns into alerts.
# Email and webhook channels come later; they will deliver from this same outbox row (claim the
# row, send with the key as the provider's idempotency key, then set `delivered_at`).
CHANNEL = "log"


class NotificationActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=RECORD_NOTIFICATION)
    async def record_notification(self, req: NotificationRequest) -> bool:
        """Record and deliver one notice. True if this call delivered it; False if it was
        already recorded (a retried activity, a replayed or reset workflow)."""
        return await asyncio.to_thread(self._record, req)

    def _record(self, req: NotificationRequest) -> bool:
        notice = req.notice
        now = datetime.now(UTC)
        row = NotificationRow(
            idempotency_key=req.idempotency_key,
            workflow_id=req.workflow_id,
            record_kind=req.record_kind,
            record_id=req.record_id,
            organization_id=req.organization_id,
            npi=req.npi,
            kind=notice.kind.value,
            subject=notice.subject,
            body=notice.body,
            record_status=notice.status,
            clock_id=notice.clock_id,
            due_date=notice.due_date,
            channel=CHANNEL,
            created_at=now,
            delivered_at=now,
        )
        with read_model_errors(f"notice {notice.key}"), session(self._engine) as s:
            s.add(row)
            try:
                # The unique key decides who delivers: a concurrent attempt blocks here until
                # the first commits, then fails. No check-then-insert race.
                s.flush()
            except IntegrityError:
                s.rollback()
                if self._exists(req.idempotency_key):
                    return False
                raise
            except DataError as exc:
                raise rejected_data_error(exc, f"notice {notice.key}") from None
            # Delivered while the row is claimed but before commit: if the commit fails the
            # activity retries and may log twice, but a notice is never lost.
            structlog.get_logger(__name__).info(
                "notification",
                channel=CHANNEL,
                workflow_id=req.workflow_id,
                organization_id=req.organization_id,
                record_kind=req.record_kind,
                record_id=req.record_id,
                kind=notice.kind.value,
                key=req.idempotency_key,
                subject=notice.subject,
                due_date=notice.due_date.isoformat() if notice.due_date else None,
            )
            s.commit()
        return True

    def _exists(self, key: str) -> bool:
        with read_model_errors("the outbox"), session(self._engine) as s:
            found = s.exec(
                select(NotificationRow.id).where(NotificationRow.idempotency_key == key)
            ).first()
        return found is not None
