"""What the engine tells people: reminders before a deadline, consequences when one passes, and a
line for each recorded event. Each notice has a key that is stable for the workflow, so the
notification activity can deliver it exactly once however often it is retried."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class NoticeKind(StrEnum):
    EVENT = "event"
    REMINDER = "reminder"
    CONSEQUENCE = "consequence"
    FINDING = "finding"  # a data check found something new


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    kind: NoticeKind
    subject: str
    body: str
    status: str
    clock_id: str | None = None
    due_date: date | None = None
