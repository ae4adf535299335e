"""Revocation (42 CFR 424.535): its effective date, the corrective action plan and
reconsideration windows (405.809, 498.22, 405.803), the re-enrollment bar from the effective date
(424.535(c)), and reinstatement when the MAC reverses it.

Interpretation (docs/regulation.md states it): a bar of N years from the revocation's effective
date E bars applications received before E + N years (the last barred day is the day before).
"""

from __future__ import annotations

from datetime import date

from models.calendar import EnrollmentClockKind, add_days, add_years, presumed_receipt
from models.clocks import ClockStep
from models.enrollment.cycle import open_cycle_clocks, open_inactivity_clock
from models.enrollment.events import CORRECTABLE_REVOCATIONS, Revoked
from models.enrollment.guards import revocation_effective_date
from models.enrollment.state import EnrollmentState, Revocation
from models.enrollment.status import EnrollmentStatus
from models.rules import RuleKey, rule

_K = EnrollmentClockKind


def revoke(step: ClockStep, revoked: Revoked, prior: EnrollmentStatus) -> None:
    """A revocation notice: effective 30 days on (or on the date the notice gives), with the
    corrective action plan window where the ground allows one (405.809), the reconsideration
    window (498.22, 405.803), and the re-enrollment bar from the effective date (424.535(c))."""
    state: EnrollmentState = step.state
    effective_rule = rule(RuleKey.REVOCATION_EFFECTIVE, revoked.notice_date)
    effective = revocation_effective_date(revoked)
    years = revoked.total_bar_years
    barred_through = add_days(add_years(effective, years), -1) if years else None
    step.close(None, "superseded")
    for s in state.open_stays():
        s.ended_on, s.outcome = step.today, "superseded"
    state.revocation = Revocation(
        notice_date=revoked.notice_date,
        effective_date=effective,
        bar_years=years,
        repeat=revoked.repeat,
        grounds=revoked.grounds,
        barred_through=barred_through,
        ground=revoked.ground,
        identity_extension_years=revoked.identity_extension_years,
        prior_status=prior,
    )
    step.notes.append(
        f"Revoked effective {effective}"
        + (
            ""
            if revoked.effective_date
            else f" ({effective_rule.describe_period()} after the notice, 42 CFR 424.535(g))"
        )
        + "."
    )
    if not state.revocation_appeals:
        _bar(step, revoked, effective, barred_through)
        return
    if effective > step.today:
        step.notes.append(
            f"Revocation pending, effective {effective}: claims for services until then may "
            "still be billed."
        )
        step.open(
            _K.REVOCATION_EFFECTIVE,
            RuleKey.REVOCATION_EFFECTIVE,
            revoked.notice_date,
            "the revocation notice",
            "the revocation takes effect: no payment for services from that day",
            last_day=add_days(effective, -1),
            period=f"until the day before the effective date {effective}",
            reminder_offsets_days=(7, 1),
        )
    receipt = presumed_receipt(revoked.notice_date)
    if revoked.ground in CORRECTABLE_REVOCATIONS:
        step.open(
            _K.REVOCATION_CAP,
            RuleKey.CORRECTIVE_ACTION_PLAN,
            revoked.notice_date,
            "the revocation notice",
            "a corrective action plan can no longer be submitted",
            period_start=receipt,
        )
    else:
        step.notes.append(
            "No corrective action plan window: only a noncompliance revocation "
            "(42 CFR 424.535(a)(1)) can be corrected (42 CFR 405.809)"
            + ("; give the ground to open it if it is one." if revoked.ground is None else ".")
        )
    step.open(
        _K.REVOCATION_RECONSIDERATION,
        RuleKey.RECONSIDERATION_REQUEST,
        revoked.notice_date,
        "the revocation notice",
        "the revocation becomes final (no reconsideration)",
        period_start=receipt,
    )
    _bar(step, revoked, effective, barred_through)


def _bar(step: ClockStep, revoked: Revoked, effective: date, barred_through: date | None) -> None:
    """The re-enrollment bar from the revocation's effective date (42 CFR 424.535(c))."""
    if barred_through is None:
        step.notes.append(
            "No re-enrollment bar: a revocation for not answering a revalidation or "
            "information request carries none (42 CFR 424.535(c)(1)(ii))."
        )
        return
    extension = (
        f" plus {revoked.identity_extension_years} for re-enrolling under another identity"
        if revoked.identity_extension_years
        else ""
    )
    step.open(
        _K.REENROLLMENT_BAR,
        RuleKey.REENROLLMENT_BAR_REPEAT if revoked.repeat else RuleKey.REENROLLMENT_BAR,
        effective,
        "the revocation's effective date",
        "the bar has ended: a new initial application (full screening) may be filed",
        last_day=barred_through,
        period=f"{revoked.bar_years or 0} year{'s' if revoked.bar_years != 1 else ''}"
        f"{extension} (set in the revocation notice)",
        reminder_days=(),
    )


def reinstate(step: ClockStep, how: str) -> None:
    """The MAC reversed the revocation (CAP accepted, reconsideration reversed): the enrollment
    is reinstated as it was, its revalidation and non-billing clocks running again."""
    state: EnrollmentState = step.state
    r = state.revocation
    assert r is not None
    r.reversed_on = step.today
    step.close(None, "superseded")
    step.notes.append(f"Revocation reversed ({how}): the enrollment is reinstated.")
    if state.revalidation_due_date is not None:
        open_cycle_clocks(step, step.today, from_list=False, started_by="the reinstatement")
    open_inactivity_clock(
        step, state.last_claim_date or state.current_effective_date, "the latest claim"
    )
