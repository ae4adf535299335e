"""Applying an event to an enrollment: pure. `apply_event` applies only what `check_event`
accepted, then settles any clock already due; `progress_event` turns what a linked
revalidation or reactivation application reports into the enrollment's own event."""

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
    prefix,
    reactivate,
    revoke,
)
from models.enrollment.cycle import open_cycle_clocks, open_inactivity_clock, start_next_cycle
from models.enrollment.events import (
    ChangeKind,
    ChangeOccurred,
    ChangeReported,
    ClaimActivity,
    Deactivated,
    ReactivationApproved,
    ReactivationSubmitted,
    RebuttalSubmitted,
    RevalidationApproved,
    RevalidationNoticeReceived,
    RevalidationSubmitted,
    Revoked,
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
from models.enrollment.state import ChangeRecord, EnrollmentEventRecord, EnrollmentState
from models.enrollment.timers import CYCLE_CLOCKS
from models.forms import Form, is_dmepos
from models.records import EventRefused, OperatorEvent, Outcome, event_notice
from models.rules import RuleKey

_K = EnrollmentClockKind


def apply_event(
    state: EnrollmentState, request: OperatorEvent, now: datetime
) -> Outcome[EnrollmentState]:
    """Apply an event `check_event` accepted, then settle any clock already due."""
    state = state.model_copy(deep=True)
    event = request.event
    today = state.today(now)
    when = request.event_date() or today
    target = ENROLLMENT_LIFECYCLE.resolve(state.status, event, guard(state, request, None))
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
            cured = stays_cured_by(state, request)
            if cured:
                step.notes.append("The missed revalidation is cured: the stay ends.")
            end_stays(step, cured, "cured", "satisfied")
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
            reactivate(step, when, next_due)
        case Revoked() as revoked:
            revoke(step, revoked)
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
    if kind is ChangeKind.OWNERSHIP:
        return RuleKey.CHANGE_REPORT_PRIORITY
    if kind in (ChangeKind.PRACTICE_LOCATION, ChangeKind.ADVERSE_LEGAL_ACTION) and physician_side:
        return RuleKey.CHANGE_REPORT_PRIORITY
    return RuleKey.CHANGE_REPORT_OTHER


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
