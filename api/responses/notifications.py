"""The notification outbox as the API shows it: each notice, where it is on its way out, and
why the last attempt failed (a reason that names no value)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.responses.common import IsoInstant


class NotificationItem(BaseModel):
    id: int = Field(description="The outbox row's number (for resend and ack)")
    delivery_id: str = Field(description="The id every delivery of it carries")
    workflow_id: str
    record_kind: str
    record_id: str
    organization_id: str
    kind: str = Field(description="event, reminder, consequence or escalation")
    subject: str
    due_date: date | None
    channel: str
    state: str = Field(description="pending, claimed, sent or failed")
    failing: bool = Field(
        description="True when its last attempt failed: refused for good (`failed`), or "
        "`pending` with a reason (a channel that is down; retried on the record's schedule)"
    )
    attempts: int
    last_error: str | None
    created_at: IsoInstant
    delivered_at: IsoInstant | None
    acknowledged_at: IsoInstant | None = None
    acknowledged_by: str | None = None


class NotificationPage(BaseModel):
    items: list[NotificationItem]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null on the last page"
    )


class ResendAnswer(BaseModel):
    id: int
    workflow_id: str
    retried: int = Field(description="How many of the record's failing side effects were re-run")


class AckAnswer(BaseModel):
    id: int
    acknowledged_at: IsoInstant
    acknowledged_by: str
    already: bool = Field(description="True if it had been acknowledged before (by then)")
