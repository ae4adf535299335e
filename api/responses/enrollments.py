"""Enrollments as the API shows them: one enrollment in full (from its workflow), and the rows of
the list (from the read model). An enrollment holds no TIN; NPI and PTAN are public."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.responses.common import INCIDENTS, NOTIFICATIONS_FAILING, SIDE_EFFECTS_PENDING, ClockView
from api.responses.pages import Page
from models.checks import Finding
from models.clocks import ClosedClock
from models.contracts import Incident
from models.enrollment import (
    BillingGap,
    CycleSummary,
    Deactivation,
    EnrollmentEventRecord,
    EnrollmentState,
    EnrollmentStatus,
    ReenrollmentBar,
    Revocation,
    StayRecord,
    allowed_events,
    reenrollment_bar,
    standing,
    status_text,
)
from models.enrollment.state import ChangeRecord
from models.forms import Form
from models.records import MAX_NOTES, RecordNote


class EnrollmentView(BaseModel):
    """One enrollment in full: status, due dates, open clocks with their explanations, the events
    it accepts now, the revalidation window, the re-enrollment bar, its cycles and its log."""

    enrollment_id: str
    workflow_id: str
    organization_id: str
    npi: str
    ptan: str
    form: Form
    legal_name: str | None = Field(description="The provider's legal name")
    provider_type: str | None
    state: str
    time_zone: str
    source: Literal["application", "import"]
    status: EnrollmentStatus
    status_text: str = Field(
        description="The status with the date that matters, e.g. 'stayed since 2026-07-01', "
        "'revocation pending, effective 2026-08-01'"
    )
    action_required: str | None = Field(
        description="Stayed, deactivated or revocation pending: what to do, and by when"
    )
    provisional: bool = Field(
        description="Tracked under a provisional id until its PECOS enrollment ID is recorded "
        "(event enrollment_id_assigned)"
    )
    replaces: str | None = Field(description="The provisional id this enrollment carries on")
    replaced_by: str | None = Field(description="The PECOS enrollment ID that replaced this one")
    allowed_events: list[str] = Field(description="The operator events it accepts now")
    effective_date: date
    current_effective_date: date
    reminder_offsets_days: tuple[int, ...] | None
    created_at: datetime
    updated_at: datetime
    seq: int
    cycle: int
    cycle_started_on: date
    revalidation_due_date: date | None
    revalidation_window_opens: date | None = Field(
        description="First day a revalidation may be received (7 months before the due date)"
    )
    revalidation_notice_on: date | None
    revalidation_submitted_on: date | None
    revalidation_application_id: str | None = Field(
        description="The linked application whose filing is on record this cycle"
    )
    applications_not_approved: list[str] = Field(
        description="Linked applications of this cycle that were not approved"
    )
    last_claim_date: date | None
    changes: list[ChangeRecord]
    stays: list[StayRecord]
    deactivation: Deactivation | None
    revocation: Revocation | None
    reenrollment_bar: ReenrollmentBar | None = Field(description="None unless revoked")
    terminated_on: date | None
    gaps: list[BillingGap]
    clocks: list[ClockView] = Field(description="Open clocks")
    closed_clocks: list[ClosedClock]
    reminders_sent: list[str]
    events: list[EnrollmentEventRecord] = Field(description="This cycle's log, oldest first")
    assignee: str | None = Field(
        description="Who works on it (event assigned; null: nobody)", default=None
    )
    notes: list[RecordNote] = Field(
        description=f"The latest {MAX_NOTES} notes (event note_added), oldest first",
        default_factory=list,
    )
    side_effects_pending: int = SIDE_EFFECTS_PENDING
    incidents: list[Incident] = INCIDENTS
    notifications_failing: int | None = NOTIFICATIONS_FAILING
    past_cycles: list[CycleSummary]
    findings: list[Finding] = Field(
        default_factory=list,
        description="What the data checks found against the public reference files (exclusion "
        "lists, Order and Referring, PECOS extracts), each with its evidence, source and date",
    )

    @classmethod
    def of(cls, state: EnrollmentState) -> EnrollmentView:
        return cls.model_validate(
            {
                **dict(state),
                "workflow_id": state.workflow_id,
                "allowed_events": allowed_events(state),
                "revalidation_window_opens": state.revalidation_window_opens,
                "reenrollment_bar": reenrollment_bar(state),
                "status_text": status_text(state),
                "action_required": needs.action if (needs := standing(state)) else None,
                "provisional": state.provisional,
            }
        )


class EnrollmentListItem(BaseModel):
    """One enrollment in a list: the read model's row."""

    model_config = ConfigDict(from_attributes=True)

    enrollment_id: str
    workflow_id: str
    organization_id: str
    npi: str
    ptan: str
    form: str
    legal_name: str | None
    state: str
    mac_jurisdiction: str | None
    status: str
    action_since: date | None = Field(
        description="Stayed, deactivated or revocation pending since this date"
    )
    action_required: str | None = Field(description="What to do about it")
    cycle: int
    effective_date: date
    revalidation_due_date: date | None
    next_deadline: date | None = Field(description="The last day of its soonest open clock")
    next_deadline_kind: str | None
    open_clocks: int
    unbillable_days: int
    assignee: str | None = Field(default=None, description="Who works on it (event assigned)")
    status_since: date | None = Field(
        default=None, description="The day it entered its current status"
    )
    created_at: datetime
    updated_at: datetime


class EnrollmentPage(Page[EnrollmentListItem]):
    """A page of enrollments, newest change first."""
