"""What an application refuses, and why: `check_event` is pure and side-effect free, so the
workflow's update validator runs it before anything enters history."""

from __future__ import annotations

from datetime import date, datetime

from models.application.backdating import state_for_event
from models.application.details import ApplicationDetails
from models.application.events import (
    ApplicationDetailsChange,
    Approved,
    CapDecided,
    CapSubmitted,
    Denied,
    DevelopmentResponded,
    FeeHardshipApproved,
    FeeHardshipDenied,
    FeeHardshipRequested,
    FingerprintsReceived,
    ReconsiderationDecided,
    ReconsiderationRequested,
    Submit,
    UpdateDraft,
)
from models.application.guards import allowed_events, refusals
from models.application.lifecycle import APPLICATION_LIFECYCLE
from models.application.state import ApplicationState
from models.calendar import ClockKind
from models.checks import blocking, presubmission_findings
from models.clocks import open_clock_of
from models.data_checks import blocking_external
from models.records import OperatorEvent, Refusals, check_allowed, check_bookkeeping
from models.signatures import signer_problem

_FLAGS = (
    "asc_or_portable_xray",
    "physician_or_npp_organization",
    "adds_practice_location",
    "declared_disaster",
    "idtf",
)


def merged_details(
    details: ApplicationDetails, changes: ApplicationDetailsChange
) -> ApplicationDetails:
    merged = details.model_dump()
    merged.update(changes.model_dump(exclude_unset=True))
    for flag in _FLAGS:
        if merged.get(flag) is None:
            merged[flag] = False
    return ApplicationDetails.model_validate(merged)


def check_event(state: ApplicationState, request: OperatorEvent, now: datetime) -> None:
    """Refuse (raise EventRefused) anything the lifecycle or the data do not allow.
    Pure and side-effect free: safe in a Temporal update validator."""
    if request.bookkeeping:
        check_bookkeeping(APPLICATION_LIFECYCLE, state.status, refusals(state), request.event, "")
        return
    state, _, _ = state_for_event(state, request, now)
    refuse = refusals(state)
    allowed = allowed_events(state)
    closed = " The application is closed." if state.is_final and not allowed else ""
    check_allowed(APPLICATION_LIFECYCLE, allowed, refuse, request.event, closed)
    today = state.today(now)
    when = request.event_date() or today
    field = request.date_field
    refuse.not_future(when, today, field)
    # Nothing after the submission can predate it. (A submission may predate the draft: teams
    # record applications already filed in PECOS.)
    if field and not isinstance(request, Submit):
        refuse.not_before(when, state.submitted_on, "the submission date", field)

    match request:
        case Submit(signed_on=signed_on, signers=signers):
            if signers is not None:
                problem = signer_problem(state.form, state.purpose, list(signers))
                if problem is not None:
                    raise refuse.data(problem, "signers")
            if signed_on is not None:
                if signed_on > today:
                    raise refuse.data("signed_on is in the future.", "signed_on")
                refuse.not_before(signed_on, when, "the submission date", "signed_on")
            findings = presubmission_findings(state.facts(), when)
            # The outward checks' blocking findings too: an exclusion, or a suspected match
            # without a disposition (docs/regulation.md, "Data checks").
            errors = blocking(findings) + blocking_external(state.findings)
            if errors:
                raise refuse.data(
                    "The application cannot be submitted yet: "
                    + " ".join(f"[{f.field or f.code}] {f.message}" for f in errors),
                    errors[0].field,
                    errors,
                )
        case UpdateDraft(changes=changes):
            try:
                merged_details(state.details, changes)
            except ValueError as exc:
                raise refuse.data(f"The change is not valid: {exc}", "changes") from None
        case DevelopmentResponded():
            latest = state.development_requests[-1] if state.development_requests else None
            refuse.not_before(
                when,
                latest.request_date if latest else None,
                "the development request",
                "responded_on",
            )
        case FingerprintsReceived():
            refuse.not_before(
                when, state.fingerprints_requested_on, "the fingerprint letter", "received_on"
            )
        case Approved() | Denied():
            refuse.not_before(when, state.receipt_date, "the MAC receipt date", field or "date")
            if isinstance(request, Denied) and request.received_on is not None:
                if request.received_on > today:
                    raise refuse.data(
                        f"received_on {request.received_on} is in the future; record the day "
                        "the notice actually arrived, or leave it out (5 days after the notice "
                        "date is presumed).",
                        "received_on",
                    )
                refuse.not_before(
                    request.received_on, request.notice_date, "the notice date", "received_on"
                )
        case FeeHardshipRequested():
            if state.fee_paid_on is not None:
                raise refuse.data(
                    f"The fee was paid on {state.fee_paid_on}: no hardship request is needed.",
                    "requested_on",
                )
            if state.fee_hardship_requested_on is not None and state.fee_hardship_outcome is None:
                raise refuse.data(
                    f"A hardship request of {state.fee_hardship_requested_on} is waiting for "
                    "CMS's decision: record fee_hardship_decided.",
                    "requested_on",
                )
        case FeeHardshipApproved(decision_date=decided) | FeeHardshipDenied(decision_date=decided):
            if state.fee_hardship_requested_on is None or state.fee_hardship_outcome is not None:
                raise refuse.data(
                    "No hardship request is waiting for a decision: record "
                    "fee_hardship_requested first.",
                    "decision_date",
                )
            refuse.not_before(
                decided, state.fee_hardship_requested_on, "the hardship request", "decision_date"
            )
        case ReconsiderationRequested():
            _window_open(state, ClockKind.RECONSIDERATION_REQUEST, when, "reconsideration", refuse)
            refuse.not_before(
                when,
                state.decision.on if state.decision else None,
                "the denial notice",
                "filed_on",
            )
        case ReconsiderationDecided():
            refuse.not_before(
                when,
                state.reconsideration_filed_on,
                "the reconsideration request",
                "decision_date",
            )
        case CapSubmitted():
            _window_open(
                state, ClockKind.CORRECTIVE_ACTION_PLAN, when, "corrective action plan", refuse
            )
            refuse.not_before(
                when, state.decision.on if state.decision else None, "the denial notice", "filed_on"
            )
        case CapDecided():
            refuse.after_recorded(
                when, state.cap_filed_on, "corrective action plan", "cap_submitted", "decision_date"
            )


def _window_open(
    state: ApplicationState, kind: ClockKind, when: date, what: str, refuse: Refusals
) -> None:
    """A denial's appeal window (CAP, reconsideration) is open on `when`, the date filed."""
    window = open_clock_of(state.clocks, kind) or next(
        (c.clock for c in reversed(state.closed_clocks) if c.clock.kind == kind), None
    )
    if window is None and kind == ClockKind.CORRECTIVE_ACTION_PLAN:
        ground = state.decision.ground if state.decision else None
        raise refuse.data(
            f"This denial opened no {what} window: a "
            f"{(ground or 'non-noncompliance').replace('_', ' ')} denial cannot be corrected "
            "(only noncompliance, 42 CFR 424.530(a)(1), 405.809). Request reconsideration.",
            "filed_on",
        )
    filed = (
        state.cap_filed_on
        if kind == ClockKind.CORRECTIVE_ACTION_PLAN
        else state.reconsideration_filed_on
    )
    if window is not None and window not in state.clocks and filed is not None:
        # Used, not missed: the window closed when the one the denial allows was filed.
        raise refuse.data(
            f"A {what} for this denial was already filed on {filed}; a denial allows one.",
            "filed_on",
        )
    if window is None or when > window.last_day or window not in state.clocks:
        raise refuse.data(
            f"The {what} window for this denial has closed"
            + (f" (last day {window.last_day})" if window else "")
            + "; the denial stands. A new initial application is the way forward.",
            "filed_on",
        )
