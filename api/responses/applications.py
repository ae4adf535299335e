"""Applications as the API shows them: one application in full (from its workflow), and the rows
of the list (from the read model).

SSN and EIN show their last four digits only and the date of birth never: the full values stay
in the encrypted workflow payloads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.responses.common import INCIDENTS, NOTIFICATIONS_FAILING, SIDE_EFFECTS_PENDING, ClockView
from api.responses.pages import Page
from models.application import (
    ApplicationEventRecord,
    ApplicationState,
    ApplicationStatus,
    Decision,
    DevelopmentRequest,
    allowed_events,
)
from models.checks import Finding
from models.clocks import ClosedClock
from models.contracts import Incident
from models.forms import FeeDecision, Form, Purpose
from models.privacy import REDACTED, mask_tin
from models.records import MAX_NOTES, RecordNote


class ApplicationDetailsView(BaseModel):
    """The form fields the engine tracks, sensitive ones masked."""

    model_config = ConfigDict(from_attributes=True)

    legal_name: str | None
    npi: str | None
    ein: str | None = Field(description="Last four digits only, e.g. **-***6789")
    ssn: str | None = Field(description="Last four digits only, e.g. ***-**-6789")
    date_of_birth: str | None = Field(description=f"Never shown: {REDACTED} when on file")
    state: str | None
    provider_type: str | None
    enrollment_id: str | None
    existing_ptan: str | None
    contact_email: str | None
    requested_effective_date: date | None
    first_service_date: date | None
    revalidation_due_date: date | None
    change_of_ownership_date: date | None
    asc_or_portable_xray: bool
    physician_or_npp_organization: bool
    adds_practice_location: bool
    declared_disaster: bool
    idtf: bool

    @field_validator("ssn", mode="before")
    @classmethod
    def _ssn_last_four(cls, value: Any) -> Any:
        return mask_tin(value, "SSN") if value else value

    @field_validator("ein", mode="before")
    @classmethod
    def _ein_last_four(cls, value: Any) -> Any:
        return mask_tin(value, "EIN") if value else value

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _never(cls, value: Any) -> Any:
        return REDACTED if value else value


class ApplicationView(BaseModel):
    """One application in full: status, identifiers, dates, open clocks with their explanations,
    findings, the events it accepts now, and its own log."""

    application_id: str
    workflow_id: str
    organization_id: str
    time_zone: str
    form: Form
    purpose: Purpose
    status: ApplicationStatus
    allowed_events: list[str] = Field(description="The operator events it accepts now")
    details: ApplicationDetailsView
    created_at: datetime
    updated_at: datetime
    web_tracking_id: str | None
    submitted_on: date | None
    signatures_completed_on: date | None
    case_number: str | None
    receipt_date: date | None
    filing_date: date | None = Field(
        description="The date the MAC counts as filed: its receipt date when known, else the "
        "date the last signature came in, else the submission date"
    )
    fee: FeeDecision | None
    fee_requested_on: date | None
    fee_paid_on: date | None
    fee_hardship_requested_on: date | None = Field(
        description="A hardship exception request: not a payment, CMS decides it"
    )
    fee_hardship_outcome: str | None
    development_requests: list[DevelopmentRequest]
    fingerprints_requested_on: date | None
    fingerprints_received_on: date | None
    site_visits: list[tuple[date, str]] = Field(description="[visit date, result] pairs")
    ptan: str | None
    enrollment_id: str | None
    enrollment_id_provisional: bool = Field(
        description="True: the approval gave no PECOS enrollment ID, so the enrollment was "
        "started under this provisional id; record the ID on it (enrollment_id_assigned)"
    )
    enrollment: str | None = Field(
        description="What the approval did about the enrollment record, in words"
    )
    approval_date: date | None
    effective_date: date | None
    retrospective_billing_from: date | None
    decision: Decision | None
    reconsideration_filed_on: date | None
    reconsideration_outcome: str | None
    cap_filed_on: date | None = Field(description="A corrective action plan (42 CFR 405.809)")
    cap_outcome: str | None
    clocks: list[ClockView] = Field(description="Open clocks")
    closed_clocks: list[ClosedClock]
    reminders_sent: list[str]
    findings: list[Finding]
    events: list[ApplicationEventRecord] = Field(description="Its own log, oldest first")
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

    @classmethod
    def of(cls, state: ApplicationState) -> ApplicationView:
        return cls.model_validate(
            {
                **dict(state),
                "workflow_id": state.workflow_id,
                "filing_date": state.filing_date,
                "allowed_events": allowed_events(state),
                "enrollment": _enrollment_note(state),
            }
        )


def _enrollment_note(state: ApplicationState) -> str | None:
    if state.status != ApplicationStatus.APPROVED or state.enrollment_id is None:
        return None
    if state.enrollment_id_provisional:
        return (
            f"The approval gave no PECOS enrollment ID: the enrollment is tracked under the "
            f"provisional id {state.enrollment_id} (GET /v1/enrollments/{state.enrollment_id}). "
            "When PECOS shows its enrollment ID, record it there with the event "
            "enrollment_id_assigned: the enrollment goes on under that ID."
        )
    return f"Enrollment {state.enrollment_id} (GET /v1/enrollments/{state.enrollment_id})."


class ApplicationListItem(BaseModel):
    """One application in a list: the read model's row (no SSN, EIN or date of birth)."""

    model_config = ConfigDict(from_attributes=True)

    application_id: str
    workflow_id: str
    organization_id: str
    form: str
    purpose: str
    status: str
    npi: str | None
    legal_name: str | None
    state: str | None
    mac_jurisdiction: str | None
    web_tracking_id: str | None
    case_number: str | None
    ptan: str | None
    enrollment_id: str | None
    submitted_on: date | None
    receipt_date: date | None
    approval_date: date | None
    effective_date: date | None
    next_deadline: date | None = Field(description="The last day of its soonest open clock")
    next_deadline_kind: str | None
    open_findings: int
    assignee: str | None = Field(default=None, description="Who works on it (event assigned)")
    status_since: date | None = Field(
        default=None, description="The day it entered its current status"
    )
    created_at: datetime
    updated_at: datetime


class ApplicationPage(Page[ApplicationListItem]):
    """A page of applications, newest change first."""
