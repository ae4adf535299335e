"""Applying an event to an enrollment: pure. `apply_event` applies only what `check_event`
accepted, then settles any clock already due; `progress_events` turns what a linked
revalidation or reactivation application reports into the enrollment's own events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from models.calendar import EnrollmentClockKind, revalidation_due_date
from models.clocks import ClockStep
from models.contracts import ApplicationProgress
from models.enrollment.consequences import (
    deactivate,
    end_stays,
    fire_due_clocks,
    impose_stay,
    prefix,
    reactivate,
)
from models.enrollment.cycle import (
    open_cycle_clocks,
    open_inactivity_clock,
    open_notice_clock,
    reopen_revalidation,
    start_next_cycle,
)
from models.enrollment.events import (
    CapDecided,
    CapSubmitted,
    ChangeKind,
    ChangeOccurred,
    ChangeReported,
    ClaimActivity,
    Deactivated,
    EnrollmentIdAssigned,
    ReactivationApproved,
    ReactivationNotApproved,
    ReactivationSubmitted,
    RebuttalSubmitted,
    ReconsiderationDecided,
    ReconsiderationRequested,
    RevalidationApproved,
    RevalidationNotApproved,
    RevalidationNoticeReceived,
    RevalidationSubmitted,
    Revoked,
    StayImposed,
    StayLifted,
    VoluntarilyTerminated,
)
from models.enrollment.guards import (
    allowed_events,
    change_to_report,
    first_version,
    guard,
    stays_cured_by,
)
from models.enrollment.lifecycle import ENROLLMENT_LIFECYCLE
from models.enrollment.revocation import reinstate, revoke
from models.enrollment.state import ChangeRecord, EnrollmentEventRecord, EnrollmentState
from models.enrollment.status import EnrollmentStatus
from models.enrollment.timers import CYCLE_CLOCKS
from models.forms import Form, is_dmepos
from models.records import (
    EventRefused,
    OperatorEvent,
    Outcome,
    event_notice,
    keep_record,
    working_copy,
)
from models.rules import RuleKey

_K = EnrollmentClockKind
_S = EnrollmentStatus


def apply_event(
    state: EnrollmentState, request: OperatorEvent, now: datetime
) -> Outcome[EnrollmentState]:
    """Apply an event `check_event` accepted, then settle any clock already due."""
    state = working_copy(state)
    if request.bookkeeping:  # keeps the record, moves nothing (models/records.py)
        state.seq += 1
        keep_record(
            state,
            request,
            now,
            seq=state.seq,
            status=state.status,
            today=state.today(now),
            line=EnrollmentEventRecord,
            events=state.events,
        )
        return Outcome(state=state)
    event = request.event
    today = state.today(now)
    when = request.event_date() or today
    target = ENROLLMENT_LIFECYCLE.resolve(state.status, event, guard(state, request, None, today))
    if target is None:
        raise EventRefused(
            "IllegalTransition",
            f"no transition for {event} in {state.status.value}",
            status=state.status.value,
            allowed_events=allowed_events(state),
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
                open_cycle_clocks(step, letter, from_list=True)
            step.close([_K.REVALIDATION_NOTICE], "superseded")
            open_notice_clock(step, letter)
        case RevalidationSubmitted(application_id=application_id):
            state.revalidation_submitted_on = when
            state.revalidation_application_id = application_id
            step.close(CYCLE_CLOCKS, "satisfied")
            cured = stays_cured_by(state, request)
            if cured:
                step.notes.append("The missed revalidation is cured: the stay ends.")
            end_stays(step, cured, "cured", "satisfied")
        case RevalidationNotApproved(outcome=outcome, application_id=application_id):
            filed = state.revalidation_submitted_on
            if application_id is not None:
                state.applications_not_approved.append(application_id)
            state.revalidation_submitted_on = None
            state.revalidation_application_id = None
            step.notes.append(
                f"The revalidation received {filed} was {outcome} on {when}: its filing does not "
                "count (a rejected application keeps no filing date, DAB CR5717), so the "
                "revalidation deadlines run again."
            )
            if state.status in (_S.ACTIVE, _S.STAYED):
                reopen_revalidation(step, f"the revalidation {outcome} on {when}")
        case RevalidationApproved(next_due_date=next_due):
            base = state.revalidation_due_date or when
            due = next_due or revalidation_due_date(base, dmepos=is_dmepos(state.form))
            start_next_cycle(step, when, due)
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
            change = change_to_report(state, request)
            cured = stays_cured_by(state, request)
            change.reported_on = when
            step.close(None, "satisfied", clock_ids=[change.window_clock_id])
            end_stays(step, cured, "cured", "satisfied")
        case ClaimActivity(latest_claim_date=claim):
            if state.last_claim_date is not None and claim <= state.last_claim_date:
                step.notes.append(f"No change: a claim dated {state.last_claim_date} is known.")
            else:
                state.last_claim_date = claim
                step.close([_K.NON_BILLING, _K.ORDERING_REFERRING], "superseded")
                open_inactivity_clock(step, claim, "the latest claim")
        case Deactivated(letter_date=letter, effective_date=eff, deactivation_reason=why):
            deactivate(step, why, eff or letter, letter=letter, by_engine=False)
        case StayImposed() as letter:
            impose_stay(step, letter)
        case StayLifted():
            lifted = stays_cured_by(state, request)
            end_stays(step, lifted, "lifted", "satisfied")
        case RebuttalSubmitted() if state.status == _S.STAYED:
            for s in state.open_stays():
                if s.imposed_by == "mac":
                    s.rebuttal_filed_on = when
            step.close([_K.STAY_REBUTTAL], "satisfied")
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
        case ReactivationNotApproved(outcome=outcome, application_id=application_id):
            assert state.deactivation is not None
            dropped = state.deactivation.reactivation_receipt_date
            state.deactivation.reactivation_receipt_date = None
            if application_id is not None:
                state.applications_not_approved.append(application_id)
            step.notes.append(
                f"The reactivation received {dropped} was {outcome} on {when}: its receipt date "
                "does not count; the enrollment stays deactivated, unpaid, until a reactivation "
                "is received and approved (42 CFR 424.540(b))."
            )
        case ReactivationApproved(next_due_date=next_due):
            reactivate(step, when, next_due)
        case Revoked() as revoked:
            revoke(step, revoked, before)
        case CapSubmitted():
            assert state.revocation is not None
            state.revocation.cap_filed_on = when
            step.close([_K.REVOCATION_CAP], "satisfied")
        case ReconsiderationRequested():
            assert state.revocation is not None
            state.revocation.reconsideration_filed_on = when
            step.close([_K.REVOCATION_RECONSIDERATION], "satisfied")
        case CapDecided(outcome="accepted"):
            reinstate(step, "corrective action plan accepted")
        case ReconsiderationDecided(outcome="reversed"):
            reinstate(step, "reconsideration reversed it")
        case CapDecided() | ReconsiderationDecided():
            step.notes.append("The revocation stands.")
        case EnrollmentIdAssigned(enrollment_id=pecos_id):
            state.replaced_by = pecos_id
            step.close(None, "superseded")
            step.notes.append(
                f"PECOS enrollment ID {pecos_id} recorded: the record goes on under it, with "
                "every open clock; this provisional record ends."
            )
        case VoluntarilyTerminated():
            state.terminated_on = when
            step.close(None, "superseded")

    state.status = target
    step.record(
        EnrollmentEventRecord, event, request.actor, request.role, request.reason, when, now, before
    )
    notice = event_notice(step.seq, prefix(state), event, before, state.status, step.notes)
    settled = fire_due_clocks(state, now)
    return Outcome(state=settled.state, notices=[notice, *settled.notices])


def _change_rule(state: EnrollmentState, kind: ChangeKind, on: date) -> RuleKey:
    """42 CFR 424.516(d)/(e), 424.57(c)(2), CY2024 PFS."""
    if is_dmepos(state.form):
        return RuleKey.CHANGE_REPORT_DMEPOS
    if kind is ChangeKind.PRACTICE_LOCATION and on >= first_version(
        RuleKey.CHANGE_REPORT_PRACTICE_LOCATION
    ):
        return RuleKey.CHANGE_REPORT_PRACTICE_LOCATION
    physician_side = state.form in (Form.CMS_855I, Form.CMS_855B, Form.CMS_855O)
    if kind is ChangeKind.AUTHORIZED_OFFICIAL:
        return RuleKey.CHANGE_REPORT_AUTHORIZED_OFFICIAL
    if kind is ChangeKind.OWNERSHIP:
        return RuleKey.CHANGE_REPORT_PRIORITY
    if kind in (ChangeKind.PRACTICE_LOCATION, ChangeKind.ADVERSE_LEGAL_ACTION) and physician_side:
        return RuleKey.CHANGE_REPORT_PRIORITY
    return RuleKey.CHANGE_REPORT_OTHER


def progress_events(state: EnrollmentState, progress: ApplicationProgress) -> list[OperatorEvent]:
    """The enrollment events an application's progress stands for: its filing, its approval
    (after its filing when the enrollment no longer holds it: a denial reversed on
    reconsideration), or its not being approved."""
    common: dict[str, Any] = {
        "actor": progress.actor,
        "role": progress.role,
        "reason": f"application {progress.application_id}: {progress.reason}",
    }
    revalidation = progress.purpose == "revalidation"
    filing: OperatorEvent | None = None
    if progress.filed_on is not None or progress.stage == "submitted":
        model: type[OperatorEvent] = (
            RevalidationSubmitted if revalidation else ReactivationSubmitted
        )
        filing = model.model_validate(
            {
                **common,
                "receipt_date": progress.filed_on or progress.on,
                "application_id": progress.application_id,
            }
        )
    if progress.stage == "submitted":
        assert filing is not None
        return [filing]
    if progress.stage == "approved":
        model = RevalidationApproved if revalidation else ReactivationApproved
        approval = model.model_validate({**common, "approval_date": progress.on})
        filed = (
            state.revalidation_submitted_on
            if revalidation
            else (state.deactivation.reactivation_receipt_date if state.deactivation else None)
        )
        return [filing, approval] if filed is None and filing is not None else [approval]
    model = RevalidationNotApproved if revalidation else ReactivationNotApproved
    return [
        model.model_validate(
            {
                **common,
                "notice_date": progress.on,
                "outcome": progress.stage,
                "application_id": progress.application_id,
            }
        )
    ]
