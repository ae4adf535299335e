"""What happens to an enrollment when a deadline passes or the MAC acts: stays (42 CFR
424.541), deactivation and reactivation with the unbillable gap (424.540), and each clock's
consequence when its last day passes (revocation itself is revocation.py).

Interpretations (each said again where it is coded; docs/regulation.md states them):
- A revalidation is missed on the later of its due date and the notice + 60 days; the stay
  counts from that date and an uncured stay deactivates retroactively to the due date (FCSO
  revalidation overview). An unreported change deactivates when its stay ends (no source says
  retroactive).
- Stays exist from 2024-01-01 (42 CFR 424.541); a deadline missed earlier deactivates at once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from models.calendar import (
    Clock,
    EnrollmentClockKind,
    add_days,
    local_date,
    revalidation_due_date,
)
from models.clocks import ClockOutcome, ClockStep, expiry_notice, expiry_reason, fire_due
from models.enrollment.cycle import (
    open_cycle_clocks,
    open_inactivity_clock,
    open_rebuttal,
    start_next_cycle,
)
from models.enrollment.events import (
    DeactivationReason,
    StayImposed,
)
from models.enrollment.guards import (
    guard,
    later_revalidation_deadline,
)
from models.enrollment.lifecycle import ENROLLMENT_LIFECYCLE
from models.enrollment.state import (
    BillingGap,
    Deactivation,
    EnrollmentEventRecord,
    EnrollmentState,
    StayRecord,
)
from models.enrollment.status import EnrollmentStatus
from models.enrollment.timers import CYCLE_CLOCKS, TIMERS
from models.forms import is_dmepos
from models.notices import Notice
from models.records import Outcome
from models.rules import RuleKey

_S = EnrollmentStatus
_K = EnrollmentClockKind


def prefix(state: EnrollmentState) -> str:
    return f"{state.form} enrollment {state.enrollment_id}"


def end_stays(
    step: ClockStep,
    clock_ids: set[str],
    outcome: Literal["cured", "deactivated", "superseded", "lifted"],
    outcome_clock: ClockOutcome,
) -> None:
    state: EnrollmentState = step.state
    for s in state.stays:
        if s.clock_id in clock_ids and s.ended_on is None:
            s.ended_on = step.today
            s.outcome = outcome
    step.close(None, outcome_clock, clock_ids=sorted(clock_ids))
    if not any(s.imposed_by == "mac" for s in state.open_stays()):
        # No stay of the MAC's is left to rebut.
        step.close([_K.STAY_REBUTTAL], "superseded")


def deactivate(
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
    open_rebuttal(step, letter or step.today)


def missed(step: ClockStep, clock: Clock, target: EnrollmentStatus) -> None:
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
        # FCSO: the deactivation is retroactive to the date of non-compliance, the revalidation
        # due date, even when the notice's 60 days ended later and set the missed date.
        retro = state.revalidation_due_date or clock.last_day
        step.close(CYCLE_CLOCKS, "superseded")
    if target == _S.DEACTIVATED:
        deactivate(step, reason, retro or add_days(clock.last_day, 1), letter=None, by_engine=True)
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


def reactivate(step: ClockStep, approved: date, next_due: date | None) -> None:
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
            start_next_cycle(step, approved, due)
        else:
            open_cycle_clocks(step, approved, from_list=False)
    state.last_claim_date = None
    open_inactivity_clock(step, receipt, "the reactivation effective date")


def impose_stay(step: ClockStep, letter: StayImposed) -> None:
    """The MAC's stay letter: at most 60 days from the letter (424.541); it replaces the
    engine's inferred stay for the same cause, whose clock it supersedes."""
    state: EnrollmentState = step.state
    cause = letter.cause
    change_id = letter.change_id
    if cause == "unreported_change" and change_id is None:
        unreported = [c for c in state.changes if c.reported_on is None]
        change_id = unreported[0].change_id if len(unreported) == 1 else None
    replaced = [
        s
        for s in state.open_stays()
        if s.imposed_by == "engine" and s.cause == cause and s.change_id == change_id
    ]
    for s in replaced:
        s.ended_on, s.outcome = step.today, "superseded"
    step.close(None, "superseded", clock_ids=[s.clock_id for s in replaced])
    if cause == "revalidation":
        step.close(CYCLE_CLOCKS, "superseded")
    retro = state.revalidation_due_date if cause == "revalidation" else None
    stay = step.open(
        _K.STAY,
        RuleKey.STAY_IMPOSED,
        letter.letter_date,
        "the MAC's stay letter",
        "the stay ends (at most 60 days, 42 CFR 424.541) and the enrollment is deactivated"
        + (f", effective retroactively to {retro}" if retro else ""),
        last_day=letter.ends_on,
        period="as the letter sets it" if letter.ends_on else None,
    )
    state.stays.append(
        StayRecord(
            clock_id=stay.clock_id,
            cause=cause,
            missed_on=letter.letter_date,
            last_day=stay.last_day,
            deactivation_effective=retro,
            change_id=change_id,
            imposed_by="mac",
            letter_date=letter.letter_date,
            grounds=letter.grounds,
        )
    )
    if change_id is not None:
        for c in state.changes:
            if c.change_id == change_id:
                c.stay_clock_id = stay.clock_id
    step.open(
        _K.STAY_REBUTTAL,
        RuleKey.STAY_REBUTTAL,
        letter.letter_date,
        "the MAC's stay letter",
        "the stay can no longer be rebutted",
    )
    step.notes.append(
        f"Stayed by the MAC through {stay.last_day}: claims for dates of service in the stay "
        "are rejected (payable once compliance is restored) (42 CFR 424.541)."
    )


def fire_due_clocks(state: EnrollmentState, now: datetime) -> Outcome[EnrollmentState]:
    """Send due reminders (each once) and apply every consequence whose time has come, oldest
    first. Idempotent at a given instant."""
    return fire_due(state, now, subject_prefix=prefix, expire=_expire)


def _expire(state: EnrollmentState, clock: Clock, now: datetime) -> tuple[EnrollmentState, Notice]:
    kind = EnrollmentClockKind(clock.kind)
    event = TIMERS[kind].event
    fired_on = local_date(clock.fires_at, state.time_zone)
    state.seq += 1
    step = ClockStep(state, state.seq, fired_on)
    before = state.status
    target = ENROLLMENT_LIFECYCLE.resolve(state.status, event, guard(state, None, clock, fired_on))
    later = later_revalidation_deadline(state, clock)
    step.close(None, "expired", clock_ids=[clock.clock_id])
    if target is None:
        step.notes.append(f"{clock.rule.name} ended while '{state.status}'; nothing to apply.")
        target = state.status
    elif later is not None:
        step.notes.append(
            f"{clock.rule.name} ended on {clock.last_day}; the revalidation is missed only "
            f"after {later.last_day} ({later.rule.name.lower()}), the later of the two "
            "(FCSO revalidation overview)."
        )
    else:
        step.notes.append(
            f"{clock.rule.name} ended on {clock.last_day} with nothing recorded: "
            f"{clock.consequence}."
        )
        if kind in (_K.REVALIDATION_DUE, _K.REVALIDATION_NOTICE, _K.CHANGE_REPORT):
            missed(step, clock, target)
        elif kind == _K.STAY:
            stay = next(s for s in state.stays if s.clock_id == clock.clock_id)
            reason: DeactivationReason = (
                "missed_revalidation" if stay.cause == "revalidation" else "unreported_change"
            )
            deactivate(
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
            deactivate(step, why, fired_on, letter=None, by_engine=True)
        elif kind == _K.REENROLLMENT_BAR and state.revocation is not None:
            state.revocation.bar_expired = True
        elif kind == _K.STAY_REBUTTAL:
            step.notes.append("The stay stands unless the MAC lifts it.")
    state.status = target
    step.record(
        EnrollmentEventRecord,
        event,
        "engine",
        "system",
        expiry_reason(clock),
        fired_on,
        now,
        before,
    )
    subject = f"{prefix(state)}: {event} -> {state.status}"
    return state, expiry_notice(clock, subject, step.notes, state.status.value)
