"""Applying an event to an application: pure, like the rest of models/.

The workflow hands in the current time; `apply_event` returns the next state and the notices
to send. It applies only what `check_event` accepted, then settles any clock the event left
already expired (a back-dated event may open a clock whose period has ended: its consequence
applies at once, and the event's line in the log says so).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from models.application.backdating import state_for_event
from models.application.consequences import approve, deny, fire_due_clocks, open_timer
from models.application.events import (
    Approved,
    CapDecided,
    CapSubmitted,
    Denied,
    DevelopmentRequested,
    DevelopmentResponded,
    FeeHardshipApproved,
    FeeHardshipDenied,
    FeeHardshipRequested,
    FeePaid,
    FeeRequested,
    FingerprintsReceived,
    FingerprintsRequested,
    ReceivedByMac,
    ReconsiderationDecided,
    ReconsiderationRequested,
    Rejected,
    Returned,
    SignaturesCompleted,
    SiteVisitCompleted,
    Submit,
    UpdateDraft,
    Withdrawn,
)
from models.application.guards import allowed_events, guard
from models.application.lifecycle import APPLICATION_LIFECYCLE
from models.application.state import (
    ApplicationEventRecord,
    ApplicationState,
    Decision,
    DevelopmentRequest,
)
from models.application.validation import merged_details
from models.calendar import ClockKind
from models.checks import presubmission_findings
from models.clocks import ClockStep
from models.forms import application_fee
from models.records import (
    EventRefused,
    OperatorEvent,
    Outcome,
    event_notice,
    keep_record,
    working_copy,
)
from models.rules import RuleKey

_K = ClockKind


def apply_event(
    state: ApplicationState, request: OperatorEvent, now: datetime
) -> Outcome[ApplicationState]:
    """Apply an operator event that `check_event` accepted, then settle any clock it left
    already expired. Returns a new state; the input is not modified."""
    if request.bookkeeping:  # keeps the record, moves nothing (models/records.py)
        kept = working_copy(state)
        keep_record(
            kept,
            request,
            now,
            seq=len(kept.events) + 1,
            status=kept.status,
            today=kept.today(now),
            line=ApplicationEventRecord,
            events=kept.events,
        )
        return Outcome(state=kept)
    state, withdrawal, earlier = state_for_event(state, request, now)
    state = working_copy(state)
    today = state.today(now)
    when = request.event_date() or today
    step = ClockStep(state, len(state.events) + 1, today)
    if withdrawal:
        step.notes.append(withdrawal)
    # The operator has acted: an engine consequence is no longer waiting to be withdrawn.
    state.before_consequence = None
    state.consequence_clock = None
    step.close([_K.LATE_RECORDING], "superseded")
    before = state.status
    target = APPLICATION_LIFECYCLE.resolve(state.status, request.event, guard(state, request))
    if target is None:  # check_event guarantees a row; a guard mismatch is a bug
        raise EventRefused(
            "IllegalTransition",
            f"no transition for {request.event} in {state.status.value}",
            status=state.status.value,
            allowed_events=allowed_events(state),
        )

    match request:
        case UpdateDraft(changes=changes):
            state.details = merged_details(state.details, changes)
            # The outward findings stay until the checks round run for this change replaces
            # them: a draft change never clears an exclusion match by itself.
            outward = [f for f in state.findings if f.check is not None]
            state.findings = presubmission_findings(state.facts(), today) + outward
        case Submit():
            _submit(step, request, when)
        case SignaturesCompleted():
            state.signatures_completed_on = when
            step.close([_K.SIGNATURES], "satisfied")
        case FeeRequested(letter_date=letter):
            state.fee_requested_on = letter
            if state.fee_hardship_requested_on and state.fee_hardship_outcome is None:
                step.notes.append(
                    "A hardship request is waiting for CMS's decision: the fee letter's 30 days "
                    "do not run until then (a denial gives 30 days to pay)."
                )
            else:
                open_timer(
                    step,
                    _K.FEE_PAYMENT,
                    letter,
                    "the MAC's fee letter",
                    "the application is rejected for an unpaid fee",
                )
        case FeePaid(hardship_exception=True) | FeeHardshipRequested():
            _hardship_requested(step, when)
        case FeePaid():
            state.fee_paid_on = when
            step.close([_K.FEE_PAYMENT], "satisfied")
        case FeeHardshipApproved():
            state.fee_hardship_outcome = "approved"
            step.close([_K.FEE_HARDSHIP_DECISION, _K.FEE_PAYMENT], "satisfied")
            step.notes.append("Hardship exception approved: no application fee is owed.")
        case FeeHardshipDenied():
            state.fee_hardship_outcome = "denied"
            step.close([_K.FEE_HARDSHIP_DECISION], "satisfied")
            step.close([_K.FEE_PAYMENT], "superseded")
            step.open(
                _K.FEE_PAYMENT,
                RuleKey.FEE_HARDSHIP_DENIED_PAYMENT,
                when,
                "CMS's denial of the hardship request",
                "the application is rejected for an unpaid fee",
            )
        case ReceivedByMac(case_number=case, receipt_date=receipt):
            state.case_number = case
            state.receipt_date = receipt
        case DevelopmentRequested(request_date=req_date, items=items):
            step.close([_K.DEVELOPMENT_RESPONSE], "superseded")
            clock = open_timer(
                step,
                _K.DEVELOPMENT_RESPONSE,
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
            step.close([_K.DEVELOPMENT_RESPONSE], "satisfied")
        case SiteVisitCompleted(visit_date=visit, result=result):
            state.site_visits.append((visit, result))
            if result != "passed":
                step.notes.append(
                    f"Site visit result '{result}': expect a denial under 42 CFR 424.530(a)(5)."
                )
        case FingerprintsRequested(letter_date=letter):
            state.fingerprints_requested_on = letter
            open_timer(
                step,
                _K.FINGERPRINTS,
                letter,
                "the MAC's fingerprint letter",
                "the application is denied",
            )
        case FingerprintsReceived():
            state.fingerprints_received_on = when
            step.close([_K.FINGERPRINTS], "satisfied")
        case Approved(ptan=ptan, enrollment_id=enrollment_id, effective_date=given):
            approve(step, when, ptan, enrollment_id, given)
        case Denied(notice_date=notice, grounds=grounds, received_on=received, ground=ground):
            deny(step, notice, grounds, received, by_engine=False, ground=ground)
        case CapSubmitted():
            state.cap_filed_on = when
            step.close([_K.CORRECTIVE_ACTION_PLAN], "satisfied")
            open_timer(
                step,
                _K.CORRECTIVE_ACTION_PLAN_DECISION,
                when,
                "the corrective action plan",
                "the decision is overdue: follow up with the MAC (the reconsideration window "
                "runs on regardless)",
            )
        case CapDecided(outcome=outcome) as decided:
            state.cap_outcome = outcome
            step.close([_K.CORRECTIVE_ACTION_PLAN_DECISION], "satisfied")
            if outcome == "accepted" and decided.ptan:
                state.decision = None
                approve(step, when, decided.ptan, decided.enrollment_id, decided.effective_date)
        case ReconsiderationRequested():
            state.reconsideration_filed_on = when
            step.close([_K.RECONSIDERATION_REQUEST, _K.CORRECTIVE_ACTION_PLAN], "satisfied")
            open_timer(
                step,
                _K.RECONSIDERATION_DECISION,
                when,
                "the reconsideration request",
                "the decision is overdue: follow up with the MAC or CMS",
            )
        case ReconsiderationDecided(outcome=outcome) as decided:
            state.reconsideration_outcome = outcome
            step.close([_K.RECONSIDERATION_DECISION], "satisfied")
            if outcome == "reversed" and decided.ptan:
                state.decision = None
                approve(step, when, decided.ptan, decided.enrollment_id, decided.effective_date)
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
    step.record(
        ApplicationEventRecord,
        request.event,
        request.actor,
        request.role,
        request.reason,
        when,
        now,
        before,
    )
    prefix = f"{state.form} {state.application_id}"
    told = event_notice(step.seq, prefix, request.event, before, state.status, step.notes)
    settled = fire_due_clocks(state, now)
    return Outcome(state=settled.state, notices=[*earlier, told, *settled.notices])


def _hardship_requested(step: ClockStep, when: date) -> None:
    state: ApplicationState = step.state
    state.fee_hardship_requested_on = when
    state.fee_hardship_outcome = None  # a request after a denial awaits its own decision
    step.close([_K.FEE_PAYMENT], "superseded")
    step.notes.append(
        "A hardship exception request is not a payment: the fee stays owed until CMS decides "
        "(42 CFR 424.514)."
    )
    open_timer(
        step,
        _K.FEE_HARDSHIP_DECISION,
        when,
        "the hardship request",
        "the decision is overdue: follow up with the MAC (nothing changes by itself)",
    )


def _submit(step: ClockStep, submit: Submit, when: date) -> None:
    state: ApplicationState = step.state
    state.web_tracking_id = submit.web_tracking_id
    state.submitted_on = when
    state.findings = presubmission_findings(state.facts(), when)
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
        open_timer(
            step,
            _K.SIGNATURES,
            when,
            "the PECOS submission",
            "the application is rejected for missing signatures",
        )
