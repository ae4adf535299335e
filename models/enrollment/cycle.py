"""An enrollment's cycles and standing clocks: revalidation due dates and the internal target
(42 CFR 424.515, 424.57(e)), the 12-month non-billing clock (424.540(a)(1), 424.547), the
rebuttal window, a new enrollment, and what one run hands the next when it continues as new.

Interpretations (each said again where it is coded):
- The month of the effective date counts as billed: the first month without a claim is the next.
- The 855O ordering/referring clock (42 CFR 424.547) counts no month before 2026-01-01.
"""

from __future__ import annotations

from datetime import date, datetime

from models.calendar import (
    Clock,
    EnrollmentClockKind,
    add_days,
    add_months,
    consecutive_months_last_day,
    first_month_without_claim,
    local_date,
    revalidation_due_date,
)
from models.clocks import ClockStep
from models.enrollment.guards import first_version
from models.enrollment.state import (
    MAX_CYCLE_SUMMARIES,
    CycleCarryOver,
    CycleSummary,
    EnrollmentEventRecord,
    EnrollmentStart,
    EnrollmentState,
)
from models.enrollment.status import EnrollmentStatus
from models.enrollment.timers import CYCLE_CLOCKS
from models.forms import Form, is_dmepos, revalidates
from models.rules import RuleKey, rule

_K = EnrollmentClockKind
_S = EnrollmentStatus


def open_cycle_clocks(
    step: ClockStep, started_on: date, from_list: bool, *, started_by: str | None = None
) -> None:
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
        started_by
        or ("the CMS Revalidation Due Date List" if from_list else "the revalidation cycle"),
        "the enrollment is stayed (up to 30 days), then deactivated retroactively to the due date",
        last_day=due,
        period=("as posted" if from_list else rule(key, started_on).describe_period())
        + ", ending on a month end",
        reminder_offsets_days=tuple(offsets),
    )
    target_rule = rule(RuleKey.REVALIDATION_INTERNAL_TARGET, started_on)
    target_day = add_days(due, -(target_rule.days or 0))
    if target_day > max(started_on, step.today):
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


def open_inactivity_clock(step: ClockStep, last_activity: date, started_by: str) -> Clock:
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
        first = max(first, first_version(key))
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


def open_notice_clock(step: ClockStep, letter: date) -> None:
    """The 60 days a revalidation letter gives (42 CFR 424.515(a)(2)); the missed date is the
    later of its last day and the due date (models/enrollment/guards.py)."""
    step.open(
        _K.REVALIDATION_NOTICE,
        RuleKey.REVALIDATION_NOTICE_RESPONSE,
        letter,
        "the MAC's revalidation letter",
        "if the due date has passed too, the enrollment is stayed (up to 30 days), then "
        "deactivated retroactively to the due date",
    )


def reopen_revalidation(step: ClockStep, why: str) -> None:
    """A filing that was not approved does not count: the revalidation deadlines it closed run
    again as if it had never been made. One whose day has passed applies its consequence now
    (the stay, then the deactivation retroactive to the due date)."""
    state: EnrollmentState = step.state
    step.close(CYCLE_CLOCKS, "superseded")
    open_cycle_clocks(step, state.cycle_started_on, from_list=False, started_by=why)
    if state.revalidation_notice_on is not None:
        open_notice_clock(step, state.revalidation_notice_on)


def open_rebuttal(step: ClockStep, letter: date) -> None:
    step.open(
        _K.DEACTIVATION_REBUTTAL,
        RuleKey.DEACTIVATION_REBUTTAL,
        letter,
        "the deactivation letter",
        "the deactivation can no longer be rebutted (reactivate with an application)",
    )


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


def start_next_cycle(step: ClockStep, approved_on: date, next_due: date) -> None:
    state: EnrollmentState = step.state
    state.past_cycles = [*state.past_cycles, _summary(state, approved_on)][-MAX_CYCLE_SUMMARIES:]
    state.cycle += 1
    state.cycle_started_on = approved_on
    state.revalidation_due_date = next_due
    state.revalidation_notice_on = None
    state.revalidation_submitted_on = None
    state.revalidation_application_id = None
    state.applications_not_approved = []
    state.stays = [s for s in state.stays if s.ended_on is None]
    state.cycle_completed = True
    step.close(CYCLE_CLOCKS, "superseded")
    open_cycle_clocks(step, approved_on, from_list=False)
    step.notes.append(f"Cycle {state.cycle} begins: next revalidation due {next_due}.")


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
        legal_name=start.legal_name,
        provider_type=start.provider_type,
        state=start.state,
        time_zone=start.time_zone,
        source=start.source,
        replaces=start.replaces,
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
                # through cycles (CMS 'Revalidations' page), so the current one is the first
                # not yet past.
                while due < today:
                    due = revalidation_due_date(due, dmepos=dmepos)
            state.revalidation_due_date = due
            open_cycle_clocks(
                step, start.effective_date, from_list=start.revalidation_due_date is not None
            )
        else:
            step.notes.append(
                f"{start.form} enrollments do not revalidate (Noridian JE revalidation page)."
            )
        # The effective month counts as billed (interpretation; see the module docstring). An
        # import knows no claim history: its clock runs from the import date until a claim.
        if start.source == "import":
            open_inactivity_clock(step, max(start.effective_date, today), "the import")
        else:
            open_inactivity_clock(step, start.effective_date, "the effective date")
    elif start.replaces is not None:
        step.notes.append(
            f"Carries on provisional enrollment {start.replaces}: its PECOS enrollment ID "
            f"{start.enrollment_id} was recorded."
        )
    else:
        step.notes.append(
            f"Cycle {state.cycle} continues as new (due {state.revalidation_due_date})."
        )
    state.status = to_status
    step.record(EnrollmentEventRecord, event, start.actor, None, start.reason, today, now, before)
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
        revalidation_application_id=state.revalidation_application_id,
        applications_not_approved=list(state.applications_not_approved),
        last_claim_date=state.last_claim_date,
        clocks=list(state.clocks),
        reminders_sent=[k for k in state.reminders_sent if k.split(":", 1)[0] in open_ids],
        # A new cycle starts with the changes still to report; a run that ends mid-cycle (its
        # history bound) keeps the cycle's reported ones too, as it keeps its stays.
        changes=(
            [c for c in state.changes if c.reported_on is None]
            if state.cycle_completed
            else list(state.changes)
        ),
        # Every stay of the cycle: a run may end mid-cycle (its history bound), and a stay that
        # ended this cycle is still the record's (start_next_cycle keeps only open ones).
        stays=list(state.stays),
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
        legal_name=state.legal_name,
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


def replacement_start(
    state: EnrollmentState, pecos_id: str, actor: str, reason: str
) -> EnrollmentStart:
    """The input of the workflow that carries on a provisional enrollment under its PECOS
    enrollment ID: everything the next run of a cycle would carry, under the new id."""
    start = next_cycle_state(state)
    return start.model_copy(
        update={
            "enrollment_id": pecos_id,
            "replaces": state.enrollment_id,
            "actor": actor,
            "reason": reason,
        }
    )
