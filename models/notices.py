"""What the engine tells people: reminders before a deadline, consequences when one passes, and a
line for each recorded event. Each notice has a key that is stable for the workflow, so the
notification activity can deliver it exactly once however often it is retried."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.rule_model import RuleRef


class NoticeKind(StrEnum):
    EVENT = "event"
    REMINDER = "reminder"
    CONSEQUENCE = "consequence"
    FINDING = "finding"  # a data check found something new
    # Sent by the daily notification sweep, never by a reducer (activities/notification_sweep.py).
    ESCALATION = "escalation"
    DIGEST = "digest"


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    kind: NoticeKind
    subject: str
    body: str
    status: str
    clock_id: str | None = None
    due_date: date | None = None
    # The rule that set the clock behind a reminder or a consequence (None for an event line
    # and for notices recorded before notices carried it): the message cites it.
    rule: RuleRef | None = None
