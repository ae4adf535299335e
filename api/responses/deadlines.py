"""The deadlines screen: every open clock across all records, soonest last day first."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.responses.common import IsoInstant


class DeadlineRule(BaseModel):
    key: str
    citation: str
    version: str


class DeadlineRecord(BaseModel):
    """The application or enrollment whose clock it is."""

    kind: str = Field(description="application or enrollment")
    id: str
    status: str
    workflow_id: str
    legal_name: str | None


class Deadline(BaseModel):
    """An open clock, or (kind `standing`) an enrollment that needs action now: stayed,
    deactivated or revocation pending, since `last_day`."""

    deadline_id: str
    last_day: date = Field(description="A clock's last day; for `standing`, the day it began")
    days_left: int = Field(description="From `today`; negative once the last day has passed")
    fires_at: IsoInstant = Field(description="When the consequence takes effect (took effect)")
    clock_kind: str = Field(description="The clock's kind, or `standing`")
    explanation: str
    action: str | None = Field(
        default=None, description="`standing` only: what to do, and what happens otherwise"
    )
    rule: DeadlineRule | None = Field(description="The clock's rule (None for `standing`)")
    started_on: date
    record: DeadlineRecord
    organization_id: str
    npi: str | None


class DeadlinesView(BaseModel):
    today: date = Field(description="Today in `time_zone` (the sandbox's today in a sandbox)")
    time_zone: str
    within_days: int | None
    items: list[Deadline]
    truncated: bool = Field(description="True when `limit` cut the list")
