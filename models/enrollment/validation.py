"""What an enrollment refuses, and why: `check_event` is pure, so the workflow's update
validator runs it before anything enters history."""

from __future__ import annotations

from datetime import datetime

from models.calendar import EnrollmentClockKind, last_day_of_month
from models.enrollment.events import (
    ChangeReported,
    ReactivationApproved,
    RebuttalSubmitted,
    RevalidationApproved,
    RevalidationNoticeReceived,
    RevalidationSubmitted,
)
from models.enrollment.guards import allowed_events, change_to_report, refusals
from models.enrollment.lifecycle import ENROLLMENT_LIFECYCLE
from models.enrollment.state import EnrollmentState
from models.forms import revalidates
from models.records import OperatorEvent, check_allowed


def check_event(state: EnrollmentState, request: OperatorEvent, now: datetime) -> None:
    """Refuse (raise EventRefused) what the lifecycle or the data do not allow. Pure."""
    refuse = refusals(state)
    ended = " The enrollment has ended." if state.is_final else ""
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
        case RebuttalSubmitted(filed_on=filed):
            window = state.clocks_of(EnrollmentClockKind.DEACTIVATION_REBUTTAL)
            if not window or filed > window[0].last_day:
                raise refuse.data(
                    "The rebuttal window is closed"
                    + (f" (last day {window[0].last_day})" if window else "")
                    + "; reactivate with a new application instead.",
                    "filed_on",
                )
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
