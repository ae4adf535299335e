"""The billing status of one enrollment (ENRLMT_ID) and the guards its table names."""

from __future__ import annotations

from enum import StrEnum


class EnrollmentStatus(StrEnum):
    """Billing status of one enrollment. The revalidation window, a pending revalidation and an
    open reporting window are clocks and dates, not states: the provider is enrolled and paid
    throughout, and they overlap freely (a practice-location change may be pending inside the
    revalidation window), so making them states would multiply the table."""

    ACTIVE = "active"
    STAYED = "stayed"  # 42 CFR 424.541: still enrolled, claims for dates in the stay reject
    DEACTIVATED = "deactivated"  # 424.540 / 424.547: not paid until reactivated
    # 424.535(g): revoked, effective later; the provider may bill until the effective date.
    REVOCATION_PENDING = "revocation_pending"
    REVOKED = "revoked"  # 424.535: re-enrollment bar; CAP and reconsideration may reverse it
    VOLUNTARILY_TERMINATED = "voluntarily_terminated"
    # Tracked under a provisional id until PECOS showed its enrollment ID: the record goes on
    # under that ID (another workflow) and this one ends.
    REPLACED = "replaced"


_N = EnrollmentStatus

# Terminal in the table (a revocation may still be reversed on appeal, as a denial may).
FINAL_STATUSES = frozenset({_N.REVOKED, _N.VOLUNTARILY_TERMINATED, _N.REPLACED})
ENROLLED = (_N.ACTIVE, _N.STAYED)
NOT_ENDED = (_N.ACTIVE, _N.STAYED, _N.DEACTIVATED)
# A revocation, before or after its effective date: CAP and reconsideration may reverse it.
REVOCATION = (_N.REVOCATION_PENDING, _N.REVOKED)

# Each guard in words; the predicates are in models/enrollment/guards.py.
GUARDS = {
    "stay_in_force": "the deadline was missed on or after 2024-01-01, when the stay of "
    "enrollment (42 CFR 424.541) took effect: the enrollment is stayed",
    "stay_not_in_force": "the deadline was missed before 2024-01-01: no stay existed, "
    "the enrollment is deactivated at once",
    "later_revalidation_deadline_open": "the other revalidation deadline (due date, or the "
    "notice + 60 days) ends later: the missed date is the later one, nothing happens yet",
    "last_stay_cured": "this cures the only open stay: billing resumes",
    "other_stay_remains": "another stay is still open: the enrollment stays stayed",
    "revocation_takes_effect_later": "the revocation's effective date is after today: the "
    "provider may bill until then (42 CFR 424.535(g))",
    "revocation_in_effect": "the revocation's effective date is today or earlier",
    "revocation_reversed": "the MAC accepted the corrective action plan, or the "
    "reconsideration reversed the revocation: the enrollment is reinstated",
    "revocation_stands": "the corrective action plan was not accepted, or the "
    "reconsideration upheld the revocation",
}
