"""What an application's decisions and its clocks do: approval (effective date, retrospective
billing), denial (CAP and reconsideration windows), and each clock's consequence when its last
day passes with nothing recorded."""

from __future__ import annotations

from datetime import date, datetime

from models.application.events import DenialGround
from models.application.guards import guard
from models.application.lifecycle import APPLICATION_LIFECYCLE
from models.application.state import ApplicationEventRecord, ApplicationState, Decision
from models.application.status import ApplicationStatus
from models.application.timers import TIMERS
from models.calendar import (
    Clock,
    ClockKind,
    effective_date,
    local_date,
    presumed_receipt,
    retrospective_billing_start,
)
from models.clocks import ClockStep, expiry_notice, expiry_reason, fire_due
from models.forms import Purpose, retrospective_billing_scope
from models.identifiers import provisional_enrollment_id
from models.notices import Notice
from models.records import Outcome

_S = ApplicationStatus


def open_timer(
    step: ClockStep,
    kind: ClockKind,
    started_on: date,
    started_by: str,
    consequence: str,
    period_start: date | None = None,
) -> Clock:
    """Open one of the application's clocks under the rule its timer declares."""
    return step.open(
        kind, TIMERS[kind].rule, started_on, started_by, consequence, period_start=period_start
    )


def approve(
    step: ClockStep, approval_date: date, ptan: str, enrollment_id: str | None, given: date | None
) -> None:
    state: ApplicationState = step.state
    state.ptan = ptan
    state.enrollment_id = enrollment_id or state.details.enrollment_id
    if state.enrollment_id is None and state.purpose == Purpose.INITIAL:
        # An approved initial application always yields an enrollment record: under a
        # provisional id until its PECOS enrollment ID is recorded on the enrollment.
        state.enrollment_id = provisional_enrollment_id(state.organization_id, state.application_id)
        state.enrollment_id_provisional = True
        step.notes.append(
            f"No PECOS enrollment ID in the approval: the enrollment is tracked under the "
            f"provisional id {state.enrollment_id} until the ID is recorded on it "
            "(enrollment_id_assigned)."
        )
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
    covered, why = retrospective_billing_scope(
        state.form,
        idtf=state.details.idtf,
        asc_or_portable_xray=state.details.asc_or_portable_xray,
    )
    if covered:
        state.retrospective_billing_from = retrospective_billing_start(
            state.effective_date, declared_disaster=state.details.declared_disaster
        )
        step.notes.append(
            f"Services may be billed from {state.retrospective_billing_from} (42 CFR 424.521(a))."
        )
    else:
        state.retrospective_billing_from = state.effective_date
        step.notes.append(f"No retrospective billing before {state.effective_date}: {why}.")
    step.close(None, "superseded")


def deny(
    step: ClockStep,
    notice: date,
    grounds: str,
    received: date | None,
    *,
    by_engine: bool,
    ground: DenialGround | None = None,
) -> None:
    state: ApplicationState = step.state
    state.decision = Decision(
        kind="denied",
        on=notice,
        grounds=grounds,
        by_engine=by_engine,
        ground=ground.value if ground else None,
    )
    step.close(None, "superseded")
    # A corrective action plan answers one notice: one filed against the denial this notice
    # supersedes (the engine's inferred one) is not pending on this one (42 CFR 405.809).
    state.cap_filed_on = None
    state.cap_outcome = None
    receipt = received or presumed_receipt(notice)
    # 42 CFR 405.809 / 498.22: CAP and reconsideration windows run from receipt of the notice.
    # A CAP answers only a noncompliance denial (424.530(a)(1)); a ground not stated may be one.
    if ground in (None, DenialGround.NONCOMPLIANCE):
        open_timer(
            step,
            ClockKind.CORRECTIVE_ACTION_PLAN,
            notice,
            "the denial notice",
            "a corrective action plan can no longer be submitted",
            period_start=receipt,
        )
    else:
        step.notes.append(
            f"No corrective action plan window: a {ground.value.replace('_', ' ')} denial "
            "cannot be corrected (only noncompliance, 42 CFR 424.530(a)(1), 405.809)."
        )
    open_timer(
        step,
        ClockKind.RECONSIDERATION_REQUEST,
        notice,
        "the denial notice",
        "the denial becomes final (no reconsideration)",
        period_start=receipt,
    )


def _prefix(state: ApplicationState) -> str:
    return f"{state.form} {state.application_id}"


def fire_due_clocks(state: ApplicationState, now: datetime) -> Outcome[ApplicationState]:
    """Send due reminders and apply the consequence of every clock whose time has come, oldest
    first. Idempotent: a second call at the same instant changes nothing."""
    return fire_due(state, now, subject_prefix=_prefix, expire=_expire)


def _expire(
    state: ApplicationState, clock: Clock, now: datetime
) -> tuple[ApplicationState, Notice]:
    event = TIMERS[ClockKind(clock.kind)].event
    # The snapshot leaves out the event log (a withdrawal takes the current one) and any older
    # snapshot: copying them on every expiry is what made long runs slow.
    events, older = state.events, state.before_consequence
    state.events, state.before_consequence = [], None
    prior = state.model_copy(deep=True)
    state.events, state.before_consequence = events, older
    prior.consequence_clock = None
    fired_on = local_date(clock.fires_at, state.time_zone)
    step = ClockStep(state, len(state.events) + 1, fired_on)
    before = state.status
    target = APPLICATION_LIFECYCLE.resolve(state.status, event, guard(state, None))
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
        deny(step, fired_on, clock.consequence, None, by_engine=True)
    state.status = target
    # When the grace ends the record closes, but the consequence stays withdrawable by an
    # on-time event recorded later, through an admin's audited correction that reopens it.
    if (
        clock.kind != ClockKind.LATE_RECORDING
        and state.late_recording_grace
        and (target != before or clock.kind == ClockKind.RECONSIDERATION_REQUEST)
    ):
        # Keep what the engine changed withdrawable by an on-time event recorded late.
        state.before_consequence = prior
        state.consequence_clock = clock
        step.close([ClockKind.LATE_RECORDING], "superseded")
        open_timer(
            step,
            ClockKind.LATE_RECORDING,
            fired_on,
            f"the engine's {event}",
            "the record closes; an on-time event recorded later needs an admin's correction",
        )
    step.record(
        ApplicationEventRecord,
        event,
        "engine",
        "system",
        expiry_reason(clock),
        fired_on,
        now,
        before,
    )
    subject = f"{_prefix(state)}: {event} -> {state.status}"
    return state, expiry_notice(clock, subject, step.notes, state.status.value)
