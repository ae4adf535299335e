"""The sandbox clock, and what one advance of it did."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from api.responses.common import IsoInstant


class SandboxClockView(BaseModel):
    now: IsoInstant
    today: date = Field(description="The date in `time_zone`: date events with it")
    time_zone: str


class PassedDeadlineRecord(BaseModel):
    kind: str
    id: str
    workflow_id: str
    status_before: str


class PassedDeadline(BaseModel):
    deadline_id: str
    clock_kind: str
    last_day: date
    fires_at: IsoInstant
    record: PassedDeadlineRecord


class RecordRef(BaseModel):
    kind: str
    id: str


class StatusChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    record: RecordRef
    from_: str | None = Field(alias="from", description="None: the record is new")
    to: str


class AdvanceNotice(BaseModel):
    kind: str = Field(description="reminder, consequence, event ...")
    record: RecordRef
    clock_id: str | None
    due_date: date | None
    status: str = Field(description="The record's status when the notice was sent")
    subject: str


class AdvanceReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    days: int
    from_: SandboxClockView = Field(alias="from")
    to: SandboxClockView
    steps: int = Field(description="Bounded internal steps, each settled before the next")
    deadlines_passed: int
    passed: list[PassedDeadline] = Field(description="The deadlines whose consequence fell due")
    status_changes_count: int
    status_changes: list[StatusChange]
    notices_count: int = Field(description="Notices (reminders, consequences) sent meanwhile")
    notices_by_kind: dict[str, int] = Field(description="The listed notices, counted by kind")
    notices: list[AdvanceNotice]
    truncated: bool = Field(description="True when a list was cut")
    settle_seconds: float = Field(description="How long the read model took to show it all")
