"""What an enrollment refuses, and why: `check_event` is pure, so the workflow's update
validator runs it before anything enters history."""

from __future__ import annotations

from datetime import date, datetime

from models.calendar import EnrollmentClockKind, last_day_of_month, period_last_day
from models.enrollment.events import (
    CapDecided,
    CapSubmitted,
    ChangeReported,
    EnrollmentIdAssigned,
    ReactivationApproved,
    ReactivationNotApproved,
    RebuttalSubmitted,
    ReconsiderationDecided,
    ReconsiderationRequested,
    RevalidationApproved,
    RevalidationNotApproved,
    RevalidationNoticeReceived,
    RevalidationSubmitted,
    StayImposed,
    StayLifted,
)
from models.enrollment.guards import (
    allowed_events,
    change_to_report,
    first_version,
    refusals,
    stay_to_lift,
)
from models.enrollment.lifecycle import ENROLLMENT_LIFECYCLE
from models.enrollment.state import EnrollmentState
from models.enrollment.status import EnrollmentStatus
from models.forms import revalidates
from models.records import OperatorEvent, Refusals, check_allowed, check_bookkeeping
from models.rules import RuleKey, rule

_K = EnrollmentClockKind


def check_event(state: EnrollmentState, request: OperatorEvent, now: datetime) -> None:
    """Refuse (raise EventRefused) what the lifecycle or the data do not allow. Pure."""
    refuse = refusals(state)
    ended = " The enrollment has ended." if state.is_final else ""
    if request.bookkeeping:
        check_bookkeeping(ENROLLMENT_LIFECYCLE, state.status, refuse, request.event, ended)
        return
    check_allowed(ENROLLMENT_LIFECYCLE, allowed_events(state), refuse, request.event, ended)
    today = state.today(now)
    when = request.event_date() or today
    field = request.date_field
    refuse.not_future(when, today, field)
    if isinstance(request, RevalidationNoticeReceived | RevalidationSubmitted) and not revalidates(
        state.form
    ):
        raise refuse.data(f"{state.form} enrollments do not revalidate (42 CFR 424.515).", field)
    match request:
        case RevalidationNoticeReceived(due_date=due) if due is not None:
            if due != last_day_of_month(due):
                raise refuse.data(f"due_date {due} is not a month end.", "due_date")
        case RevalidationSubmitted(receipt_date=receipt):
            if state.revalidation_submitted_on is not None:
                raise refuse.data(
                    f"A revalidation was already received on {state.revalidation_submitted_on} "
                    "this cycle; record revalidation_approved.",
                    "receipt_date",
                )
            opens = state.revalidation_window_opens
            if opens is not None and receipt < opens and state.revalidation_notice_on is None:
                raise refuse.data(
                    f"receipt_date {receipt} is before the revalidation window opens on {opens} "
                    f"(7 months before the due date {state.revalidation_due_date}): the MAC "
                    "returns it as unsolicited (42 CFR 424.526).",
                    "receipt_date",
                )
        case RevalidationApproved(approval_date=approved, next_due_date=next_due):
            if state.revalidation_submitted_on is None:
                raise refuse.data(
                    "No revalidation was recorded this cycle: record revalidation_submitted first.",
                    "approval_date",
                )
            refuse.not_before(
                approved, state.revalidation_submitted_on, "the receipt date", "approval_date"
            )
            if next_due is not None and (
                next_due != last_day_of_month(next_due) or next_due <= approved
            ):
                raise refuse.data(
                    f"next_due_date {next_due} must be a later month end.", "next_due_date"
                )
        case ChangeReported():
            change = change_to_report(state, request)
            refuse.not_before(when, change.change_date, "the change", "reported_on")
        case RevalidationNotApproved(application_id=application_id, notice_date=notice):
            if state.revalidation_submitted_on is None:
                raise refuse.data(
                    "No revalidation filing is on record this cycle: there is nothing for this "
                    "outcome to undo.",
                    "application_id" if application_id else "notice_date",
                )
            on_record = state.revalidation_application_id
            if application_id is not None and on_record not in (None, application_id):
                raise refuse.data(
                    f"The revalidation on record is application {on_record}, not {application_id}.",
                    "application_id",
                )
            refuse.not_before(
                notice, state.revalidation_submitted_on, "the revalidation's receipt", "notice_date"
            )
        case ReactivationNotApproved(notice_date=notice):
            pending = state.deactivation.reactivation_receipt_date if state.deactivation else None
            refuse.after_recorded(
                notice, pending, "reactivation filing", "reactivation_submitted", "notice_date"
            )
        case StayImposed():
            _check_stay_letter(state, request, refuse)
        case StayLifted(lifted_on=lifted):
            stay = stay_to_lift(state, request)
            refuse.not_before(lifted, stay.letter_date or stay.missed_on, "the stay", "lifted_on")
        case RebuttalSubmitted(filed_on=filed):
            kind = (
                _K.STAY_REBUTTAL
                if state.status == EnrollmentStatus.STAYED
                else _K.DEACTIVATION_REBUTTAL
            )
            window = state.clocks_of(kind)
            if not window or filed > window[0].last_day:
                closed = "The rebuttal window is closed" + (
                    f" (last day {window[0].last_day})" if window else ""
                )
                if kind == _K.STAY_REBUTTAL:
                    raise refuse.data(
                        closed
                        + (
                            "; only a stay the MAC imposed (stay_imposed) can be rebutted."
                            if not window
                            else "."
                        ),
                        "filed_on",
                    )
                raise refuse.data(
                    closed + "; reactivate with a new application instead.", "filed_on"
                )
        case CapSubmitted(filed_on=filed):
            _check_appeal_window(state, refuse, _K.REVOCATION_CAP, filed, "corrective action plan")
        case ReconsiderationRequested(filed_on=filed):
            _check_appeal_window(
                state, refuse, _K.REVOCATION_RECONSIDERATION, filed, "reconsideration"
            )
        case CapDecided(decision_date=decided):
            cap = state.revocation.cap_filed_on if state.revocation else None
            refuse.after_recorded(
                decided, cap, "corrective action plan", "cap_submitted", "decision_date"
            )
        case ReconsiderationDecided(decision_date=decided):
            asked = state.revocation.reconsideration_filed_on if state.revocation else None
            refuse.after_recorded(
                decided,
                asked,
                "reconsideration request",
                "reconsideration_requested",
                "decision_date",
            )
        case EnrollmentIdAssigned(enrollment_id=pecos_id):
            if not state.provisional:
                raise refuse.data(
                    f"Enrollment {state.enrollment_id} already has its PECOS enrollment ID.",
                    "enrollment_id",
                )
            if pecos_id == state.enrollment_id:
                raise refuse.data("That is the provisional id, not a PECOS ID.", "enrollment_id")
        case ReactivationApproved(approval_date=approved):
            reactivation = (
                state.deactivation.reactivation_receipt_date if state.deactivation else None
            )
            if reactivation is None:
                raise refuse.data(
                    "No reactivation application was recorded: record reactivation_submitted "
                    "(its MAC receipt date) first.",
                    "approval_date",
                )
            refuse.not_before(approved, reactivation, "the receipt date", "approval_date")


def _check_stay_letter(state: EnrollmentState, letter: StayImposed, refuse: Refusals) -> None:
    stays_begin = first_version(RuleKey.STAY_IMPOSED)
    if letter.letter_date < stays_begin:
        raise refuse.data(
            f"letter_date {letter.letter_date} is before stays of enrollment existed "
            f"({stays_begin}, 42 CFR 424.541); record the deactivation instead.",
            "letter_date",
        )
    longest = period_last_day(letter.letter_date, rule(RuleKey.STAY_IMPOSED, letter.letter_date))
    if letter.ends_on is not None and not letter.letter_date <= letter.ends_on <= longest:
        raise refuse.data(
            f"ends_on {letter.ends_on} is outside the stay's limit: from the letter "
            f"({letter.letter_date}) to at most {longest}, 60 days (42 CFR 424.541).",
            "ends_on",
        )
    if letter.cause == "revalidation" and not revalidates(state.form):
        raise refuse.data(f"{state.form} enrollments do not revalidate (42 CFR 424.515).", "cause")
    if letter.change_id is not None and letter.change_id not in {
        c.change_id for c in state.changes if c.reported_on is None
    }:
        raise refuse.data(f"No unreported change {letter.change_id!r}.", "change_id")


def _check_appeal_window(
    state: EnrollmentState,
    refuse: Refusals,
    kind: EnrollmentClockKind,
    filed: date,
    what: str,
) -> None:
    r = state.revocation
    assert r is not None
    refuse.not_before(filed, r.notice_date, "the revocation notice", "filed_on")
    # An appeal filed in time but recorded after its window's timer fired is still on time.
    window = state.clocks_of(kind) or [
        c.clock for c in state.closed_clocks if c.clock.kind == kind and c.outcome == "expired"
    ]
    if not window:
        raise refuse.data(
            f"This revocation opened no {what} window"
            + (
                ": only a noncompliance revocation (42 CFR 424.535(a)(1)) can be corrected "
                "(42 CFR 405.809)."
                if kind == _K.REVOCATION_CAP
                else "."
            ),
            "filed_on",
        )
    last = window[-1].last_day
    if filed > last:
        raise refuse.data(
            f"filed_on {filed} is after the {what} window's last day {last}; the revocation "
            "stands.",
            "filed_on",
        )
