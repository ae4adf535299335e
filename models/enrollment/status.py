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
    REVOKED = "revoked"  # 424.535: re-enrollment bar
    VOLUNTARILY_TERMINATED = "voluntarily_terminated"


_N = EnrollmentStatus

FINAL_STATUSES = frozenset({_N.REVOKED, _N.VOLUNTARILY_TERMINATED})
ENROLLED = (_N.ACTIVE, _N.STAYED)
NOT_ENDED = (_N.ACTIVE, _N.STAYED, _N.DEACTIVATED)

# Each guard in words; the predicates are in models/enrollment/consequences.py.
GUARDS = {
    "stay_in_force": "the deadline was missed on or after 2024-01-01, when the stay of "
    "enrollment (42 CFR 424.541) took effect: the enrollment is stayed",
    "stay_not_in_force": "the deadline was missed before 2024-01-01: no stay existed, "
    "the enrollment is deactivated at once",
    "last_stay_cured": "this cures the only open stay: billing resumes",
    "other_stay_remains": "another stay is still open: the enrollment stays stayed",
}
