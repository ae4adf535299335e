"""The state of one enrollment: what is known of it, its clocks, its cycles and its own log,
and what one run hands the next when it continues as new."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.calendar import (
    DEFAULT_TIME_ZONE,
    Clock,
    EnrollmentClockKind,
    last_day_of_month,
    local_date,
    revalidation_window_opens,
    validate_time_zone,
)
from models.checks import Finding
from models.clocks import ClosedClock, next_wake
from models.contracts import CarriedEffects, Incident
from models.data_checks import FindingDisposition
from models.enrollment.events import ChangeKind, DeactivationReason, RevocationGround, StayCause
from models.enrollment.status import FINAL_STATUSES, EnrollmentStatus
from models.forms import Form, revalidates
from models.identifiers import (
    NPI,
    PTAN,
    AnyEnrollmentId,
    OrganizationId,
    StateCode,
    is_provisional_enrollment_id,
)
from models.records import Actor, EventRecord, Reason, RecordNote
from models.text import Text200, Text300

MAX_CYCLE_SUMMARIES = 40  # 200 years of 5-year cycles: bounded, never trimmed in practice


class ChangeRecord(BaseModel):
    change_id: str
    kind: ChangeKind
    change_date: date
    description: str | None = None
    window_clock_id: str
    last_day: date
    reported_on: date | None = None
    stay_clock_id: str | None = None


class StayRecord(BaseModel):
    clock_id: str
    cause: StayCause
    missed_on: date
    last_day: date
    deactivation_effective: date | None = None  # None: the day after the stay ends
    change_id: str | None = None
    ended_on: date | None = None
    outcome: Literal["cured", "deactivated", "superseded", "lifted"] | None = None
    # "engine": inferred from a missed deadline; "mac": recorded from the MAC's stay letter.
    imposed_by: Literal["engine", "mac"] = "engine"
    letter_date: date | None = None
    grounds: str | None = None
    rebuttal_filed_on: date | None = None


class Deactivation(BaseModel):
    reason: DeactivationReason
    effective_date: date
    recorded_on: date
    letter_date: date | None = None
    by_engine: bool = False
    reactivation_receipt_date: date | None = None
    rebuttal_filed_on: date | None = None


class BillingGap(BaseModel):
    """A period no claim is paid for: deactivation effective date through the day before the
    receipt of the reactivation application processed to approval (42 CFR 424.540(b),
    DAB CR5613)."""

    reason: DeactivationReason
    deactivated_from: date
    reactivation_receipt_date: date
    through: date
    days: int


class Revocation(BaseModel):
    notice_date: date
    effective_date: date
    bar_years: int
    repeat: bool
    grounds: str
    # None: no bar (424.535(c)(1)(ii)); else the last day an initial application is returned.
    barred_through: date | None
    bar_expired: bool = False
    ground: RevocationGround | None = None
    identity_extension_years: int = 0
    # What the enrollment was before the revocation (a reversal reinstates it).
    prior_status: EnrollmentStatus = EnrollmentStatus.ACTIVE
    cap_filed_on: date | None = None
    reconsideration_filed_on: date | None = None
    # Set when the MAC reversed it (CAP accepted or reconsideration reversed).
    reversed_on: date | None = None


class CycleSummary(BaseModel):
    cycle: int
    started_on: date
    due_date: date | None
    notice_on: date | None = None
    submitted_on: date | None = None
    approved_on: date | None = None
    stayed: bool = False
    events: int = 0


class CycleCarryOver(BaseModel):
    """What the next run of the workflow (continue-as-new) needs from the last one."""

    cycle: int
    cycle_started_on: date
    status: EnrollmentStatus
    last_seq: int
    current_effective_date: date
    revalidation_due_date: date | None
    revalidation_notice_on: date | None = None
    revalidation_submitted_on: date | None = None
    revalidation_application_id: str | None = None
    applications_not_approved: list[str] = Field(default_factory=list)
    last_claim_date: date | None = None
    clocks: list[Clock] = Field(default_factory=list)
    reminders_sent: list[str] = Field(default_factory=list)
    changes: list[ChangeRecord] = Field(default_factory=list)
    stays: list[StayRecord] = Field(default_factory=list)
    deactivation: Deactivation | None = None
    revocation: Revocation | None = None
    gaps: list[BillingGap] = Field(default_factory=list)
    past_cycles: list[CycleSummary] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    dispositions: list[FindingDisposition] = Field(default_factory=list)
    # Who works on the enrollment and the latest notes outlive the cycle, and so does the day
    # it entered its status (the next run's log starts with a "continued" line).
    status_since: date | None = None
    assignee: str | None = None
    notes: list[RecordNote] = Field(default_factory=list)


class EnrollmentStart(BaseModel):
    """Input of EnrollmentWorkflow: a new enrollment (from an approved application or an import
    of an existing one), or the next run of one (`carry_over`, see `next_cycle_state`)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # A PECOS enrollment ID, or a provisional id (an approval that gave none, see
    # models.identifiers.provisional_enrollment_id) that enrollment_id_assigned replaces.
    enrollment_id: AnyEnrollmentId
    organization_id: OrganizationId
    npi: NPI
    ptan: PTAN
    form: Form
    # The provider's legal name, shown beside the NPI (never in ids, logs or search attributes).
    legal_name: Text300 | None = None
    provider_type: Text200 | None = None
    state: StateCode
    effective_date: date
    time_zone: str = DEFAULT_TIME_ZONE
    # A due date from the CMS Revalidation Due Date List (data.cms.gov) overrides the cycle.
    revalidation_due_date: date | None = None
    # Days before the due date on which reminders go out (default: the REVALIDATION_REMINDERS rule).
    reminder_offsets_days: tuple[int, ...] | None = None
    actor: Actor
    reason: Reason = "enrollment approved"
    source: Literal["application", "import"] = "application"
    carry_over: CycleCarryOver | None = None
    # The provisional id this enrollment carries on from (its PECOS ID was recorded).
    replaces: str | None = None
    # Side effects a previous run still owed when it continued as new (workflows/effects.py).
    effects: CarriedEffects | None = None
    # Update ids the previous runs applied (workflows/requests.py): a retry is not applied twice.
    recent_requests: dict[str, str] | None = None
    # Which workflow patches the run takes without a marker (workflows/patches.py): 0 for runs
    # started before generations existed (their inputs do not carry it).
    generation: int = 0

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return validate_time_zone(v)

    @field_validator("reminder_offsets_days")
    @classmethod
    def _positive_offsets(cls, v: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if v is not None and any(o < 1 for o in v):
            raise ValueError("reminder offsets are days before the due date: 1 or more")
        return v

    @model_validator(mode="after")
    def _due_date_shape(self) -> EnrollmentStart:
        due = self.revalidation_due_date
        if due is not None:
            if not revalidates(self.form):
                raise ValueError(f"{self.form} enrollments do not revalidate (424.515)")
            if due != last_day_of_month(due):
                raise ValueError(
                    f"revalidation_due_date {due} is not a month end; CMS due dates are the last "
                    "day of a month (CMS 'Revalidations' page)"
                )
        return self


EnrollmentEventRecord = EventRecord[EnrollmentStatus]


class EnrollmentState(BaseModel):
    enrollment_id: str
    organization_id: str
    npi: str
    ptan: str
    form: Form
    legal_name: str | None = None
    provider_type: str | None = None
    state: str
    time_zone: str
    source: Literal["application", "import"]
    effective_date: date
    current_effective_date: date
    reminder_offsets_days: tuple[int, ...] | None = None
    status: EnrollmentStatus
    created_at: datetime
    updated_at: datetime
    seq: int = 0
    cycle: int = 1
    cycle_started_on: date
    revalidation_due_date: date | None = None
    revalidation_notice_on: date | None = None
    revalidation_submitted_on: date | None = None
    # The linked application whose filing is on record this cycle (None: recorded by hand).
    revalidation_application_id: str | None = None
    # Linked applications of this cycle that were not approved (each refiling gets a new id).
    applications_not_approved: list[str] = Field(default_factory=list)
    last_claim_date: date | None = None
    changes: list[ChangeRecord] = Field(default_factory=list)
    stays: list[StayRecord] = Field(default_factory=list)
    deactivation: Deactivation | None = None
    revocation: Revocation | None = None
    terminated_on: date | None = None
    # The provisional id this record carries on from, and the PECOS ID that replaced this one.
    replaces: str | None = None
    replaced_by: str | None = None
    gaps: list[BillingGap] = Field(default_factory=list)
    clocks: list[Clock] = Field(default_factory=list)
    closed_clocks: list[ClosedClock] = Field(default_factory=list)
    reminders_sent: list[str] = Field(default_factory=list)
    events: list[EnrollmentEventRecord] = Field(default_factory=list)
    past_cycles: list[CycleSummary] = Field(default_factory=list)
    # What the outward data checks found (models/data_checks.py), replaced check by check when
    # a reference file is reloaded or the monthly run comes.
    findings: list[Finding] = Field(default_factory=list)
    # Operators' decisions on suspected exclusion matches (update record_finding_disposition).
    dispositions: list[FindingDisposition] = Field(default_factory=list)
    # The day the status was entered, as carried from an earlier run (None: in this run's log).
    status_since: date | None = None
    # Bookkeeping (models/records.py BookkeepingEvent): who works on it, the latest notes.
    assignee: str | None = None
    notes: list[RecordNote] = Field(default_factory=list)
    # Set when a revalidation is approved: the workflow should continue as new.
    cycle_completed: bool = False
    # Whether a revocation takes effect 30 days after its notice with CAP and reconsideration
    # windows (42 CFR 424.535(g), 405.809, 498.22); runs begun before that rule existed in the
    # engine keep the immediate revocation they were recorded with
    # (workflow.patched("revocation-appeals")).
    revocation_appeals: bool = True
    # Filled in by the workflow when it answers, never by the reducer: side effects (read model,
    # notices, checks) not yet done, and those failing.
    side_effects_pending: int = 0
    incidents: list[Incident] = Field(default_factory=list)

    @property
    def workflow_id(self) -> str:
        return enrollment_workflow_id(self.enrollment_id)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_closed(self) -> bool:
        """Nothing more can happen: ended, and no clock (appeal window, bar) left open."""
        return self.is_final and not self.clocks

    @property
    def provisional(self) -> bool:
        """Tracked under a provisional id until its PECOS enrollment ID is recorded."""
        return is_provisional_enrollment_id(self.enrollment_id)

    @property
    def revalidation_window_opens(self) -> date | None:
        """First day a revalidation may be received (7 months before the due date)."""
        if self.revalidation_due_date is None:
            return None
        return revalidation_window_opens(self.revalidation_due_date)

    def today(self, now: datetime) -> date:
        return local_date(now, self.time_zone)

    def next_wake(self) -> datetime | None:
        return next_wake(self.clocks, self.reminders_sent)

    def open_stays(self) -> list[StayRecord]:
        return [s for s in self.stays if s.ended_on is None]

    def clocks_of(self, kind: EnrollmentClockKind) -> list[Clock]:
        return [c for c in self.clocks if c.kind == kind]


def enrollment_workflow_id(enrollment_id: str) -> str:
    return f"enrollment-{enrollment_id}"
