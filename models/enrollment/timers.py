"""The enrollment's clocks as data: for each clock kind, the timer event it fires when its last
day passes and that event's lifecycle rows. (Their rules depend on the form and the date, so
models/enrollment/cycle.py and consequences.py choose them when they open a clock.)"""

from __future__ import annotations

from dataclasses import dataclass

from models.calendar import EnrollmentClockKind
from models.enrollment.status import ENROLLED, REVOCATION
from models.enrollment.status import EnrollmentStatus as _N
from models.lifecycle import Row, row


@dataclass(frozen=True)
class Timer:
    event: str
    rows: tuple[Row[_N], ...]


_K = EnrollmentClockKind

# A missed deadline curable by an application: stayed where the stay rule was in force.
_MISSED: tuple[Row[_N], ...] = (
    row(_N.ACTIVE, to=_N.STAYED, guard="stay_in_force"),
    row(_N.ACTIVE, to=_N.DEACTIVATED, guard="stay_not_in_force"),
    row(_N.STAYED),
)

# A revalidation deadline: the missed date is the later of the due date and the notice + 60
# days (FCSO revalidation overview), so the earlier of the two changes nothing.
_MISSED_REVALIDATION: tuple[Row[_N], ...] = (
    row(_N.ACTIVE, guard="later_revalidation_deadline_open"),
    *_MISSED,
)

TIMERS: dict[EnrollmentClockKind, Timer] = {
    _K.REVALIDATION_TARGET: Timer("revalidation_target_passed", (row(*ENROLLED),)),
    _K.REVALIDATION_DUE: Timer("revalidation_due_date_passed", _MISSED_REVALIDATION),
    _K.REVALIDATION_NOTICE: Timer("revalidation_notice_window_expired", _MISSED_REVALIDATION),
    _K.CHANGE_REPORT: Timer("change_report_window_expired", _MISSED),
    _K.STAY: Timer("stay_expired", (row(_N.STAYED, to=_N.DEACTIVATED),)),
    _K.STAY_REBUTTAL: Timer("stay_rebuttal_window_expired", (row(_N.STAYED),)),
    _K.NON_BILLING: Timer("non_billing_period_expired", (row(*ENROLLED, to=_N.DEACTIVATED),)),
    _K.ORDERING_REFERRING: Timer(
        "ordering_referring_period_expired", (row(*ENROLLED, to=_N.DEACTIVATED),)
    ),
    _K.DEACTIVATION_REBUTTAL: Timer("rebuttal_window_expired", (row(_N.DEACTIVATED),)),
    _K.REVOCATION_EFFECTIVE: Timer(
        "revocation_took_effect", (row(_N.REVOCATION_PENDING, to=_N.REVOKED),)
    ),
    _K.REVOCATION_CAP: Timer("revocation_cap_window_expired", (row(*REVOCATION),)),
    _K.REVOCATION_RECONSIDERATION: Timer(
        "revocation_reconsideration_window_expired", (row(*REVOCATION),)
    ),
    _K.REENROLLMENT_BAR: Timer("reenrollment_bar_expired", (row(_N.REVOKED),)),
}

# The timer event each clock fires when its last day passes.
EXPIRY_EVENT: dict[EnrollmentClockKind, str] = {kind: t.event for kind, t in TIMERS.items()}

# Clocks of one revalidation cycle; every other clock outlives the cycle.
CYCLE_CLOCKS = (_K.REVALIDATION_DUE, _K.REVALIDATION_TARGET, _K.REVALIDATION_NOTICE)
