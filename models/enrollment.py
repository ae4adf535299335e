"""The enrollment record (one ENRLMT_ID) after approval: every clock that can cost money.

Pure, like models/application.py and built on the same machinery (models/clocks.py): the workflow
hands in the current time, `check_event` refuses what the lifecycle table (ENROLLMENT_LIFECYCLE)
or the data do not allow, `apply_event` returns the next state and the notices, and
`fire_due_clocks` sends due reminders (once each) and applies every consequence whose time has
come. The workflow continues as new after each approved revalidation with `next_cycle_state`, so
its history stays small for decades (domain.md 4, 7.2).

Interpretations (each said again where it is coded):
- The month of the effective date counts as billed: the first month without a claim is the next.
- A missed revalidation deactivates retroactively to the due date (FCSO); a missed notice window
  to that window's last day; an unreported change deactivates when its stay ends (no source says
  retroactive).
- Stays exist from 2024-01-01 (42 CFR 424.541); a deadline missed earlier deactivates at once.
- The 855O ordering/referring clock (42 CFR 424.547) counts no month before 2026-01-01.
- A bar of N years from the revocation's effective date E bars applications received before
  E + N years (the last barred day is the day before).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.calendar import (
    DEFAULT_TIME_ZONE,
    Clock,
    EnrollmentClockKind,
    add_days,
    add_months,
    add_years,
    consecutive_months_last_day,
    first_month_without_claim,
    last_day_of_month,
    local_date,
    period_last_day,
    revalidation_due_date,
    revalidation_window_opens,
    validate_time_zone,
)
from models.clocks import (
    Actor,
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
    settle,
)
from models.contracts import ApplicationProgress
from models.forms import Form, is_dmepos, revalidates
from models.identifiers import NPI, PTAN, EnrollmentId, StateCode
from models.lifecycle import ENROLLMENT_LIFECYCLE, EnrollmentEvent, EnrollmentStatus
from models.notices import Notice, NoticeKind
from models.rules import RULES, RuleKey, rule

OrganizationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]

_S = EnrollmentStatus
_E = EnrollmentEvent
_K = EnrollmentClockKind

# Clocks of one revalidation cycle; every other clock outlives the cycle.
CYCLE_CLOCKS = (_K.REVALIDATION_DUE, _K.REVALIDATION_TARGET, _K.REVALIDATION_NOTICE)
MAX_CYCLE_SUMMARIES = 40  # 200 years of 5-year cycles: bounded, never trimmed in practice


def _first_version(key: RuleKey) -> date:
    return RULES[key][0].effective_from


# --- Input and carry-over ---------------------------------------------------------------------


class ChangeKind(StrEnum):
    PRACTICE_LOCATION = "practice_location"
    OWNERSHIP = "ownership"
    ADVERSE_LEGAL_ACTION = "adverse_legal_action"
    OTHER = "other"


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
    cause: Literal["revalidation", "unreported_change"]
    missed_on: date
    last_day: date
    deactivation_effective: date | None = None  # None: the day after the stay ends
    change_id: str | None = None
    ended_on: date | None = None
    outcome: Literal["cured", "deactivated", "superseded"] | None = None


DeactivationReason = Literal[
    "missed_revalidation",
    "unreported_change",
    "non_billing",
    "ordering_referring",
    "recertification",
    "other",
]


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
    barred_through: date
    bar_expired: bool = False


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
    last_claim_date: date | None = None
    clocks: list[Clock] = Field(default_factory=list)
    reminders_sent: list[str] = Field(default_factory=list)
    changes: list[ChangeRecord] = Field(default_factory=list)
    stays: list[StayRecord] = Field(default_factory=list)
    deactivation: Deactivation | None = None
    revocation: Revocation | None = None
    gaps: list[BillingGap] = Field(default_factory=list)
    past_cycles: list[CycleSummary] = Field(default_factory=list)


class EnrollmentStart(BaseModel):
    """Input of EnrollmentWorkflow: a new enrollment (from an approved application or an import
    of an existing one), or the next run of one (`carry_over`, see `next_cycle_state`)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    enrollment_id: EnrollmentId
    organization_id: OrganizationId
    npi: NPI
    ptan: PTAN
    form: Form
    provider_type: str | None = Field(default=None, max_length=200)
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


# --- Events -----------------------------------------------------------------------------------


class RevalidationNoticeReceived(OperatorEvent):
    event: Literal["revalidation_notice_received"] = "revalidation_notice_received"
    letter_date: date
    # An off-cycle request or a letter naming another due date replaces the due date.
    due_date: date | None = None

    def event_date(self) -> date | None:
        return self.letter_date


class RevalidationSubmitted(OperatorEvent):
    event: Literal["revalidation_submitted"] = "revalidation_submitted"
    receipt_date: date
    application_id: str | None = Field(default=None, max_length=64)

    def event_date(self) -> date | None:
        return self.receipt_date


class RevalidationApproved(OperatorEvent):
    event: Literal["revalidation_approved"] = "revalidation_approved"
    approval_date: date
    next_due_date: date | None = None

    def event_date(self) -> date | None:
        return self.approval_date


class ChangeOccurred(OperatorEvent):
    event: Literal["change_occurred"] = "change_occurred"
    kind: ChangeKind
    change_date: date
    description: str | None = Field(default=None, max_length=2000)

    def event_date(self) -> date | None:
        return self.change_date


class ChangeReported(OperatorEvent):
    event: Literal["change_reported"] = "change_reported"
    reported_on: date
    change_id: str | None = None  # needed only when several changes are unreported

    def event_date(self) -> date | None:
        return self.reported_on


class ClaimActivity(OperatorEvent):
    event: Literal["claim_activity"] = "claim_activity"
    latest_claim_date: date

    def event_date(self) -> date | None:
        return self.latest_claim_date


class Deactivated(OperatorEvent):
    event: Literal["deactivated"] = "deactivated"
    letter_date: date
    effective_date: date | None = None
    deactivation_reason: DeactivationReason = "other"

    def event_date(self) -> date | None:
        return self.letter_date


class RebuttalSubmitted(OperatorEvent):
    event: Literal["rebuttal_submitted"] = "rebuttal_submitted"
    filed_on: date

    def event_date(self) -> date | None:
        return self.filed_on


class ReactivationSubmitted(OperatorEvent):
    event: Literal["reactivation_submitted"] = "reactivation_submitted"
    receipt_date: date
    application_id: str | None = Field(default=None, max_length=64)

    def event_date(self) -> date | None:
        return self.receipt_date


class ReactivationApproved(OperatorEvent):
    event: Literal["reactivation_approved"] = "reactivation_approved"
    approval_date: date
    next_due_date: date | None = None

    def event_date(self) -> date | None:
        return self.approval_date


class Revoked(OperatorEvent):
    event: Literal["revoked"] = "revoked"
    notice_date: date
    effective_date: date | None = None  # given when the ground is retroactive
    bar_years: int = Field(ge=1, le=20)
    repeat: bool = False
    grounds: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _bar_range(self) -> Revoked:
        top = (
            rule(
                RuleKey.REENROLLMENT_BAR_REPEAT if self.repeat else RuleKey.REENROLLMENT_BAR,
                self.notice_date,
            ).years
            or 10
        )
        if self.bar_years > top:
            raise ValueError(
                f"bar_years {self.bar_years} exceeds {top} years "
                f"({'repeat' if self.repeat else 'first'} revocation, 42 CFR 424.535(c))"
            )
        return self

    def event_date(self) -> date | None:
        return self.notice_date


class VoluntarilyTerminated(OperatorEvent):
    event: Literal["voluntarily_terminated"] = "voluntarily_terminated"
    effective_date: date

    def event_date(self) -> date | None:
        return self.effective_date


EnrollmentEventRequest = Annotated[
    RevalidationNoticeReceived
    | RevalidationSubmitted
    | RevalidationApproved
    | ChangeOccurred
    | ChangeReported
    | ClaimActivity
    | Deactivated
    | RebuttalSubmitted
    | ReactivationSubmitted
    | ReactivationApproved
    | Revoked
    | VoluntarilyTerminated,
    Field(discriminator="event"),
]

ENROLLMENT_EVENT_MODELS: dict[EnrollmentEvent, type[OperatorEvent]] = {
    EnrollmentEvent(m.model_fields["event"].default): m
    for m in (
        RevalidationNoticeReceived,
        RevalidationSubmitted,
        RevalidationApproved,
        ChangeOccurred,
        ChangeReported,
        ClaimActivity,
        Deactivated,
        RebuttalSubmitted,
        ReactivationSubmitted,
        ReactivationApproved,
        Revoked,
        VoluntarilyTerminated,
    )
}

_DATE_FIELDS = {
    m.model_fields["event"].default: f
    for m, f in (
        (RevalidationNoticeReceived, "letter_date"),
        (RevalidationSubmitted, "receipt_date"),
        (RevalidationApproved, "approval_date"),
        (ChangeOccurred, "change_date"),
        (ChangeReported, "reported_on"),
        (ClaimActivity, "latest_claim_date"),
        (Deactivated, "letter_date"),
        (RebuttalSubmitted, "filed_on"),
        (ReactivationSubmitted, "receipt_date"),
        (ReactivationApproved, "approval_date"),
        (Revoked, "notice_date"),
        (VoluntarilyTerminated, "effective_date"),
    )
}


# --- State --------------------------------------------------------------------------------------


EnrollmentEventRecord = EventRecord[EnrollmentStatus]


class EnrollmentState(BaseModel):
    enrollment_id: str
    organization_id: str
    npi: str
    ptan: str
    form: Form
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
    last_claim_date: date | None = None
    changes: list[ChangeRecord] = Field(default_factory=list)
    stays: list[StayRecord] = Field(default_factory=list)
    deactivation: Deactivation | None = None
    revocation: Revocation | None = None
    terminated_on: date | None = None
    gaps: list[BillingGap] = Field(default_factory=list)
    clocks: list[Clock] = Field(default_factory=list)
    closed_clocks: list[ClosedClock] = Field(default_factory=list)
    reminders_sent: list[str] = Field(default_factory=list)
    events: list[EnrollmentEventRecord] = Field(default_factory=list)
    past_cycles: list[CycleSummary] = Field(default_factory=list)
    # Set when a revalidation is approved: the workflow should continue as new.
    cycle_completed: bool = False

    @property
    def workflow_id(self) -> str:
        return enrollment_workflow_id(self.enrollment_id)

    @property
    def is_final(self) -> bool:
        return self.status in ENROLLMENT_LIFECYCLE.terminal

    @property
    def revalidation_window_opens(self) -> date | None:
        """First day a revalidation may be received (7 months before the due date)."""
        if self.revalidation_due_date is None:
            return None
        return revalidation_window_opens(self.revalidation_due_date)

    def allowed_events(self) -> list[str]:
        return [e.value for e in ENROLLMENT_LIFECYCLE.allowed_events(self.status)]

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


class Outcome(BaseModel):
    state: EnrollmentState
    notices: list[Notice] = Field(default_factory=list)


# --- Re-enrollment bar (42 CFR 424.526, 424.535(c)) ---------------------------------------------


class ReenrollmentBar(BaseModel):
    revoked_effective: date
    years: int
    barred_through: date
    may_apply_from: date
    expired: bool


def reenrollment_bar(state: EnrollmentState) -> ReenrollmentBar | None:
    """The bar a revocation set, for the `reenrollment_bar` query."""
    r = state.revocation
    if r is None:
        return None
    return ReenrollmentBar(
        revoked_effective=r.effective_date,
        years=r.bar_years,
        barred_through=r.barred_through,
        may_apply_from=add_days(r.barred_through, 1),
        expired=r.bar_expired,
    )


def refuse_if_barred(state: EnrollmentState, receipt_date: date) -> None:
    """Refuse an initial application received while the bar runs (it would be returned,
    42 CFR 424.526)."""
    bar = reenrollment_bar(state)
    if bar is not None and receipt_date <= bar.barred_through:
        raise EventRefused(
            "ReenrollmentBarred",
            f"Enrollment {state.enrollment_id} was revoked effective {bar.revoked_effective} "
            f"with a {bar.years}-year re-enrollment bar (42 CFR 424.535(c)): an initial "
            f"application received before {bar.may_apply_from} is returned (42 CFR 424.526).",
            status=state.status.value,
            allowed_events=state.allowed_events(),
            field="receipt_date",
        )


# --- Refusals -----------------------------------------------------------------------------------


def _refuse_data(state: EnrollmentState, message: str, field: str | None) -> EventRefused:
    return EventRefused(
        "InvalidEventData",
        message,
        status=state.status.value,
        allowed_events=state.allowed_events(),
        field=field,
    )


def _not_before(
    state: EnrollmentState, when: date, earliest: date | None, what: str, f: str
) -> None:
    if earliest is not None and when < earliest:
        raise _refuse_data(
            state,
            f"{f} {when.isoformat()} is before {what} ({earliest.isoformat()}); "
            "check the date on the letter or in PECOS.",
            f,
        )


def _change_to_report(state: EnrollmentState, request: ChangeReported) -> ChangeRecord:
    open_changes = [c for c in state.changes if c.reported_on is None]
    if request.change_id is not None:
        for c in open_changes:
            if c.change_id == request.change_id:
                return c
        raise _refuse_data(
            state,
            f"No unreported change {request.change_id!r}; unreported: "
            f"{', '.join(c.change_id for c in open_changes) or 'none'}.",
            "change_id",
        )
    if len(open_changes) != 1:
        raise _refuse_data(
            state,
            "Name the change_id: "
            + (
                f"{len(open_changes)} changes are unreported "
                f"({', '.join(c.change_id for c in open_changes)})."
                if open_changes
                else "no change is waiting to be reported (record change_occurred first)."
            ),
            "change_id",
        )
    return open_changes[0]


def check_event(state: EnrollmentState, request: OperatorEvent, now: datetime) -> None:
    """Refuse (raise EventRefused) what the lifecycle or the data do not allow. Pure."""
    event = EnrollmentEvent(request.event)
    if not ENROLLMENT_LIFECYCLE.allows(state.status, event):
        allowed = state.allowed_events()
        ended = " The enrollment has ended." if state.is_final else ""
        raise EventRefused(
            "IllegalTransition",
            f"'{event.value}' is not allowed while the enrollment is "
            f"'{state.status.value}'.{ended} Allowed now: {', '.join(allowed) or 'nothing'}.",
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
    if event in (_E.REVALIDATION_NOTICE_RECEIVED, _E.REVALIDATION_SUBMITTED) and not revalidates(
        state.form
    ):
        raise _refuse_data(
            state, f"{state.form} enrollments do not revalidate (domain.md 4.3).", field
        )
    match request:
        case RevalidationNoticeReceived(due_date=due) if due is not None:
            if due != last_day_of_month(due):
                raise _refuse_data(state, f"due_date {due} is not a month end.", "due_date")
        case RevalidationSubmitted(receipt_date=receipt):
            if state.revalidation_submitted_on is not None:
                raise _refuse_data(
                    state,
                    f"A revalidation was already received on {state.revalidation_submitted_on} "
                    "this cycle; record revalidation_approved.",
                    "receipt_date",
                )
            opens = state.revalidation_window_opens
            if opens is not None and receipt < opens and state.revalidation_notice_on is None:
                raise _refuse_data(
                    state,
                    f"receipt_date {receipt} is before the revalidation window opens on {opens} "
                    f"(7 months before the due date {state.revalidation_due_date}): the MAC "
                    "returns it as unsolicited (42 CFR 424.526).",
                    "receipt_date",
                )
        case RevalidationApproved(approval_date=approved, next_due_date=next_due):
            if state.revalidation_submitted_on is None:
                raise _refuse_data(
                    state,
                    "No revalidation was recorded this cycle: record revalidation_submitted first.",
                    "approval_date",
                )
            _not_before(
                state,
                approved,
                state.revalidation_submitted_on,
                "the receipt date",
                "approval_date",
            )
            if next_due is not None and (
                next_due != last_day_of_month(next_due) or next_due <= approved
            ):
                raise _refuse_data(
                    state, f"next_due_date {next_due} must be a later month end.", "next_due_date"
                )
        case ChangeReported():
            change = _change_to_report(state, request)
            _not_before(state, when, change.change_date, "the change", "reported_on")
        case RebuttalSubmitted(filed_on=filed):
            window = state.clocks_of(_K.DEACTIVATION_REBUTTAL)
            if not window or filed > window[0].last_day:
                raise _refuse_data(
                    state,
                    "The rebuttal window is closed"
                    + (f" (last day {window[0].last_day})" if window else "")
                    + "; reactivate with a new application instead.",
                    "filed_on",
                )
        case ReactivationApproved(approval_date=approved):
            reactivation_receipt = (
                state.deactivation.reactivation_receipt_date if state.deactivation else None
            )
            if reactivation_receipt is None:
                raise _refuse_data(
                    state,
                    "No reactivation application was recorded: record reactivation_submitted "
                    "(its MAC receipt date) first.",
                    "approval_date",
                )
            _not_before(state, approved, reactivation_receipt, "the receipt date", "approval_date")
        case _:
            pass


# --- Clocks of the enrollment -------------------------------------------------------------------


EXPIRY_EVENT: dict[EnrollmentClockKind, EnrollmentEvent] = {
    _K.REVALIDATION_DUE: _E.REVALIDATION_DUE_DATE_PASSED,
    _K.REVALIDATION_TARGET: _E.REVALIDATION_TARGET_PASSED,
    _K.REVALIDATION_NOTICE: _E.REVALIDATION_NOTICE_WINDOW_EXPIRED,
    _K.STAY: _E.STAY_EXPIRED,
    _K.CHANGE_REPORT: _E.CHANGE_REPORT_WINDOW_EXPIRED,
    _K.NON_BILLING: _E.NON_BILLING_PERIOD_EXPIRED,
    _K.ORDERING_REFERRING: _E.ORDERING_REFERRING_PERIOD_EXPIRED,
    _K.DEACTIVATION_REBUTTAL: _E.REBUTTAL_WINDOW_EXPIRED,
    _K.REENROLLMENT_BAR: _E.REENROLLMENT_BAR_EXPIRED,
}


def _open_cycle_clocks(step: ClockStep, started_on: date, from_list: bool) -> None:
    state: EnrollmentState = step.state
    due = state.revalidation_due_date
    if due is None:
        return
    dmepos = is_dmepos(state.form)
    key = RuleKey.REVALIDATION_CYCLE_DMEPOS if dmepos else RuleKey.REVALIDATION_CYCLE
    offsets = (
        state.reminder_offsets_days
        or rule(RuleKey.REVALIDATION_REMINDERS, started_on).reminder_offsets_days
    )
    step.open(
        _K.REVALIDATION_DUE,
        key,
        started_on,
        "the CMS Revalidation Due Date List" if from_list else "the revalidation cycle",
        "the enrollment is stayed (up to 30 days), then deactivated retroactively to the due date",
        last_day=due,
        period=("as posted" if from_list else rule(key, started_on).describe_period())
        + ", ending on a month end",
        reminder_offsets_days=tuple(offsets),
    )
    target_rule = rule(RuleKey.REVALIDATION_INTERNAL_TARGET, started_on)
    target_day = add_days(due, -(target_rule.days or 0))
    if target_day > started_on:
        step.open(
            _K.REVALIDATION_TARGET,
            RuleKey.REVALIDATION_INTERNAL_TARGET,
            started_on,
            "the revalidation cycle",
            "the internal target is missed: escalate (nothing changes in Medicare)",
            last_day=target_day,
            period=f"{target_rule.days} days before the due date {due}",
            reminder_days=(),
        )


def _open_inactivity_clock(step: ClockStep, last_activity: date, started_by: str) -> Clock:
    """12 consecutive calendar months without a claim (424.540(a)(1)), or for a CMS-855O
    enrollee without appearing on a claim as orderer/referrer (424.547); warnings after 9 and 11
    full months (engine policy)."""
    state: EnrollmentState = step.state
    ordering = state.form is Form.CMS_855O
    kind = _K.ORDERING_REFERRING if ordering else _K.NON_BILLING
    key = RuleKey.ORDERING_REFERRING_DEACTIVATION if ordering else RuleKey.NON_BILLING_DEACTIVATION
    first = first_month_without_claim(last_activity)
    if ordering:
        # 424.547 took effect 2026-01-01: no earlier month counts.
        first = max(first, _first_version(key))
    months = rule(key, first).months or 12
    last_day = consecutive_months_last_day(first, months)
    warnings = rule(RuleKey.NON_BILLING_WARNINGS, first).reminder_offsets_days
    return step.open(
        kind,
        key,
        last_activity,
        started_by,
        "the enrollment is deactivated, without advance notice",
        last_day=last_day,
        period=f"{months} consecutive calendar months ({first:%B %Y} through {last_day:%B %Y})",
        reminder_days=tuple(add_months(first, m) for m in warnings),
    )


def _open_rebuttal(step: ClockStep, letter: date) -> None:
    step.open(
        _K.DEACTIVATION_REBUTTAL,
        RuleKey.DEACTIVATION_REBUTTAL,
        letter,
        "the deactivation letter",
        "the deactivation can no longer be rebutted (reactivate with an application)",
    )


def _guard(state: EnrollmentState, request: OperatorEvent | None, clock: Clock | None) -> Any:
    def holds(name: str) -> bool:
        if name in ("stay_in_force", "stay_not_in_force"):
            assert clock is not None
            in_force = add_days(clock.last_day, 1) >= _first_version(
                RuleKey.STAY_MISSED_REVALIDATION
            )
            return in_force if name == "stay_in_force" else not in_force
        if name in ("last_stay_cured", "other_stay_remains"):
            cured = _stays_cured_by(state, request)
            remaining = [s for s in state.open_stays() if s.clock_id not in cured]
            return not remaining if name == "last_stay_cured" else bool(remaining)
        raise KeyError(name)

    return holds


def _stays_cured_by(state: EnrollmentState, request: OperatorEvent | None) -> set[str]:
    if isinstance(request, RevalidationSubmitted):
        return {s.clock_id for s in state.open_stays() if s.cause == "revalidation"}
    if isinstance(request, ChangeReported):
        change = _change_to_report(state, request)
        return {s.clock_id for s in state.open_stays() if s.change_id == change.change_id}
    return set()


def _end_stays(step: ClockStep, clock_ids: set[str], outcome: Any, outcome_clock: Any) -> None:
    state: EnrollmentState = step.state
    for s in state.stays:
        if s.clock_id in clock_ids and s.ended_on is None:
            s.ended_on = step.today
            s.outcome = outcome
    step.close(None, outcome_clock, clock_ids=sorted(clock_ids))


def _deactivate(
    step: ClockStep,
    reason: DeactivationReason,
    effective: date,
    *,
    letter: date | None,
    by_engine: bool,
) -> None:
    state: EnrollmentState = step.state
    for s in state.open_stays():
        s.ended_on = step.today
        s.outcome = "deactivated"
    step.close(None, "superseded")
    state.deactivation = Deactivation(
        reason=reason,
        effective_date=effective,
        recorded_on=step.today,
        letter_date=letter,
        by_engine=by_engine,
    )
    step.notes.append(
        f"Deactivated ({reason}) effective {effective}: no payment for services furnished while "
        "deactivated (42 CFR 424.540)."
    )
    # An engine-detected deactivation: the MAC's letter will follow; until it is recorded the
    # rebuttal window is counted from the day the deactivation took effect here.
    _open_rebuttal(step, letter or step.today)


def _missed(step: ClockStep, clock: Clock, target: EnrollmentStatus) -> None:
    """A revalidation or reporting deadline passed: stay (424.541) or, before stays existed,
    deactivate at once."""
    state: EnrollmentState = step.state
    if clock.kind == _K.CHANGE_REPORT:
        cause: Literal["revalidation", "unreported_change"] = "unreported_change"
        change = next(c for c in state.changes if c.window_clock_id == clock.clock_id)
        retro: date | None = None
        stay_key = RuleKey.STAY_UNREPORTED_CHANGE
        reason: DeactivationReason = "unreported_change"
    else:
        cause, change, stay_key, reason = (
            "revalidation",
            None,
            RuleKey.STAY_MISSED_REVALIDATION,
            "missed_revalidation",
        )
        # FCSO: deactivation retroactive to the date of non-compliance (the due date, or the
        # last day of the notice's response window).
        retro = clock.last_day
        step.close(CYCLE_CLOCKS, "superseded")
    if target == _S.DEACTIVATED:
        _deactivate(step, reason, retro or add_days(clock.last_day, 1), letter=None, by_engine=True)
        return
    if cause == "revalidation" and any(s.cause == "revalidation" for s in state.open_stays()):
        step.notes.append("A stay for the missed revalidation is already running.")
        return
    stay = step.open(
        _K.STAY,
        stay_key,
        clock.last_day,
        f"the missed {clock.rule.name.lower()} ({clock.last_day})",
        "the enrollment is deactivated"
        + (f", effective retroactively to {retro}" if retro else ""),
    )
    state.stays.append(
        StayRecord(
            clock_id=stay.clock_id,
            cause=cause,
            missed_on=clock.last_day,
            last_day=stay.last_day,
            deactivation_effective=retro,
            change_id=change.change_id if change else None,
        )
    )
    if change is not None:
        change.stay_clock_id = stay.clock_id
    step.notes.append(
        f"Stayed through {stay.last_day}: claims for dates of service in the stay are rejected "
        "(payable once compliance is restored) (42 CFR 424.541)."
    )


def _change_rule(state: EnrollmentState, kind: ChangeKind, on: date) -> RuleKey:
    """42 CFR 424.516(d)/(e), 424.57(c)(2), CY2024 PFS (domain.md 4.2)."""
    if is_dmepos(state.form):
        return RuleKey.CHANGE_REPORT_DMEPOS
    if kind is ChangeKind.PRACTICE_LOCATION and on >= _first_version(
        RuleKey.CHANGE_REPORT_PRACTICE_LOCATION
    ):
        return RuleKey.CHANGE_REPORT_PRACTICE_LOCATION
    physician_side = state.form in (Form.CMS_855I, Form.CMS_855B, Form.CMS_855O)
    if kind is ChangeKind.OWNERSHIP:
        return RuleKey.CHANGE_REPORT_PRIORITY
    if kind in (ChangeKind.PRACTICE_LOCATION, ChangeKind.ADVERSE_LEGAL_ACTION) and physician_side:
        return RuleKey.CHANGE_REPORT_PRIORITY
    return RuleKey.CHANGE_REPORT_OTHER


def _summary(state: EnrollmentState, approved_on: date | None) -> CycleSummary:
    return CycleSummary(
        cycle=state.cycle,
        started_on=state.cycle_started_on,
        due_date=state.revalidation_due_date,
        notice_on=state.revalidation_notice_on,
        submitted_on=state.revalidation_submitted_on,
        approved_on=approved_on,
        stayed=any(s.cause == "revalidation" for s in state.stays),
        events=len(state.events),
    )


def _start_next_cycle(step: ClockStep, approved_on: date, next_due: date) -> None:
    state: EnrollmentState = step.state
    state.past_cycles = [*state.past_cycles, _summary(state, approved_on)][-MAX_CYCLE_SUMMARIES:]
    state.cycle += 1
    state.cycle_started_on = approved_on
    state.revalidation_due_date = next_due
    state.revalidation_notice_on = None
    state.revalidation_submitted_on = None
    state.stays = [s for s in state.stays if s.ended_on is None]
    state.cycle_completed = True
    step.close(CYCLE_CLOCKS, "superseded")
    _open_cycle_clocks(step, approved_on, from_list=False)
    step.notes.append(f"Cycle {state.cycle} begins: next revalidation due {next_due}.")


# --- Creation -----------------------------------------------------------------------------------


def new_enrollment(start: EnrollmentStart, now: datetime) -> EnrollmentState:
    """A new enrollment, or the next run of one when `start.carry_over` is set."""
    today = local_date(now, start.time_zone)
    carry = start.carry_over
    state = EnrollmentState(
        enrollment_id=start.enrollment_id,
        organization_id=start.organization_id,
        npi=start.npi,
        ptan=start.ptan,
        form=start.form,
        provider_type=start.provider_type,
        state=start.state,
        time_zone=start.time_zone,
        source=start.source,
        effective_date=start.effective_date,
        current_effective_date=start.effective_date,
        reminder_offsets_days=start.reminder_offsets_days,
        status=_S.ACTIVE,
        created_at=now,
        updated_at=now,
        cycle_started_on=start.effective_date,
    )
    if carry is not None:
        for name in CycleCarryOver.model_fields:
            if name not in ("last_seq",):
                setattr(state, name, getattr(carry, name))
        state.seq = carry.last_seq
        event, to_status, before = "continued", carry.status, carry.status
    else:
        event, to_status, before = "created", _S.ACTIVE, None
    state.seq += 1
    step = ClockStep(state, state.seq, today)
    if carry is None:
        if revalidates(start.form):
            dmepos = is_dmepos(start.form)
            due = start.revalidation_due_date or revalidation_due_date(
                start.effective_date, dmepos=dmepos
            )
            if start.source == "import" and start.revalidation_due_date is None:
                # An imported enrollment without a posted due date: its due date persists
                # through cycles (domain.md 4.3), so the current one is the first not yet past.
                while due < today:
                    due = revalidation_due_date(due, dmepos=dmepos)
            state.revalidation_due_date = due
            _open_cycle_clocks(
                step, start.effective_date, from_list=start.revalidation_due_date is not None
            )
        else:
            step.notes.append(f"{start.form} enrollments do not revalidate (domain.md 4.3).")
        # The effective month counts as billed (interpretation; see the module docstring). An
        # import knows no claim history: its clock runs from the import date until a claim.
        if start.source == "import":
            _open_inactivity_clock(step, max(start.effective_date, today), "the import")
        else:
            _open_inactivity_clock(step, start.effective_date, "the effective date")
    else:
        step.notes.append(
            f"Cycle {state.cycle} continues as new (due {state.revalidation_due_date})."
        )
    _record(step, event, start.actor, None, start.reason, today, now, before)
    state.status = to_status
    state.events[-1].to_status = to_status
    return state


def next_cycle_state(state: EnrollmentState) -> EnrollmentStart:
    """The input of the next run (continue-as-new): identifiers and what the next cycle needs.
    Every open clock and its sent reminders are carried, so nothing is lost or sent twice."""
    open_ids = {c.clock_id for c in state.clocks}
    carry = CycleCarryOver(
        cycle=state.cycle,
        cycle_started_on=state.cycle_started_on,
        status=state.status,
        last_seq=state.seq,
        current_effective_date=state.current_effective_date,
        revalidation_due_date=state.revalidation_due_date,
        revalidation_notice_on=state.revalidation_notice_on,
        revalidation_submitted_on=state.revalidation_submitted_on,
        last_claim_date=state.last_claim_date,
        clocks=list(state.clocks),
        reminders_sent=[k for k in state.reminders_sent if k.split(":", 1)[0] in open_ids],
        changes=[c for c in state.changes if c.reported_on is None],
        stays=state.open_stays(),
        deactivation=state.deactivation,
        revocation=state.revocation,
        gaps=list(state.gaps),
        past_cycles=list(state.past_cycles),
    )
    return EnrollmentStart(
        enrollment_id=state.enrollment_id,
        organization_id=state.organization_id,
        npi=state.npi,
        ptan=state.ptan,
        form=state.form,
        provider_type=state.provider_type,
        state=state.state,
        effective_date=state.effective_date,
        time_zone=state.time_zone,
        reminder_offsets_days=state.reminder_offsets_days,
        actor="engine",
        reason=f"continue as new: cycle {state.cycle}",
        source=state.source,
        carry_over=carry,
    )


# --- Application of events ----------------------------------------------------------------------


def _record(
    step: ClockStep,
    event: str,
    actor: str,
    role: str | None,
    reason: str,
    when: date,
    now: datetime,
    before: EnrollmentStatus | None,
) -> None:
    state: EnrollmentState = step.state
    state.events.append(
        EnrollmentEventRecord(
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


def _prefix(state: EnrollmentState) -> str:
    return f"{state.form} enrollment {state.enrollment_id}"


def apply_event(state: EnrollmentState, request: OperatorEvent, now: datetime) -> Outcome:
    """Apply an event `check_event` accepted, then settle any clock already due."""
    state = state.model_copy(deep=True)
    event = EnrollmentEvent(request.event)
    today = state.today(now)
    when = request.event_date() or today
    target = ENROLLMENT_LIFECYCLE.resolve(state.status, event, _guard(state, request, None))
    if target is None:
        raise EventRefused(
            "IllegalTransition",
            f"no transition for {event.value} in {state.status.value}",
            status=state.status.value,
            allowed_events=state.allowed_events(),
        )
    state.seq += 1
    step = ClockStep(state, state.seq, today)
    before = state.status

    match request:
        case RevalidationNoticeReceived(letter_date=letter, due_date=due):
            state.revalidation_notice_on = letter
            if due is not None and due != state.revalidation_due_date:
                step.notes.append(f"Due date moved from {state.revalidation_due_date} to {due}.")
                state.revalidation_due_date = due
                step.close([_K.REVALIDATION_DUE, _K.REVALIDATION_TARGET], "superseded")
                _open_cycle_clocks(step, letter, from_list=True)
            step.close([_K.REVALIDATION_NOTICE], "superseded")
            step.open(
                _K.REVALIDATION_NOTICE,
                RuleKey.REVALIDATION_NOTICE_RESPONSE,
                letter,
                "the MAC's revalidation letter",
                "the enrollment is stayed (up to 30 days), then deactivated",
            )
        case RevalidationSubmitted():
            state.revalidation_submitted_on = when
            step.close(CYCLE_CLOCKS, "satisfied")
            cured = _stays_cured_by(state, request)
            if cured:
                step.notes.append("The missed revalidation is cured: the stay ends.")
            _end_stays(step, cured, "cured", "satisfied")
        case RevalidationApproved(next_due_date=next_due):
            base = state.revalidation_due_date or when
            due = next_due or revalidation_due_date(base, dmepos=is_dmepos(state.form))
            _start_next_cycle(step, when, due)
        case ChangeOccurred(kind=kind, change_date=changed, description=description):
            key = _change_rule(state, kind, changed)
            clock = step.open(
                _K.CHANGE_REPORT,
                key,
                changed,
                f"the {kind.value.replace('_', ' ')} change",
                "the enrollment is stayed (up to 60 days), then deactivated",
            )
            state.changes.append(
                ChangeRecord(
                    change_id=f"change-{step.seq}",
                    kind=kind,
                    change_date=changed,
                    description=description,
                    window_clock_id=clock.clock_id,
                    last_day=clock.last_day,
                )
            )
        case ChangeReported():
            change = _change_to_report(state, request)
            cured = _stays_cured_by(state, request)
            change.reported_on = when
            step.close(None, "satisfied", clock_ids=[change.window_clock_id])
            _end_stays(step, cured, "cured", "satisfied")
        case ClaimActivity(latest_claim_date=claim):
            if state.last_claim_date is not None and claim <= state.last_claim_date:
                step.notes.append(f"No change: a claim dated {state.last_claim_date} is known.")
            else:
                state.last_claim_date = claim
                step.close([_K.NON_BILLING, _K.ORDERING_REFERRING], "superseded")
                _open_inactivity_clock(step, claim, "the latest claim")
        case Deactivated(letter_date=letter, effective_date=eff, deactivation_reason=why):
            _deactivate(step, why, eff or letter, letter=letter, by_engine=False)
        case RebuttalSubmitted():
            assert state.deactivation is not None
            state.deactivation.rebuttal_filed_on = when
            step.close([_K.DEACTIVATION_REBUTTAL], "satisfied")
        case ReactivationSubmitted(receipt_date=receipt):
            assert state.deactivation is not None
            if state.deactivation.reactivation_receipt_date is not None:
                step.notes.append(
                    f"Replaces the receipt date {state.deactivation.reactivation_receipt_date}: "
                    "only the application processed to approval counts (DAB CR5717)."
                )
            state.deactivation.reactivation_receipt_date = receipt
        case ReactivationApproved(next_due_date=next_due):
            _reactivate(step, when, next_due)
        case Revoked() as revoked:
            _revoke(step, revoked)
        case VoluntarilyTerminated():
            state.terminated_on = when
            step.close(None, "superseded")

    state.status = target
    _record(step, event.value, request.actor, request.role, request.reason, when, now, before)
    notice = Notice(
        key=f"event-{step.seq}",
        kind=NoticeKind.EVENT,
        subject=f"{_prefix(state)}: {event.value} ({before} -> {state.status})",
        body=" ".join(step.notes) or f"{event.value} recorded.",
        status=state.status.value,
    )
    settled = fire_due_clocks(state, now)
    return Outcome(state=settled.state, notices=[notice, *settled.notices])


def _reactivate(step: ClockStep, approved: date, next_due: date | None) -> None:
    state: EnrollmentState = step.state
    d = state.deactivation
    assert d is not None and d.reactivation_receipt_date is not None
    receipt = d.reactivation_receipt_date
    through = add_days(receipt, -1)
    if through >= d.effective_date:
        gap = BillingGap(
            reason=d.reason,
            deactivated_from=d.effective_date,
            reactivation_receipt_date=receipt,
            through=through,
            days=(through - d.effective_date).days + 1,
        )
        state.gaps.append(gap)
        step.notes.append(
            f"Unbillable gap {gap.deactivated_from} through {gap.through} ({gap.days} days): "
            "no payment for the period of deactivation (42 CFR 424.540(b), DAB CR5613)."
        )
    state.current_effective_date = receipt
    step.notes.append(
        f"Reactivated effective {receipt}, the receipt date of the application processed to "
        "approval (42 CFR 424.540(b))."
    )
    state.deactivation = None
    step.close(None, "superseded")
    if state.revalidation_due_date is not None:
        if next_due is not None or state.revalidation_due_date < approved:
            # The reactivation application revalidated the enrollment: a new cycle.
            due = next_due or revalidation_due_date(receipt, dmepos=is_dmepos(state.form))
            state.revalidation_submitted_on = receipt
            _start_next_cycle(step, approved, due)
        else:
            _open_cycle_clocks(step, approved, from_list=False)
    state.last_claim_date = None
    _open_inactivity_clock(step, receipt, "the reactivation effective date")


def _revoke(step: ClockStep, revoked: Revoked) -> None:
    state: EnrollmentState = step.state
    effective_rule = rule(RuleKey.REVOCATION_EFFECTIVE, revoked.notice_date)
    effective = revoked.effective_date or period_last_day(revoked.notice_date, effective_rule)
    barred_through = add_days(add_years(effective, revoked.bar_years), -1)
    step.close(None, "superseded")
    for s in state.open_stays():
        s.ended_on, s.outcome = step.today, "superseded"
    state.revocation = Revocation(
        notice_date=revoked.notice_date,
        effective_date=effective,
        bar_years=revoked.bar_years,
        repeat=revoked.repeat,
        grounds=revoked.grounds,
        barred_through=barred_through,
    )
    step.notes.append(
        f"Revoked effective {effective}"
        + (
            ""
            if revoked.effective_date
            else f" ({effective_rule.describe_period()} after the notice)"
        )
        + "."
    )
    step.open(
        _K.REENROLLMENT_BAR,
        RuleKey.REENROLLMENT_BAR_REPEAT if revoked.repeat else RuleKey.REENROLLMENT_BAR,
        effective,
        "the revocation's effective date",
        "the bar has ended: a new initial application (full screening) may be filed",
        last_day=barred_through,
        period=f"{revoked.bar_years} year{'s' if revoked.bar_years != 1 else ''} (set in the "
        "revocation notice)",
        reminder_days=(),
    )


# --- Timers -------------------------------------------------------------------------------------


def fire_due_clocks(state: EnrollmentState, now: datetime) -> Outcome:
    """Send due reminders (each once) and apply every consequence whose time has come, oldest
    first. Idempotent at a given instant."""
    if not anything_due(state, now):
        return Outcome(state=state)
    state, notices = settle(
        state.model_copy(deep=True),
        now,
        subject_prefix=_prefix,
        status=lambda st: st.status.value,
        expire=_expire,
    )
    return Outcome(state=state, notices=notices)


def _expire(state: EnrollmentState, clock: Clock, now: datetime) -> tuple[EnrollmentState, Notice]:
    kind = EnrollmentClockKind(clock.kind)
    event = EXPIRY_EVENT[kind]
    fired_on = local_date(clock.fires_at, state.time_zone)
    state.seq += 1
    step = ClockStep(state, state.seq, fired_on)
    before = state.status
    target = ENROLLMENT_LIFECYCLE.resolve(state.status, event, _guard(state, None, clock))
    step.close(None, "expired", clock_ids=[clock.clock_id])
    if target is None:
        step.notes.append(f"{clock.rule.name} ended while '{state.status}'; nothing to apply.")
        target = state.status
    else:
        step.notes.append(
            f"{clock.rule.name} ended on {clock.last_day} with nothing recorded: "
            f"{clock.consequence}."
        )
        if kind in (_K.REVALIDATION_DUE, _K.REVALIDATION_NOTICE, _K.CHANGE_REPORT):
            _missed(step, clock, target)
        elif kind == _K.STAY:
            stay = next(s for s in state.stays if s.clock_id == clock.clock_id)
            reason: DeactivationReason = (
                "missed_revalidation" if stay.cause == "revalidation" else "unreported_change"
            )
            _deactivate(
                step,
                reason,
                stay.deactivation_effective or fired_on,
                letter=None,
                by_engine=True,
            )
        elif kind in (_K.NON_BILLING, _K.ORDERING_REFERRING):
            why: DeactivationReason = (
                "non_billing" if kind == _K.NON_BILLING else "ordering_referring"
            )
            _deactivate(step, why, fired_on, letter=None, by_engine=True)
        elif kind == _K.REENROLLMENT_BAR and state.revocation is not None:
            state.revocation.bar_expired = True
    state.status = target
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
    subject = f"{_prefix(state)}: {event.value} -> {state.status}"
    return state, expiry_notice(clock, subject, step.notes, state.status.value)


def progress_event(progress: ApplicationProgress) -> OperatorEvent:
    """The enrollment event an application's progress stands for."""
    common: dict[str, Any] = {
        "actor": progress.actor,
        "role": progress.role,
        "reason": f"application {progress.application_id}: {progress.reason}",
    }
    if progress.stage == "submitted":
        model: type[OperatorEvent] = (
            RevalidationSubmitted if progress.purpose == "revalidation" else ReactivationSubmitted
        )
        return model.model_validate(
            {**common, "receipt_date": progress.on, "application_id": progress.application_id}
        )
    model = RevalidationApproved if progress.purpose == "revalidation" else ReactivationApproved
    return model.model_validate({**common, "approval_date": progress.on})
