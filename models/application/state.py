"""The state of one application: what is known of it, its clocks and its own log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from models.application.details import ApplicationCreate, ApplicationDetails
from models.application.status import FINAL_STATUSES, ApplicationStatus
from models.calendar import Clock, local_date
from models.checks import ApplicationFacts, Finding, KnownEnrollment, presubmission_findings
from models.clocks import ClosedClock, next_wake
from models.contracts import Incident
from models.data_checks import FindingDisposition
from models.forms import FeeDecision, Form, Purpose
from models.records import EventRecord, RecordNote


class DevelopmentRequest(BaseModel):
    request_date: date
    items: list[str]
    clock_id: str
    responded_on: date | None = None


class Decision(BaseModel):
    """A MAC decision that ended or suspended the application (denial, rejection, return)."""

    kind: Literal["denied", "rejected", "returned", "withdrawn"]
    on: date
    grounds: str
    by_engine: bool = False
    # The paragraph of 42 CFR 424.530(a) a denial cites, when the operator gave it.
    ground: str | None = None


# One line of the application's own log.
ApplicationEventRecord = EventRecord[ApplicationStatus]


class ApplicationState(BaseModel):
    application_id: str
    organization_id: str
    time_zone: str
    form: Form
    purpose: Purpose
    status: ApplicationStatus
    details: ApplicationDetails
    created_at: datetime
    updated_at: datetime
    web_tracking_id: str | None = None
    submitted_on: date | None = None
    signatures_completed_on: date | None = None
    case_number: str | None = None
    receipt_date: date | None = None
    fee: FeeDecision | None = None
    fee_requested_on: date | None = None
    fee_paid_on: date | None = None
    # A hardship exception request (42 CFR 424.514) is not a payment: CMS decides it.
    fee_hardship_requested_on: date | None = None
    fee_hardship_outcome: Literal["approved", "denied"] | None = None
    development_requests: list[DevelopmentRequest] = Field(default_factory=list)
    fingerprints_requested_on: date | None = None
    fingerprints_received_on: date | None = None
    site_visits: list[tuple[date, str]] = Field(default_factory=list)
    ptan: str | None = None
    enrollment_id: str | None = None
    # The approval gave no PECOS enrollment ID: the enrollment started under this provisional
    # id, which enrollment_id_assigned on the enrollment replaces.
    enrollment_id_provisional: bool = False
    approval_date: date | None = None
    effective_date: date | None = None
    retrospective_billing_from: date | None = None
    decision: Decision | None = None
    reconsideration_filed_on: date | None = None
    reconsideration_outcome: str | None = None
    cap_filed_on: date | None = None
    cap_outcome: str | None = None
    known_enrollments: tuple[KnownEnrollment, ...] = ()
    clocks: list[Clock] = Field(default_factory=list)
    closed_clocks: list[ClosedClock] = Field(default_factory=list)
    reminders_sent: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    # Operators' decisions on suspected exclusion matches (event finding_disposition).
    dispositions: list[FindingDisposition] = Field(default_factory=list)
    # The facts of the findings already told in a notice (each is told once).
    findings_told: list[str] = Field(default_factory=list)
    events: list[ApplicationEventRecord] = Field(default_factory=list)
    # Bookkeeping (models/records.py BookkeepingEvent): who works on it, the latest notes.
    assignee: str | None = None
    notes: list[RecordNote] = Field(default_factory=list)
    # The state just before the engine applied a consequence, kept while an on-time event
    # recorded late may still withdraw it (rule late_recording_grace).
    before_consequence: ApplicationState | None = None
    consequence_clock: Clock | None = None
    # Whether engine consequences get the late-recording grace; workflows started before the
    # grace existed run without it (workflow.patched("late-recording-grace")).
    late_recording_grace: bool = True
    # Filled in by the workflow when it answers, never by the reducer: side effects (read model,
    # notices, checks) not yet done, and those failing.
    side_effects_pending: int = 0
    incidents: list[Incident] = Field(default_factory=list)

    @property
    def workflow_id(self) -> str:
        return application_workflow_id(self.application_id)

    @property
    def filing_date(self) -> date | None:
        """The date the MAC counts as filed (docs/regulation.md, "The application"): its receipt
        date when known, else
        the date the last signature came in, else the submission date."""
        return self.receipt_date or self.signatures_completed_on or self.submitted_on

    def facts(self) -> ApplicationFacts:
        """What the checks read of this application."""
        return self.details.facts(self.form, self.purpose, self.known_enrollments)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_closed(self) -> bool:
        """Nothing more can happen: a final outcome and no clock left open."""
        return self.is_final and not self.clocks

    def today(self, now: datetime) -> date:
        return local_date(now, self.time_zone)

    def next_wake(self) -> datetime | None:
        """The next instant a clock fires or a reminder is due."""
        return next_wake(self.clocks, self.reminders_sent)


class ApplicationReopen(BaseModel):
    """What reopens a closed application for a correction: its last state and the run it
    ended in (the audit trail follows it back)."""

    state: ApplicationState
    previous_run_id: str | None = None
    # The update ids the closed run remembered (workflows/requests.py), handed to the reopened
    # run so that a retry of a request the closed run applied is not applied again.
    recent_requests: dict[str, str] | None = None


ApplicationCreate.model_rebuild(_types_namespace={"ApplicationReopen": ApplicationReopen})


def application_workflow_id(application_id: str) -> str:
    return f"application-{application_id}"


def new_application(create: ApplicationCreate, now: datetime) -> ApplicationState:
    today = local_date(now, create.time_zone)
    state = ApplicationState(
        application_id=create.application_id,
        organization_id=create.organization_id,
        time_zone=create.time_zone,
        form=create.form,
        purpose=create.purpose,
        status=ApplicationStatus.DRAFT,
        details=create.details,
        created_at=now,
        updated_at=now,
        known_enrollments=create.known_enrollments,
    )
    state.findings = presubmission_findings(state.facts(), today)
    state.events.append(
        ApplicationEventRecord(
            seq=1,
            event="created",
            actor=create.actor,
            role=create.role,
            reason=create.reason,
            event_date=today,
            recorded_at=now,
            from_status=None,
            to_status=ApplicationStatus.DRAFT,
        )
    )
    return state
