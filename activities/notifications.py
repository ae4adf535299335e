"""Notification delivery through an outbox: claim, deliver, mark.

Every notice has one outbox row (models/read_model.py NotificationRow), keyed by its
deterministic idempotency key. One attempt of the activity:

1. **claims** the row: inserts it if absent, or takes it over when it is pending or failed,
   when the claim is its own (an earlier attempt of the same activity), or when the claim's
   lease has run out. A row already sent answers "already delivered" (False); a row another
   deliverer holds under a live lease fails the attempt, which is retried later.
2. **delivers** it through the channel; the delivery carries the key as its id (a receiver drops
   a repeat by it; an e-mail or webhook provider takes it as its idempotency key). It then
   records in the activity's heartbeat that it delivered.
3. **marks** it sent.

A retry after a failed mark (the database went away in between) finds the heartbeat and only
marks: the notice goes out once. (The server keeps a failed attempt's last heartbeat for its
retry from Temporal Server 1.16; the Java time-skipping test server does not, so there a retry
delivers again, with the same id.) A deliverer killed between delivering and marking leaves a
claimed row; after its lease another attempt takes it over and may deliver again, with the same
id: the one case a receiver sees a repeat, and why the id travels with every delivery. A channel
that fails for a while puts the row back to pending; one that refuses it for good marks it
failed (an incident; an operator's re-run tries again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.database import read_model_errors, session
from activities.outbox_statements import (
    MARK_SENT,
    claim_parameters,
    claim_statement,
    mark_sent_parameters,
    record_row_in,
)
from models.contracts import NOTICE_REFUSED, RECORD_NOTIFICATION, NotificationRequest
from models.notification import MacCallFacts, Notification, Recipient, notification_for
from models.read_model import (
    ApplicationRowData,
    EnrollmentRowData,
    NotificationRow,
    OutboxState,
)

__all__ = [
    "LEASE",
    "NOTICE_CLAIMED",
    "NOTICE_REFUSED",
    "Channel",
    "ChannelRefused",
    "Delivery",
    "LogChannel",
    "NotificationActivities",
    "Router",
    "mac_call_facts",
]

# How long a claim keeps others off a row: well past one attempt's start-to-close timeout
# (workflows/effects.py ATTEMPT_TIMEOUT, 10 s), so only a deliverer that is gone loses it.
LEASE = timedelta(seconds=60)
NOTICE_CLAIMED = "NoticeBeingDelivered"
_DELIVERED = "delivered"  # the heartbeat detail of an attempt that delivered

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class Delivery:
    """One notice on its way out. `id` is the outbox key: the same for every attempt.
    `notification` is its message (models/notification.py); `recipients` are whom routing
    (activities/routing.py) sends it to."""

    id: str
    channel: str
    notification: Notification
    recipients: tuple[Recipient, ...] = ()
    # The outbox notice it came from (None for a digest, which belongs to no one record).
    request: NotificationRequest | None = None


def mac_call_facts(row: ApplicationRowData | EnrollmentRowData | None) -> MacCallFacts:
    """The phone facts of a record, from its read-model row (None: the row is not there yet)."""
    if row is None:
        return MacCallFacts()
    if isinstance(row, EnrollmentRowData):
        dates = [("Effective date", row.effective_date)]
        if row.revalidation_due_date:
            dates.append(("Revalidation due", row.revalidation_due_date))
        return MacCallFacts(npi=row.npi, ptan=row.ptan, key_dates=tuple(dates))
    labelled = [
        ("Submitted", row.submitted_on),
        ("Received by the MAC", row.receipt_date),
        ("Approved", row.approval_date),
        ("Effective date", row.effective_date),
    ]
    return MacCallFacts(
        npi=row.npi,
        ptan=row.ptan,
        web_tracking_id=row.web_tracking_id,
        case_number=row.case_number,
        key_dates=tuple((label, on) for label, on in labelled if on is not None),
    )


# Whom a notice goes to (activities/routing.py); the default: nobody named (the log channel).
Router = Callable[[NotificationRequest], Sequence[Recipient]]


class ChannelRefused(Exception):
    """The channel refuses this notice for good (a bad address, a rejected payload): retrying
    cannot help. Its message must name no value; it becomes the row's `last_error`."""


class Channel(Protocol):
    """A way out for notices (log lines today; e-mail and webhooks build on this). `deliver`
    raises ChannelRefused for a permanent refusal, anything else for a passing failure."""

    name: str

    def deliver(self, delivery: Delivery) -> None: ...


class LogChannel:
    """A structured log line per notice, which log shipping turns into alerts. The line
    carries the delivery id, so a consumer drops a repeat."""

    name = "log"

    def deliver(self, delivery: Delivery) -> None:
        n = delivery.notification
        structlog.get_logger(__name__).info(
            "notification",
            channel=self.name,
            delivery_id=delivery.id,
            workflow_id=delivery.request.workflow_id if delivery.request else None,
            organization_id=n.organization_id,
            record_kind=n.record_kind,
            record_id=n.record_id,
            kind=n.kind.value,
            key=delivery.id,
            subject=n.happened,
            due_date=n.due_by.isoformat() if n.due_by else None,
        )


def _nobody(request: NotificationRequest) -> Sequence[Recipient]:
    return ()


class NotificationActivities:
    def __init__(
        self,
        engine: Engine,
        channel: Channel | None = None,
        *,
        router: Router | None = None,
        base_url: str | None = None,
    ) -> None:
        if engine.dialect.name not in _INSERTS:
            raise ValueError(f"no outbox claim for the {engine.dialect.name} dialect")
        self._engine = engine
        self._insert = _INSERTS[engine.dialect.name]
        self._channel: Channel = channel or LogChannel()
        self._router: Router = router or _nobody
        self._base_url = base_url or "http://127.0.0.1:8000"  # the API on enroll dev's defaults

    @activity.defn(name=RECORD_NOTIFICATION)
    async def record_notification(self, req: NotificationRequest) -> bool:
        """Deliver one notice once. True if this activity delivered it; False if it had been
        delivered already (a replayed or reset workflow, a notice carried across
        continue-as-new)."""
        info = activity.info()
        claimant = f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
        delivered_before = _DELIVERED in info.heartbeat_details
        now = datetime.now(UTC)
        claimed = await asyncio.to_thread(self._claim, req, claimant, now)
        if not claimed:
            return False
        if not delivered_before:
            await asyncio.to_thread(self._deliver, req, claimant)
            activity.heartbeat(_DELIVERED)
        await asyncio.to_thread(self._mark, req.idempotency_key, claimant)
        return True

    # --- the three steps, each its own transaction ---------------------------------------------

    @staticmethod
    def _columns(req: NotificationRequest, channel: str) -> dict[str, Any]:
        notice = req.notice
        return {
            "idempotency_key": req.idempotency_key,
            "workflow_id": req.workflow_id,
            "record_kind": req.record_kind,
            "record_id": req.record_id,
            "organization_id": req.organization_id,
            "npi": req.npi,
            "kind": notice.kind.value,
            "subject": notice.subject,
            "body": notice.body,
            "record_status": notice.status,
            "clock_id": notice.clock_id,
            "due_date": notice.due_date,
            "channel": channel,
        }

    def _claim(self, req: NotificationRequest, claimant: str, now: datetime) -> bool:
        """Take the row (True), or find it sent (False); raise if another holds it."""
        return self.claim(self._columns(req, self._channel.name), claimant, now)

    def claim(self, columns: dict[str, Any], claimant: str, now: datetime) -> bool:
        """Claim the outbox row of `columns` (its idempotency_key and what the row holds)."""
        key = columns["idempotency_key"]
        what = f"notice {key.rsplit('/', 1)[-1]}"
        with read_model_errors(what), session(self._engine) as s:
            won = self._claim_in(s, columns, claimant, now)
            s.commit()
            if won:
                return True
            state = self._state_in(s, key)
        return self._lost(state, what)

    def claim_in(self, s: Session, req: NotificationRequest, claimant: str, now: datetime) -> bool:
        """`claim` in the caller's transaction (not committed): the same statement, so the same
        exclusion between deliverers once the caller commits."""
        columns = self._columns(req, self._channel.name)
        if self._claim_in(s, columns, claimant, now):
            return True
        return self._lost(self._state_in(s, columns["idempotency_key"]), f"notice {req.notice.key}")

    def _claim_in(self, s: Session, columns: dict[str, Any], claimant: str, now: datetime) -> bool:
        statement = claim_statement(self._insert, tuple(columns))
        parameters = claim_parameters(columns, claimant, now, LEASE)
        return s.connection().execute(statement, parameters).first() is not None

    @staticmethod
    def _state_in(s: Session, key: str) -> str | None:
        return s.exec(
            select(NotificationRow.state).where(NotificationRow.idempotency_key == key)
        ).first()

    @staticmethod
    def _lost(state: str | None, what: str) -> bool:
        """A claim not won: the row was sent already (False), or another attempt holds it."""
        if state == OutboxState.SENT.value:
            return False
        raise ApplicationError(
            f"{what} is being delivered by another attempt; it is taken over when that claim "
            f"lapses (after {int(LEASE.total_seconds())} s)",
            type=NOTICE_CLAIMED,
        )

    def _facts(self, req: NotificationRequest) -> MacCallFacts:
        """The record's phone facts from the read model (its row may not be there yet)."""
        with read_model_errors("the record's row"), session(self._engine) as s:
            return self.facts_in(s, req)

    @staticmethod
    def facts_in(s: Session, req: NotificationRequest) -> MacCallFacts:
        """`_facts` read in the caller's transaction (it sees a row the caller just wrote)."""
        row = record_row_in(s, req.record_kind, req.record_id)
        return mac_call_facts(row) if row is not None else MacCallFacts(npi=req.npi)

    def _deliver(
        self,
        req: NotificationRequest,
        claimant: str,
        recipients: Sequence[Recipient] | None = None,
    ) -> None:
        delivery = self.delivery(req, self._router(req) if recipients is None else recipients)
        self.send(delivery, claimant, f"notice {req.notice.key}")

    def recipients(self, req: NotificationRequest) -> Sequence[Recipient]:
        """Whom `req` goes to (the router's answer)."""
        return self._router(req)

    def delivery(
        self,
        req: NotificationRequest,
        recipients: Sequence[Recipient],
        facts: MacCallFacts | None = None,
    ) -> Delivery:
        """A notice's delivery: its message (with the record's facts, read now unless given)
        and its recipients."""
        notification = notification_for(
            req,
            today=datetime.now(UTC).date(),
            base_url=self._base_url,
            facts=self._facts(req) if facts is None else facts,
        )
        return Delivery(
            id=req.idempotency_key,
            channel=self._channel.name,
            notification=notification,
            recipients=tuple(recipients),
            request=req,
        )

    def send(self, delivery: Delivery, claimant: str, what: str) -> None:
        """Hand a claimed row's delivery to the channel; on failure put the row back (pending,
        or failed for a refusal) with the reason, and fail the attempt."""
        try:
            self._channel.deliver(delivery)
        except ChannelRefused as exc:
            self._release(delivery.id, claimant, OutboxState.FAILED, str(exc))
            raise ApplicationError(
                f"the {self._channel.name} channel refused {what}: {exc}",
                type=NOTICE_REFUSED,
                non_retryable=True,
            ) from None
        except Exception as exc:
            why = f"{type(exc).__name__} from the {self._channel.name} channel"
            self._release(delivery.id, claimant, OutboxState.PENDING, why)
            raise ApplicationError(
                f"{what} was not delivered: {why}", type="NoticeNotDelivered"
            ) from None

    def mark(self, key: str, claimant: str) -> None:
        self._mark(key, claimant)

    def mark_all(self, keys: Sequence[str], claimant: str) -> None:
        """Mark the rows of `keys` this claimant holds sent, in one statement."""
        with read_model_errors("the outbox"), session(self._engine) as s:
            s.connection().execute(
                MARK_SENT, mark_sent_parameters(keys, claimant, datetime.now(UTC))
            )
            s.commit()

    def _mark(self, key: str, claimant: str) -> None:
        sent = self._owned(key, claimant).values(
            state=OutboxState.SENT.value,
            delivered_at=datetime.now(UTC),
            claimed_by=None,
            lease_until=None,
            last_error=None,
        )
        with read_model_errors("the outbox"), session(self._engine) as s:
            s.execute(sent)
            s.commit()

    def _release(self, key: str, claimant: str, state: OutboxState, error: str) -> None:
        back = self._owned(key, claimant).values(
            state=state.value, claimed_by=None, lease_until=None, last_error=error[:500]
        )
        with read_model_errors("the outbox"), session(self._engine) as s:
            s.execute(back)
            s.commit()

    @staticmethod
    def _owned(key: str, claimant: str) -> Any:
        return update(NotificationRow).where(
            col(NotificationRow.idempotency_key) == key,
            col(NotificationRow.claimed_by) == claimant,
        )
