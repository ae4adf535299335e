"""The application (CMS-855/20134/588) domain: what an operator records, and what follows.

Pure: the workflow hands in the current time, this module returns the next state and the
notices to send. Validation (`check_event`) is separate from application (`apply_event`) so the
workflow's update validator can refuse an event before anything enters history, and the handler
can re-check under its lock. Clocks are settled by `fire_due_clocks`, which the workflow calls when
a durable timer wakes it and right after each event (a back-dated event may open a clock whose
period has already ended: its consequence applies at once, and the event record says so).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from models.calendar import (
    DEFAULT_TIME_ZONE,
    Clock,
    ClockKind,
    effective_date,
    local_date,
    presumed_receipt,
    retrospective_billing_start,
    start_of_day,
    validate_time_zone,
)
from models.checks import ApplicationFacts, Finding, blocking, presubmission_findings
from models.clocks import (
    Actor,
    ClockOutcome,
    ClockStep,
    ClosedClock,
    EventRecord,
    EventRefused,
    OperatorEvent,
    Reason,
    anything_due,
    expiry_notice,
    expiry_reason,
    next_wake,
    open_clock_of,
    settle,
)
from models.forms import FeeDecision, Form, Purpose, application_fee, check_form_purpose
from models.identifiers import (
    EIN,
    NPI,
    PTAN,
    SSN,
    EnrollmentId,
    MacCaseNumber,
    StateCode,
    WebTrackingId,
)
from models.lifecycle import (
    APPLICATION_LIFECYCLE,
    ApplicationEvent,
    ApplicationStatus,
)
from models.notices import Notice, NoticeKind

ApplicationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
OrganizationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]

_S = ApplicationStatus
_E = ApplicationEvent


class ApplicationDetails(BaseModel):
    """The fields of the form that the engine tracks. SSN, EIN and date of birth are sensitive:
    they live only in encrypted workflow payloads, never in search attributes, ids or logs."""

    model_config = ConfigDict(extra="forbid")

    legal_name: str | None = Field(default=None, max_length=300)
    npi: NPI | None = None
    ein: EIN | None = None
    ssn: SSN | None = None
    date_of_birth: date | None = None
    state: StateCode | None = None
    provider_type: str | None = Field(default=None, max_length=200)
    enrollment_id: EnrollmentId | None = None
    existing_ptan: PTAN | None = None
    contact_email: str | None = Field(default=None, max_length=320)
    requested_effective_date: date | None = None
    first_service_date: date | None = None
    revalidation_due_date: date | None = None
    change_of_ownership_date: date | None = None
    asc_or_portable_xray: bool = False
    physician_or_npp_organization: bool = False
    adds_practice_location: bool = False
    declared_disaster: bool = False

    @field_validator("contact_email")
    @classmethod
    def _email_shape(cls, v: str | None) -> str | None:
        if v is not None and ("@" not in v or v.startswith("@") or v.endswith("@")):
            raise ValueError("must be an email address like name@example.org")
        return v

    def facts(self, form: Form, purpose: Purpose) -> ApplicationFacts:
        return ApplicationFacts(
            form=form,
            purpose=purpose,
            legal_name=self.legal_name,
            npi=self.npi,
            state=self.state,
            has_ein=self.ein is not None,
            has_ssn=self.ssn is not None,
            enrollment_id=self.enrollment_id,
            requested_effective_date=self.requested_effective_date,
            revalidation_due_date=self.revalidation_due_date,
            change_of_ownership_date=self.change_of_ownership_date,
            asc_or_portable_xray=self.asc_or_portable_xray,
            physician_or_npp_organization=self.physician_or_npp_organization,
            adds_practice_location=self.adds_practice_location,
        )


class ApplicationDetailsChange(ApplicationDetails):
    """A partial update: only the fields sent are changed (null clears a field)."""

    # Only the fields that were sent are serialized, so "not sent" survives the trip through
    # Temporal payloads instead of arriving as an explicit null that would clear the field.
    @model_serializer(mode="wrap")
    def _only_sent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}

    asc_or_portable_xray: bool | None = None  # type: ignore[assignment]
    physician_or_npp_organization: bool | None = None  # type: ignore[assignment]
    adds_practice_location: bool | None = None  # type: ignore[assignment]
    declared_disaster: bool | None = None  # type: ignore[assignment]


class ApplicationCreate(BaseModel):
    """Input of ApplicationWorkflow: a new draft."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    application_id: ApplicationId
    organization_id: OrganizationId
    form: Form
    purpose: Purpose
    time_zone: str = DEFAULT_TIME_ZONE
    details: ApplicationDetails = Field(default_factory=ApplicationDetails)
    actor: Actor
    role: str | None = None
    reason: Reason = "new application"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return validate_time_zone(v)

    @model_validator(mode="after")
    def _form_purpose(self) -> ApplicationCreate:
        check_form_purpose(self.form, self.purpose)
        return self


# --- Events an operator records -------------------------------------------------------------


_Event = OperatorEvent

__all__ = ["Actor", "ClockOutcome", "ClosedClock", "EventRefused", "Reason"]


class UpdateDraft(_Event):
    event: Literal["update_draft"] = "update_draft"
    changes: ApplicationDetailsChange


class Submit(_Event):
    event: Literal["submit"] = "submit"
    web_tracking_id: WebTrackingId
    submitted_on: date | None = None
    # Every signature already in (e-signatures done at submission): no signature clock.
    signed_on: date | None = None

    def event_date(self) -> date | None:
        return self.submitted_on


class SignaturesCompleted(_Event):
    event: Literal["signatures_completed"] = "signatures_completed"
    signed_on: date | None = None

    def event_date(self) -> date | None:
        return self.signed_on


class FeeRequested(_Event):
    event: Literal["fee_requested"] = "fee_requested"
    letter_date: date

    def event_date(self) -> date | None:
        return self.letter_date


class FeePaid(_Event):
    event: Literal["fee_paid"] = "fee_paid"
    paid_on: date | None = None
    confirmation: str | None = Field(default=None, max_length=100)
    hardship_exception: bool = False

    def event_date(self) -> date | None:
        return self.paid_on


class ReceivedByMac(_Event):
    event: Literal["received_by_mac"] = "received_by_mac"
    case_number: MacCaseNumber
    receipt_date: date

    def event_date(self) -> date | None:
        return self.receipt_date


class DevelopmentRequested(_Event):
    event: Literal["development_requested"] = "development_requested"
    request_date: date
    items: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(min_length=1)

    def event_date(self) -> date | None:
        return self.request_date


class DevelopmentResponded(_Event):
    event: Literal["development_responded"] = "development_responded"
    responded_on: date | None = None

    def event_date(self) -> date | None:
        return self.responded_on


class SiteVisitCompleted(_Event):
    event: Literal["site_visit_completed"] = "site_visit_completed"
    visit_date: date
    result: Literal["passed", "failed", "not_operational"] = "passed"

    def event_date(self) -> date | None:
        return self.visit_date


class FingerprintsRequested(_Event):
    event: Literal["fingerprints_requested"] = "fingerprints_requested"
    letter_date: date

    def event_date(self) -> date | None:
        return self.letter_date


class FingerprintsReceived(_Event):
    event: Literal["fingerprints_received"] = "fingerprints_received"
    received_on: date | None = None

    def event_date(self) -> date | None:
        return self.received_on


class Approved(_Event):
    event: Literal["approved"] = "approved"
    ptan: PTAN
    approval_date: date
    enrollment_id: EnrollmentId | None = None
    effective_date: date | None = None

    def event_date(self) -> date | None:
        return self.approval_date


class Denied(_Event):
    event: Literal["denied"] = "denied"
    notice_date: date
    grounds: str = Field(min_length=1, max_length=2000)
    received_on: date | None = None

    def event_date(self) -> date | None:
        return self.notice_date


class ReconsiderationRequested(_Event):
    event: Literal["reconsideration_requested"] = "reconsideration_requested"
    filed_on: date | None = None

    def event_date(self) -> date | None:
        return self.filed_on


class ReconsiderationDecided(_Event):
    event: Literal["reconsideration_decided"] = "reconsideration_decided"
    decision_date: date
    outcome: Literal["upheld", "reversed"]
    ptan: PTAN | None = None
    enrollment_id: EnrollmentId | None = None
    effective_date: date | None = None

    @model_validator(mode="after")
    def _reversal_needs_ptan(self) -> ReconsiderationDecided:
        if self.outcome == "reversed" and self.ptan is None:
            raise ValueError("a reversed denial approves the application: give the PTAN")
        return self

    def event_date(self) -> date | None:
        return self.decision_date


class Rejected(_Event):
    event: Literal["rejected"] = "rejected"
    notice_date: date | None = None
    grounds: str = Field(min_length=1, max_length=2000)

    def event_date(self) -> date | None:
        return self.notice_date


class Returned(_Event):
    event: Literal["returned"] = "returned"
    notice_date: date | None = None
    grounds: str = Field(min_length=1, max_length=2000)

    def event_date(self) -> date | None:
        return self.notice_date


class Withdrawn(_Event):
    event: Literal["withdrawn"] = "withdrawn"
    requested_on: date | None = None

    def event_date(self) -> date | None:
        return self.requested_on


ApplicationEventRequest = Annotated[
    UpdateDraft
    | Submit
    | SignaturesCompleted
    | FeeRequested
    | FeePaid
    | ReceivedByMac
    | DevelopmentRequested
    | DevelopmentResponded
    | SiteVisitCompleted
    | FingerprintsRequested
    | FingerprintsReceived
    | Approved
    | Denied
    | ReconsiderationRequested
    | ReconsiderationDecided
    | Rejected
    | Returned
    | Withdrawn,
    Field(discriminator="event"),
]

# Event name -> its payload model (the API documents and validates `data` per event with it).
EVENT_MODELS: dict[ApplicationEvent, type[_Event]] = {
    ApplicationEvent(m.model_fields["event"].default): m
    for m in (
        UpdateDraft,
        Submit,
        SignaturesCompleted,
        FeeRequested,
        FeePaid,
        ReceivedByMac,
        DevelopmentRequested,
        DevelopmentResponded,
        SiteVisitCompleted,
        FingerprintsRequested,
        FingerprintsReceived,
        Approved,
        Denied,
        ReconsiderationRequested,
        ReconsiderationDecided,
        Rejected,
        Returned,
        Withdrawn,
    )
}


# --- State ------------------------------------------------------------------------------------


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
    development_requests: list[DevelopmentRequest] = Field(default_factory=list)
    fingerprints_requested_on: date | None = None
    fingerprints_received_on: date | None = None
    site_visits: list[tuple[date, str]] = Field(default_factory=list)
    ptan: str | None = None
    enrollment_id: str | None = None
    approval_date: date | None = None
    effective_date: date | None = None
    retrospective_billing_from: date | None = None
    decision: Decision | None = None
    reconsideration_filed_on: date | None = None
    reconsideration_outcome: str | None = None
    clocks: list[Clock] = Field(default_factory=list)
    closed_clocks: list[ClosedClock] = Field(default_factory=list)
    reminders_sent: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    events: list[ApplicationEventRecord] = Field(default_factory=list)
    # The state just before the engine applied a consequence, kept while an on-time event
    # recorded late may still withdraw it (rule late_recording_grace).
    before_consequence: ApplicationState | None = None
    consequence_clock: Clock | None = None
    # Whether engine consequences get the late-recording grace; workflows started before the
    # grace existed run without it (workflow.patched("late-recording-grace")).
    late_recording_grace: bool = True

    @property
    def workflow_id(self) -> str:
        return application_workflow_id(self.application_id)

    @property
    def filing_date(self) -> date | None:
        """The date the MAC counts as filed (domain.md 2.3): its receipt date when known, else
        the date the last signature came in, else the submission date."""
        return self.receipt_date or self.signatures_completed_on or self.submitted_on

    @property
    def is_final(self) -> bool:
        return self.status in APPLICATION_LIFECYCLE.terminal

    @property
    def is_closed(self) -> bool:
        """Nothing more can happen: a final outcome and no clock left open."""
        return self.is_final and not self.clocks

    def allowed_events(self) -> list[str]:
        """Operator events the table allows now, leaving out rows whose state guard fails."""
        holds = _guard(self, None)
        return [
            e.value
            for e in APPLICATION_LIFECYCLE.allowed_events(self.status)
            if any(
                t.guard is None or t.guard in _REQUEST_GUARDS or holds(t.guard)
                for t in APPLICATION_LIFECYCLE.options(self.status, e)
            )
        ]

    def today(self, now: datetime) -> date:
        return local_date(now, self.time_zone)

    def next_wake(self) -> datetime | None:
        """The next instant a clock fires or a reminder is due."""
        return next_wake(self.clocks, self.reminders_sent)


def application_workflow_id(application_id: str) -> str:
    return f"application-{application_id}"


# --- Refusals ---------------------------------------------------------------------------------


def _refuse_data(state: ApplicationState, message: str, field: str | None) -> EventRefused:
    return EventRefused(
        "InvalidEventData",
        message,
        status=state.status.value,
        allowed_events=state.allowed_events(),
        field=field,
    )


# --- Creation -----------------------------------------------------------------------------------


def new_application(create: ApplicationCreate, now: datetime) -> ApplicationState:
    today = local_date(now, create.time_zone)
    state = ApplicationState(
        application_id=create.application_id,
        organization_id=create.organization_id,
        time_zone=create.time_zone,
        form=create.form,
        purpose=create.purpose,
        status=_S.DRAFT,
        details=create.details,
        created_at=now,
        updated_at=now,
    )
    state.findings = presubmission_findings(
        create.details.facts(create.form, create.purpose), today
    )
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
            to_status=_S.DRAFT,
        )
    )
    return state


# --- Validation ---------------------------------------------------------------------------------


_DATE_FIELDS = {
    "submit": "submitted_on",
    "signatures_completed": "signed_on",
    "fee_requested": "letter_date",
    "fee_paid": "paid_on",
    "received_by_mac": "receipt_date",
    "development_requested": "request_date",
    "development_responded": "responded_on",
    "site_visit_completed": "visit_date",
    "fingerprints_requested": "letter_date",
    "fingerprints_received": "received_on",
    "approved": "approval_date",
    "denied": "notice_date",
    "reconsideration_requested": "filed_on",
    "reconsideration_decided": "decision_date",
    "rejected": "notice_date",
    "returned": "notice_date",
    "withdrawn": "requested_on",
}


def _not_before(
    state: ApplicationState, when: date, earliest: date | None, what: str, field: str
) -> None:
    if earliest is not None and when < earliest:
        raise _refuse_data(
            state,
            f"{field} {when.isoformat()} is before {what} ({earliest.isoformat()}); "
            "check the date on the letter or in PECOS.",
            field,
        )


def check_event(state: ApplicationState, request: _Event, now: datetime) -> None:
    """Refuse (raise EventRefused) anything the lifecycle or the data do not allow.
    Pure and side-effect free: safe in a Temporal update validator."""
    state, _, _ = _state_for_event(state, request, now)
    event = ApplicationEvent(request.event)
    if event.value not in state.allowed_events():
        allowed = state.allowed_events()
        closed = " The application is closed." if state.is_final and not allowed else ""
        raise EventRefused(
            "IllegalTransition",
            f"'{event.value}' is not allowed while the application is "
            f"'{state.status.value}'.{closed} Allowed now: {', '.join(allowed) or 'nothing'}.",
            status=state.status.value,
            allowed_events=allowed,
        )
    today = state.today(now)
    when = request.event_date() or today
    field = _DATE_FIELDS.get(event.value)
    if when > today:
        raise _refuse_data(
            state,
            f"{field} {when.isoformat()} is in the future (today is {today.isoformat()} in "
            f"{state.time_zone}); record events on or after the day they happen.",
            field,
        )
    # Nothing after the submission can predate it. (A submission may predate the draft: teams
    # record applications already filed in PECOS.)
    if field and event != _E.SUBMIT:
        _not_before(state, when, state.submitted_on, "the submission date", field)

    if isinstance(request, Submit):
        if request.signed_on is not None:
            if request.signed_on > today:
                raise _refuse_data(state, "signed_on is in the future.", "signed_on")
            _not_before(state, request.signed_on, when, "the submission date", "signed_on")
        findings = presubmission_findings(state.details.facts(state.form, state.purpose), when)
        errors = blocking(findings)
        if errors:
            raise EventRefused(
                "PresubmissionChecksFailed",
                "The application cannot be submitted yet: "
                + " ".join(f"[{f.field or f.code}] {f.message}" for f in errors),
                status=state.status.value,
                allowed_events=state.allowed_events(),
                field=errors[0].field,
                findings=errors,
            )
    elif isinstance(request, UpdateDraft):
        try:
            _merged_details(state.details, request.changes)
        except ValueError as exc:
            raise _refuse_data(state, f"The change is not valid: {exc}", "changes") from None
    elif isinstance(request, DevelopmentResponded):
        latest = state.development_requests[-1] if state.development_requests else None
        _not_before(
            state,
            when,
            latest.request_date if latest else None,
            "the development request",
            "responded_on",
        )
    elif isinstance(request, FingerprintsReceived):
        _not_before(
            state, when, state.fingerprints_requested_on, "the fingerprint letter", "received_on"
        )
    elif isinstance(request, (Approved, Denied)):
        _not_before(state, when, state.receipt_date, "the MAC receipt date", field or "date")
        if isinstance(request, Denied) and request.received_on is not None:
            if request.received_on > today:
                raise _refuse_data(
                    state,
                    f"received_on {request.received_on} is in the future; record the day the "
                    "notice actually arrived, or leave it out (5 days after the notice date "
                    "is presumed).",
                    "received_on",
                )
            _not_before(
                state, request.received_on, request.notice_date, "the notice date", "received_on"
            )
    elif isinstance(request, ReconsiderationRequested):
        window = _open_clock_of(state, ClockKind.RECONSIDERATION_REQUEST) or next(
            (
                c.clock
                for c in reversed(state.closed_clocks)
                if c.clock.kind == ClockKind.RECONSIDERATION_REQUEST
            ),
            None,
        )
        if window is None or when > window.last_day or window not in state.clocks:
            raise _refuse_data(
                state,
                "The reconsideration window for this denial has closed"
                + (f" (last day {window.last_day})" if window else "")
                + "; the denial stands. A new initial application is the way forward.",
                "filed_on",
            )
        _not_before(
            state,
            when,
            state.decision.on if state.decision else None,
            "the denial notice",
            "filed_on",
        )
    elif isinstance(request, ReconsiderationDecided):
        _not_before(
            state,
            when,
            state.reconsideration_filed_on,
            "the reconsideration request",
            "decision_date",
        )


def _merged_details(
    details: ApplicationDetails, changes: ApplicationDetailsChange
) -> ApplicationDetails:
    merged = details.model_dump()
    merged.update(changes.model_dump(exclude_unset=True))
    for flag in (
        "asc_or_portable_xray",
        "physician_or_npp_organization",
        "adds_practice_location",
        "declared_disaster",
    ):
        if merged.get(flag) is None:
            merged[flag] = False
    return ApplicationDetails.model_validate(merged)


def _open_clock_of(state: ApplicationState, kind: ClockKind) -> Clock | None:
    return open_clock_of(state.clocks, kind)


# --- Application of events ----------------------------------------------------------------------


class Outcome(BaseModel):
    state: ApplicationState
    notices: list[Notice] = Field(default_factory=list)


_Step = ClockStep

_RULE_FOR = {
    ClockKind.SIGNATURES: "signature_window",
    ClockKind.FEE_PAYMENT: "fee_payment_window",
    ClockKind.DEVELOPMENT_RESPONSE: "development_response",
    ClockKind.FINGERPRINTS: "fingerprint_submission",
    ClockKind.CORRECTIVE_ACTION_PLAN: "corrective_action_plan",
    ClockKind.RECONSIDERATION_REQUEST: "reconsideration_request",
    ClockKind.RECONSIDERATION_DECISION: "reconsideration_decision",
    ClockKind.LATE_RECORDING: "late_recording_grace",
}

# The timer event each clock fires when its last day passes.
EXPIRY_EVENT: dict[ClockKind, ApplicationEvent] = {
    ClockKind.SIGNATURES: _E.SIGNATURE_WINDOW_EXPIRED,
    ClockKind.FEE_PAYMENT: _E.FEE_WINDOW_EXPIRED,
    ClockKind.DEVELOPMENT_RESPONSE: _E.DEVELOPMENT_WINDOW_EXPIRED,
    ClockKind.FINGERPRINTS: _E.FINGERPRINT_WINDOW_EXPIRED,
    ClockKind.CORRECTIVE_ACTION_PLAN: _E.CAP_WINDOW_EXPIRED,
    ClockKind.RECONSIDERATION_REQUEST: _E.RECONSIDERATION_WINDOW_EXPIRED,
    ClockKind.RECONSIDERATION_DECISION: _E.RECONSIDERATION_DECISION_OVERDUE,
    ClockKind.LATE_RECORDING: _E.LATE_RECORDING_WINDOW_CLOSED,
}


# Guards that read the event's data; the others read only the application's state.
_REQUEST_GUARDS = frozenset(
    {"signed_at_submission", "signatures_outstanding", "denial_reversed", "denial_upheld"}
)


def _guard(state: ApplicationState, request: _Event | None) -> Any:
    def holds(name: str) -> bool:
        if name == "signed_at_submission":
            return isinstance(request, Submit) and request.signed_on is not None
        if name == "signatures_outstanding":
            return isinstance(request, Submit) and request.signed_on is None
        if name == "received_by_mac":
            return state.case_number is not None
        if name == "not_received_by_mac":
            return state.case_number is None
        if name == "fingerprints_outstanding":
            return open_clock_of(state.clocks, ClockKind.FINGERPRINTS) is not None
        if name == "no_fingerprints_outstanding":
            return open_clock_of(state.clocks, ClockKind.FINGERPRINTS) is None
        if name == "denied_by_engine":
            return state.decision is not None and state.decision.by_engine
        if name == "denial_reversed":
            return isinstance(request, ReconsiderationDecided) and request.outcome == "reversed"
        if name == "denial_upheld":
            return isinstance(request, ReconsiderationDecided) and request.outcome == "upheld"
        raise KeyError(name)

    return holds


def _record(
    step: _Step,
    event: str,
    actor: str,
    role: str | None,
    reason: str,
    when: date,
    now: datetime,
    before: ApplicationStatus,
) -> None:
    state = step.state
    state.events.append(
        ApplicationEventRecord(
            seq=step.seq,
            event=event,
            actor=actor,
            role=role,
            reason=reason,
            event_date=when,
            recorded_at=now,
            from_status=before,
            to_status=state.status,
            clocks_opened=step.opened,
            clocks_closed=step.closed,
            notes=step.notes,
        )
    )
    state.updated_at = now


def _approve(
    step: _Step, approval_date: date, ptan: str, enrollment_id: str | None, given: date | None
) -> None:
    state = step.state
    state.ptan = ptan
    state.enrollment_id = enrollment_id or state.details.enrollment_id
    state.approval_date = approval_date
    filing = state.filing_date or approval_date
    computed = effective_date(filing, state.details.first_service_date)
    state.effective_date = given or computed
    if given and given != computed:
        step.notes.append(
            f"Effective date {given} as the approval letter gives it (424.520(d) would give "
            f"{computed}: later of filing {filing} and first service "
            f"{state.details.first_service_date or 'n/a'}). Appealable if wrong."
        )
    else:
        step.notes.append(
            f"Effective date {state.effective_date}: later of the filing date {filing} and the "
            "first date of service (42 CFR 424.520(d))."
        )
    state.retrospective_billing_from = retrospective_billing_start(
        state.effective_date, declared_disaster=state.details.declared_disaster
    )
    step.notes.append(
        f"Services may be billed from {state.retrospective_billing_from} (42 CFR 424.521(a))."
    )
    step.close(None, "superseded")


def apply_event(state: ApplicationState, request: _Event, now: datetime) -> Outcome:
    """Apply an operator event that `check_event` accepted, then settle any clock it left
    already expired. Returns a new state; the input is not modified."""
    state, withdrawal, earlier = _state_for_event(state, request, now)
    state = state.model_copy(deep=True)
    event = ApplicationEvent(request.event)
    today = state.today(now)
    when = request.event_date() or today
    seq = len(state.events) + 1
    step = _Step(state, seq, today)
    if withdrawal:
        step.notes.append(withdrawal)
    # The operator has acted: an engine consequence is no longer waiting to be withdrawn.
    state.before_consequence = None
    state.consequence_clock = None
    step.close([ClockKind.LATE_RECORDING], "superseded")
    before = state.status
    target = APPLICATION_LIFECYCLE.resolve(state.status, event, _guard(state, request))
    if target is None:  # check_event guarantees a row; a guard mismatch is a bug
        raise EventRefused(
            "IllegalTransition",
            f"no transition for {event.value} in {state.status.value}",
            status=state.status.value,
            allowed_events=state.allowed_events(),
        )

    match request:
        case UpdateDraft(changes=changes):
            state.details = _merged_details(state.details, changes)
            state.findings = presubmission_findings(
                state.details.facts(state.form, state.purpose), today
            )
        case Submit(web_tracking_id=wtid) as submit:
            state.web_tracking_id = wtid
            state.submitted_on = when
            state.findings = presubmission_findings(
                state.details.facts(state.form, state.purpose), when
            )
            try:
                state.fee = application_fee(
                    state.form,
                    state.purpose,
                    when,
                    physician_or_npp_organization=state.details.physician_or_npp_organization,
                    adds_practice_location=state.details.adds_practice_location,
                )
            except ValueError as exc:
                step.notes.append(str(exc))
            if submit.signed_on is not None:
                state.signatures_completed_on = submit.signed_on
            else:
                step.open(
                    ClockKind.SIGNATURES,
                    _RULE_FOR[ClockKind.SIGNATURES],
                    when,
                    "the PECOS submission",
                    "the application is rejected for missing signatures",
                )
        case SignaturesCompleted():
            state.signatures_completed_on = when
            step.close([ClockKind.SIGNATURES], "satisfied")
        case FeeRequested(letter_date=letter):
            state.fee_requested_on = letter
            step.open(
                ClockKind.FEE_PAYMENT,
                _RULE_FOR[ClockKind.FEE_PAYMENT],
                letter,
                "the MAC's fee letter",
                "the application is rejected for an unpaid fee",
            )
        case FeePaid():
            state.fee_paid_on = when
            step.close([ClockKind.FEE_PAYMENT], "satisfied")
        case ReceivedByMac(case_number=case, receipt_date=receipt):
            state.case_number = case
            state.receipt_date = receipt
        case DevelopmentRequested(request_date=req_date, items=items):
            step.close([ClockKind.DEVELOPMENT_RESPONSE], "superseded")
            clock = step.open(
                ClockKind.DEVELOPMENT_RESPONSE,
                _RULE_FOR[ClockKind.DEVELOPMENT_RESPONSE],
                req_date,
                "the MAC's development request",
                "the application is rejected and a new one (with a new filing date) is needed",
            )
            state.development_requests.append(
                DevelopmentRequest(
                    request_date=req_date, items=list(items), clock_id=clock.clock_id
                )
            )
        case DevelopmentResponded():
            if state.development_requests:
                state.development_requests[-1].responded_on = when
            step.close([ClockKind.DEVELOPMENT_RESPONSE], "satisfied")
        case SiteVisitCompleted(visit_date=visit, result=result):
            state.site_visits.append((visit, result))
            if result != "passed":
                step.notes.append(
                    f"Site visit result '{result}': expect a denial under 42 CFR 424.530(a)(5)."
                )
        case FingerprintsRequested(letter_date=letter):
            state.fingerprints_requested_on = letter
            step.open(
                ClockKind.FINGERPRINTS,
                _RULE_FOR[ClockKind.FINGERPRINTS],
                letter,
                "the MAC's fingerprint letter",
                "the application is denied",
            )
        case FingerprintsReceived():
            state.fingerprints_received_on = when
            step.close([ClockKind.FINGERPRINTS], "satisfied")
        case Approved(ptan=ptan, enrollment_id=enrollment_id, effective_date=given):
            _approve(step, when, ptan, enrollment_id, given)
        case Denied(notice_date=notice, grounds=grounds, received_on=received):
            _deny(step, notice, grounds, received, by_engine=False)
        case ReconsiderationRequested():
            state.reconsideration_filed_on = when
            step.close(
                [ClockKind.RECONSIDERATION_REQUEST, ClockKind.CORRECTIVE_ACTION_PLAN], "satisfied"
            )
            step.open(
                ClockKind.RECONSIDERATION_DECISION,
                _RULE_FOR[ClockKind.RECONSIDERATION_DECISION],
                when,
                "the reconsideration request",
                "the decision is overdue: follow up with the MAC or CMS",
            )
        case ReconsiderationDecided(outcome=outcome) as decided:
            state.reconsideration_outcome = outcome
            step.close([ClockKind.RECONSIDERATION_DECISION], "satisfied")
            if outcome == "reversed" and decided.ptan:
                state.decision = None
                _approve(step, when, decided.ptan, decided.enrollment_id, decided.effective_date)
        case Rejected(grounds=grounds) | Returned(grounds=grounds):
            kind: Literal["rejected", "returned"] = (
                "rejected" if isinstance(request, Rejected) else "returned"
            )
            state.decision = Decision(kind=kind, on=when, grounds=grounds)
            step.close(None, "superseded")
        case Withdrawn():
            state.decision = Decision(kind="withdrawn", on=when, grounds=request.reason)
            step.close(None, "superseded")

    state.status = target
    _record(step, event.value, request.actor, request.role, request.reason, when, now, before)
    notices = [*earlier, _event_notice(state, step, event.value, before)]
    settled = fire_due_clocks(state, now)
    return Outcome(state=settled.state, notices=notices + settled.notices)


def _state_for_event(
    state: ApplicationState, request: _Event, now: datetime
) -> tuple[ApplicationState, str | None, list[Notice]]:
    """The state an event applies to, as of the event's own date (domain.md 7.0).

    A clock whose consequence took effect before the event's date is applied first, so an event
    dated after a last day never beats the clock. Conversely, an event dated inside a window
    that is recorded after the engine applied the window's consequence (and within the grace)
    applies to the state before that consequence, which it withdraws.
    """
    today = state.today(now)
    when = request.event_date() or today
    notices: list[Notice] = []
    if when <= today:
        cutoff = min(now, start_of_day(when, state.time_zone))
        if any(c.fires_at <= cutoff for c in state.clocks):
            settled = fire_due_clocks(state, cutoff)
            state, notices = settled.state, settled.notices
    event = ApplicationEvent(request.event)
    prior, clock = state.before_consequence, state.consequence_clock
    grace = open_clock_of(state.clocks, ClockKind.LATE_RECORDING)
    # The grace is judged against when the event is recorded, not when it happened.
    in_grace = grace is not None and now < grace.fires_at
    if (
        prior is not None
        and clock is not None
        and in_grace
        and when <= clock.last_day
        and APPLICATION_LIFECYCLE.allows(prior.status, event)
    ):
        prior = prior.model_copy(deep=True)
        prior.events = [e.model_copy() for e in state.events]
        prior.reminders_sent = list(state.reminders_sent)
        # Keep the record whole: the withdrawn expiry is no closure, and the clocks the
        # consequence opened (the grace, an engine denial's windows) end as superseded.
        still_open = {c.clock_id for c in prior.clocks}
        prior.closed_clocks = [
            c for c in state.closed_clocks if c.clock.clock_id != clock.clock_id
        ] + [
            ClosedClock(
                clock=c, closed_on=today, outcome="superseded", by_event_seq=len(state.events) + 1
            )
            for c in state.clocks
            if c.clock_id not in still_open
        ]
        note = (
            f"Recorded after the engine applied '{EXPIRY_EVENT[ClockKind(clock.kind)].value}' "
            f"(the {clock.rule.name.lower()} ended {clock.last_day}); dated {when}, inside "
            "that window, so the engine's consequence is withdrawn."
        )
        return prior, note, notices
    return state, None, notices


def _deny(
    step: _Step, notice: date, grounds: str, received: date | None, *, by_engine: bool
) -> None:
    state = step.state
    state.decision = Decision(kind="denied", on=notice, grounds=grounds, by_engine=by_engine)
    step.close(None, "superseded")
    receipt = received or presumed_receipt(notice)
    # 42 CFR 405.809 / 498.22: CAP and reconsideration windows run from receipt of the notice.
    step.open(
        ClockKind.CORRECTIVE_ACTION_PLAN,
        _RULE_FOR[ClockKind.CORRECTIVE_ACTION_PLAN],
        notice,
        "the denial notice",
        "a corrective action plan can no longer be submitted",
        period_start=receipt,
    )
    step.open(
        ClockKind.RECONSIDERATION_REQUEST,
        _RULE_FOR[ClockKind.RECONSIDERATION_REQUEST],
        notice,
        "the denial notice",
        "the denial becomes final (no reconsideration)",
        period_start=receipt,
    )


def _event_notice(
    state: ApplicationState, step: _Step, event: str, before: ApplicationStatus
) -> Notice:
    return Notice(
        key=f"event-{step.seq}",
        kind=NoticeKind.EVENT,
        subject=f"{state.form} {state.application_id}: {event} ({before} -> {state.status})",
        body=" ".join(step.notes) or f"{event} recorded.",
        status=state.status.value,
    )


# --- Clocks -------------------------------------------------------------------------------------


def fire_due_clocks(state: ApplicationState, now: datetime) -> Outcome:
    """Send due reminders and apply the consequence of every clock whose time has come, oldest
    first. Idempotent: a second call at the same instant changes nothing."""
    if not anything_due(state, now):
        return Outcome(state=state)
    state, notices = settle(
        state.model_copy(deep=True),
        now,
        subject_prefix=lambda st: f"{st.form} {st.application_id}",
        status=lambda st: st.status.value,
        expire=_expire,
    )
    return Outcome(state=state, notices=notices)


def _expire(
    state: ApplicationState, clock: Clock, now: datetime
) -> tuple[ApplicationState, Notice]:
    event = EXPIRY_EVENT[ClockKind(clock.kind)]
    # The snapshot leaves out the event log (a withdrawal takes the current one) and any older
    # snapshot: copying them on every expiry is what made long runs slow.
    events, older = state.events, state.before_consequence
    state.events, state.before_consequence = [], None
    prior = state.model_copy(deep=True)
    state.events, state.before_consequence = events, older
    prior.consequence_clock = None
    seq = len(state.events) + 1
    fired_on = local_date(clock.fires_at, state.time_zone)
    step = _Step(state, seq, fired_on)
    before = state.status
    target = APPLICATION_LIFECYCLE.resolve(state.status, event, _guard(state, None))
    step.close([clock.kind], "expired")
    if target is None:
        # The clock outlived the state it belonged to; close it without a consequence.
        step.notes.append(f"{clock.rule.name} ended while '{state.status}'; nothing to apply.")
        target = state.status
    else:
        step.notes.append(
            f"{clock.rule.name} ended on {clock.last_day} with nothing recorded: "
            f"{clock.consequence}."
        )
    if target == _S.REJECTED:
        state.decision = Decision(
            kind="rejected", on=fired_on, grounds=clock.consequence, by_engine=True
        )
        step.close(None, "superseded")
    elif target == _S.DENIED and before != _S.DENIED:
        state.status = target
        # The MAC still mails the denial: its windows count from presumed receipt.
        _deny(step, fired_on, clock.consequence, None, by_engine=True)
    state.status = target
    if event == _E.LATE_RECORDING_WINDOW_CLOSED:
        state.before_consequence = None
        state.consequence_clock = None
    elif state.late_recording_grace and (
        target != before or event == _E.RECONSIDERATION_WINDOW_EXPIRED
    ):
        # Keep what the engine changed withdrawable by an on-time event recorded late.
        state.before_consequence = prior
        state.consequence_clock = clock
        step.close([ClockKind.LATE_RECORDING], "superseded")
        step.open(
            ClockKind.LATE_RECORDING,
            _RULE_FOR[ClockKind.LATE_RECORDING],
            fired_on,
            f"the engine's {event.value}",
            "the engine's decision can no longer be withdrawn by an event recorded late",
        )
    _record(
        step,
        event.value,
        "engine",
        "system",
        expiry_reason(clock),
        fired_on,
        now,
        before,
    )
    subject = f"{state.form} {state.application_id}: {event.value} -> {state.status}"
    return state, expiry_notice(clock, subject, step.notes, state.status.value)
