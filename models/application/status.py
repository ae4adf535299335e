"""The states of an application (CMS-855/20134/588) and the guards its table names."""

from __future__ import annotations

from enum import StrEnum


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    PENDING_SIGNATURE = "pending_signature"
    PENDING_FEE = "pending_fee"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    DEVELOPMENT_REQUESTED = "development_requested"
    SCREENING = "screening"
    APPROVED = "approved"
    DENIED = "denied"
    RECONSIDERATION_REQUESTED = "reconsideration_requested"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


_A = ApplicationStatus

FINAL_STATUSES = frozenset({_A.APPROVED, _A.REJECTED, _A.RETURNED, _A.WITHDRAWN, _A.DENIED})

# States from which the MAC may still reject, return, or the provider withdraw.
OPEN_AFTER_SUBMIT = (
    _A.PENDING_SIGNATURE,
    _A.PENDING_FEE,
    _A.SUBMITTED,
    _A.IN_REVIEW,
    _A.DEVELOPMENT_REQUESTED,
    _A.SCREENING,
)

# Each guard in words; the predicates are in models/application/guards.py.
GUARDS = {
    "signatures_outstanding": "some signatures were still missing at submission",
    "signed_at_submission": "every signature was in when the application was submitted",
    "received_by_mac": "the MAC has acknowledged receipt (case number recorded)",
    "not_received_by_mac": "the MAC has not yet acknowledged receipt",
    "fingerprints_outstanding": "the MAC's fingerprint request is still unanswered",
    "no_fingerprints_outstanding": "no fingerprint request is waiting",
    "denied_by_engine": "the current denial is the engine's inference, not yet the MAC's notice",
    "denial_reversed": "the reconsideration reversed the denial",
    "denial_upheld": "the reconsideration upheld the denial",
    "cap_accepted": "the MAC accepted the corrective action plan: the denial is reversed",
    "cap_not_accepted": "the MAC did not accept the corrective action plan",
}

# Guards that read the event's data; the others read only the application's state.
REQUEST_GUARDS = frozenset(
    {
        "signed_at_submission",
        "signatures_outstanding",
        "denial_reversed",
        "denial_upheld",
        "cap_accepted",
        "cap_not_accepted",
    }
)
