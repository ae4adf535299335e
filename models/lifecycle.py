"""The lifecycles as data: states, events, and one transition table per workflow kind.

This module is the single source of truth for what may happen in which state. Workflows consult
it (their update validators refuse what is not here), the API turns its refusals into 409 answers
that list the allowed events, and the docs render it as Mermaid from the same table. Guards are
named here and described in words; their predicates live with the domain logic that owns the data
they read (models/application.py, models/enrollment.py), so the table stays plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar


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


class ApplicationEvent(StrEnum):
    # Recorded by operators (what happened in PECOS or in a MAC letter)
    UPDATE_DRAFT = "update_draft"
    SUBMIT = "submit"
    SIGNATURES_COMPLETED = "signatures_completed"
    FEE_REQUESTED = "fee_requested"
    FEE_PAID = "fee_paid"
    RECEIVED_BY_MAC = "received_by_mac"
    DEVELOPMENT_REQUESTED = "development_requested"
    DEVELOPMENT_RESPONDED = "development_responded"
    SITE_VISIT_COMPLETED = "site_visit_completed"
    FINGERPRINTS_REQUESTED = "fingerprints_requested"
    FINGERPRINTS_RECEIVED = "fingerprints_received"
    APPROVED = "approved"
    DENIED = "denied"
    RECONSIDERATION_REQUESTED = "reconsideration_requested"
    RECONSIDERATION_DECIDED = "reconsideration_decided"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    # Fired by the engine's own durable timers
    SIGNATURE_WINDOW_EXPIRED = "signature_window_expired"
    FEE_WINDOW_EXPIRED = "fee_window_expired"
    DEVELOPMENT_WINDOW_EXPIRED = "development_window_expired"
    FINGERPRINT_WINDOW_EXPIRED = "fingerprint_window_expired"
    CAP_WINDOW_EXPIRED = "cap_window_expired"
    RECONSIDERATION_WINDOW_EXPIRED = "reconsideration_window_expired"
    RECONSIDERATION_DECISION_OVERDUE = "reconsideration_decision_overdue"
    LATE_RECORDING_WINDOW_CLOSED = "late_recording_window_closed"


S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Transition(Generic[S, E]):
    source: S
    event: E
    target: S
    guard: str | None = None


@dataclass(frozen=True)
class Lifecycle(Generic[S, E]):
    name: str
    states: type[S]
    events: type[E]
    initial: S
    terminal: frozenset[S]
    timer_events: frozenset[E]
    guards: dict[str, str]
    transitions: tuple[Transition[S, E], ...]
    _by_key: dict[tuple[S, E], tuple[Transition[S, E], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_key: dict[tuple[S, E], list[Transition[S, E]]] = {}
        for t in self.transitions:
            if t.guard is not None and t.guard not in self.guards:
                raise ValueError(f"{self.name}: guard {t.guard!r} is not described")
            by_key.setdefault((t.source, t.event), []).append(t)
        for (source, event), options in by_key.items():
            if len(options) > 1 and any(o.guard is None for o in options):
                raise ValueError(f"{self.name}: {source}+{event} mixes guarded and unguarded rows")
        object.__setattr__(self, "_by_key", {k: tuple(v) for k, v in by_key.items()})

    def options(self, state: S, event: E) -> tuple[Transition[S, E], ...]:
        return self._by_key.get((state, event), ())

    def allows(self, state: S, event: E) -> bool:
        return bool(self.options(state, event))

    def allowed_events(self, state: S, *, include_timer_events: bool = False) -> list[E]:
        seen: list[E] = []
        for t in self.transitions:
            if t.source != state or t.event in seen:
                continue
            if t.event in self.timer_events and not include_timer_events:
                continue
            seen.append(t.event)
        return seen

    def is_operator_event(self, event: E) -> bool:
        return event not in self.timer_events

    def resolve(self, state: S, event: E, guard_holds: Callable[[str], bool]) -> S | None:
        """Next state, or None when no row (or no row whose guard holds) matches."""
        for t in self.options(state, event):
            if t.guard is None or guard_holds(t.guard):
                return t.target
        return None

    def describe(self) -> dict[str, Any]:
        """The table as JSON-able data (served by GET /v1/lifecycle)."""
        return {
            "name": self.name,
            "initial": self.initial.value,
            "states": [s.value for s in self.states],
            "terminal": sorted(s.value for s in self.terminal),
            "events": [
                {"name": e.value, "source": "timer" if e in self.timer_events else "operator"}
                for e in self.events
            ],
            "guards": dict(self.guards),
            "transitions": [
                {
                    "from": t.source.value,
                    "event": t.event.value,
                    "to": t.target.value,
                    "guard": t.guard,
                }
                for t in self.transitions
            ],
        }

    def to_mermaid(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        for t in self.transitions:
            label = t.event.value + (f" [{t.guard}]" if t.guard else "")
            if t.event in self.timer_events:
                label = f"⏰ {label}"
            lines.append(f"    {t.source.value} --> {t.target.value}: {label}")
        for s in sorted(self.terminal, key=lambda x: x.value):
            lines.append(f"    {s.value} --> [*]")
        return "\n".join(lines)


def _rows(
    sources: Iterable[S], event: E, target: S, guard: str | None = None
) -> list[Transition[S, E]]:
    return [Transition(s, event, target, guard) for s in sources]


_A = ApplicationStatus
_E = ApplicationEvent

# States from which the MAC may still reject, return, or the provider withdraw.
_OPEN_AFTER_SUBMIT = (
    _A.PENDING_SIGNATURE,
    _A.PENDING_FEE,
    _A.SUBMITTED,
    _A.IN_REVIEW,
    _A.DEVELOPMENT_REQUESTED,
    _A.SCREENING,
)

APPLICATION_LIFECYCLE: Lifecycle[ApplicationStatus, ApplicationEvent] = Lifecycle(
    name="application",
    states=ApplicationStatus,
    events=ApplicationEvent,
    initial=_A.DRAFT,
    terminal=frozenset({_A.APPROVED, _A.REJECTED, _A.RETURNED, _A.WITHDRAWN, _A.DENIED}),
    timer_events=frozenset(
        {
            _E.SIGNATURE_WINDOW_EXPIRED,
            _E.FEE_WINDOW_EXPIRED,
            _E.DEVELOPMENT_WINDOW_EXPIRED,
            _E.FINGERPRINT_WINDOW_EXPIRED,
            _E.CAP_WINDOW_EXPIRED,
            _E.RECONSIDERATION_WINDOW_EXPIRED,
            _E.RECONSIDERATION_DECISION_OVERDUE,
            _E.LATE_RECORDING_WINDOW_CLOSED,
        }
    ),
    guards={
        "signatures_outstanding": "some signatures were still missing at submission",
        "signed_at_submission": "every signature was in when the application was submitted",
        "received_by_mac": "the MAC has acknowledged receipt (case number recorded)",
        "not_received_by_mac": "the MAC has not yet acknowledged receipt",
        "fingerprints_outstanding": "the MAC's fingerprint request is still unanswered",
        "no_fingerprints_outstanding": "no fingerprint request is waiting",
        "denied_by_engine": "the current denial is the engine's inference, not yet the MAC's "
        "notice",
        "denial_reversed": "the reconsideration reversed the denial",
        "denial_upheld": "the reconsideration upheld the denial",
    },
    transitions=(
        Transition(_A.DRAFT, _E.UPDATE_DRAFT, _A.DRAFT),
        Transition(_A.DRAFT, _E.SUBMIT, _A.PENDING_SIGNATURE, "signatures_outstanding"),
        Transition(_A.DRAFT, _E.SUBMIT, _A.SUBMITTED, "signed_at_submission"),
        Transition(_A.PENDING_SIGNATURE, _E.SIGNATURES_COMPLETED, _A.SUBMITTED),
        Transition(_A.PENDING_SIGNATURE, _E.SIGNATURE_WINDOW_EXPIRED, _A.REJECTED),
        *_rows((_A.SUBMITTED, _A.IN_REVIEW), _E.FEE_REQUESTED, _A.PENDING_FEE),
        # Paying before any fee letter is recorded without a state change.
        *[
            Transition(s, _E.FEE_PAID, s)
            for s in (_A.PENDING_SIGNATURE, _A.SUBMITTED, _A.IN_REVIEW)
        ],
        Transition(_A.PENDING_FEE, _E.FEE_PAID, _A.IN_REVIEW, "received_by_mac"),
        Transition(_A.PENDING_FEE, _E.FEE_PAID, _A.SUBMITTED, "not_received_by_mac"),
        Transition(_A.PENDING_FEE, _E.FEE_WINDOW_EXPIRED, _A.REJECTED),
        Transition(_A.SUBMITTED, _E.RECEIVED_BY_MAC, _A.IN_REVIEW),
        *_rows(
            (_A.IN_REVIEW, _A.DEVELOPMENT_REQUESTED, _A.SCREENING),
            _E.DEVELOPMENT_REQUESTED,
            _A.DEVELOPMENT_REQUESTED,
        ),
        # Fingerprints stay owed through a development request (42 CFR 424.518(c)).
        Transition(
            _A.DEVELOPMENT_REQUESTED,
            _E.DEVELOPMENT_RESPONDED,
            _A.IN_REVIEW,
            "no_fingerprints_outstanding",
        ),
        Transition(
            _A.DEVELOPMENT_REQUESTED,
            _E.DEVELOPMENT_RESPONDED,
            _A.SCREENING,
            "fingerprints_outstanding",
        ),
        Transition(_A.DEVELOPMENT_REQUESTED, _E.FINGERPRINTS_RECEIVED, _A.DEVELOPMENT_REQUESTED),
        Transition(_A.DEVELOPMENT_REQUESTED, _E.FINGERPRINT_WINDOW_EXPIRED, _A.DENIED),
        Transition(_A.DEVELOPMENT_REQUESTED, _E.DEVELOPMENT_WINDOW_EXPIRED, _A.REJECTED),
        Transition(_A.IN_REVIEW, _E.FINGERPRINTS_REQUESTED, _A.SCREENING),
        Transition(_A.SCREENING, _E.FINGERPRINTS_RECEIVED, _A.IN_REVIEW),
        Transition(_A.SCREENING, _E.FINGERPRINT_WINDOW_EXPIRED, _A.DENIED),
        *[Transition(s, _E.SITE_VISIT_COMPLETED, s) for s in (_A.IN_REVIEW, _A.SCREENING)],
        Transition(_A.IN_REVIEW, _E.APPROVED, _A.APPROVED),
        *_rows((_A.IN_REVIEW, _A.DEVELOPMENT_REQUESTED, _A.SCREENING), _E.DENIED, _A.DENIED),
        # The MAC's own notice replaces the engine's inferred denial: its windows count from it.
        Transition(_A.DENIED, _E.DENIED, _A.DENIED, "denied_by_engine"),
        Transition(_A.DENIED, _E.CAP_WINDOW_EXPIRED, _A.DENIED),
        Transition(_A.DENIED, _E.RECONSIDERATION_REQUESTED, _A.RECONSIDERATION_REQUESTED),
        Transition(_A.DENIED, _E.RECONSIDERATION_WINDOW_EXPIRED, _A.DENIED),
        Transition(
            _A.RECONSIDERATION_REQUESTED,
            _E.RECONSIDERATION_DECIDED,
            _A.APPROVED,
            "denial_reversed",
        ),
        Transition(
            _A.RECONSIDERATION_REQUESTED, _E.RECONSIDERATION_DECIDED, _A.DENIED, "denial_upheld"
        ),
        Transition(
            _A.RECONSIDERATION_REQUESTED,
            _E.RECONSIDERATION_DECISION_OVERDUE,
            _A.RECONSIDERATION_REQUESTED,
        ),
        # An engine-applied consequence stays withdrawable for a short grace (models/rules.py).
        Transition(_A.REJECTED, _E.LATE_RECORDING_WINDOW_CLOSED, _A.REJECTED),
        Transition(_A.DENIED, _E.LATE_RECORDING_WINDOW_CLOSED, _A.DENIED),
        *_rows(_OPEN_AFTER_SUBMIT, _E.REJECTED, _A.REJECTED),
        *_rows(_OPEN_AFTER_SUBMIT, _E.RETURNED, _A.RETURNED),
        *_rows((_A.DRAFT, *_OPEN_AFTER_SUBMIT), _E.WITHDRAWN, _A.WITHDRAWN),
    ),
)


# --- Enrollment record (domain.md 4, 7.2) ------------------------------------------------------


class EnrollmentStatus(StrEnum):
    """Billing status of one enrollment (ENRLMT_ID). The revalidation window, a pending
    revalidation and an open reporting window are clocks and dates, not states: the provider is
    enrolled and paid throughout, and they overlap freely (a practice-location change may be
    pending inside the revalidation window), so making them states would multiply the table."""

    ACTIVE = "active"
    STAYED = "stayed"  # 42 CFR 424.541: still enrolled, claims for dates in the stay reject
    DEACTIVATED = "deactivated"  # 424.540 / 424.547: not paid until reactivated
    REVOKED = "revoked"  # 424.535: re-enrollment bar
    VOLUNTARILY_TERMINATED = "voluntarily_terminated"


class EnrollmentEvent(StrEnum):
    # Recorded by operators (a MAC letter, a PECOS submission, a claims report)
    REVALIDATION_NOTICE_RECEIVED = "revalidation_notice_received"
    REVALIDATION_SUBMITTED = "revalidation_submitted"
    REVALIDATION_APPROVED = "revalidation_approved"
    CHANGE_OCCURRED = "change_occurred"
    CHANGE_REPORTED = "change_reported"
    CLAIM_ACTIVITY = "claim_activity"
    DEACTIVATED = "deactivated"
    REBUTTAL_SUBMITTED = "rebuttal_submitted"
    REACTIVATION_SUBMITTED = "reactivation_submitted"
    REACTIVATION_APPROVED = "reactivation_approved"
    REVOKED = "revoked"
    VOLUNTARILY_TERMINATED = "voluntarily_terminated"
    # Fired by the engine's own durable timers
    REVALIDATION_TARGET_PASSED = "revalidation_target_passed"
    REVALIDATION_DUE_DATE_PASSED = "revalidation_due_date_passed"
    REVALIDATION_NOTICE_WINDOW_EXPIRED = "revalidation_notice_window_expired"
    CHANGE_REPORT_WINDOW_EXPIRED = "change_report_window_expired"
    STAY_EXPIRED = "stay_expired"
    NON_BILLING_PERIOD_EXPIRED = "non_billing_period_expired"
    ORDERING_REFERRING_PERIOD_EXPIRED = "ordering_referring_period_expired"
    REBUTTAL_WINDOW_EXPIRED = "rebuttal_window_expired"
    REENROLLMENT_BAR_EXPIRED = "reenrollment_bar_expired"


_N = EnrollmentStatus
_V = EnrollmentEvent

_ENROLLED = (_N.ACTIVE, _N.STAYED)
_NOT_ENDED = (_N.ACTIVE, _N.STAYED, _N.DEACTIVATED)
# A missed deadline curable by an application: stayed where the stay rule was in force.
_MISSED_DEADLINES = (
    _V.REVALIDATION_DUE_DATE_PASSED,
    _V.REVALIDATION_NOTICE_WINDOW_EXPIRED,
    _V.CHANGE_REPORT_WINDOW_EXPIRED,
)
# Events that cure one stay: back to active only when no other stay is open.
_CURES = (_V.REVALIDATION_SUBMITTED, _V.CHANGE_REPORTED)

ENROLLMENT_LIFECYCLE: Lifecycle[EnrollmentStatus, EnrollmentEvent] = Lifecycle(
    name="enrollment",
    states=EnrollmentStatus,
    events=EnrollmentEvent,
    initial=_N.ACTIVE,
    terminal=frozenset({_N.REVOKED, _N.VOLUNTARILY_TERMINATED}),
    timer_events=frozenset(
        {
            _V.REVALIDATION_TARGET_PASSED,
            _V.REVALIDATION_DUE_DATE_PASSED,
            _V.REVALIDATION_NOTICE_WINDOW_EXPIRED,
            _V.CHANGE_REPORT_WINDOW_EXPIRED,
            _V.STAY_EXPIRED,
            _V.NON_BILLING_PERIOD_EXPIRED,
            _V.ORDERING_REFERRING_PERIOD_EXPIRED,
            _V.REBUTTAL_WINDOW_EXPIRED,
            _V.REENROLLMENT_BAR_EXPIRED,
        }
    ),
    guards={
        "stay_in_force": "the deadline was missed on or after 2024-01-01, when the stay of "
        "enrollment (42 CFR 424.541) took effect: the enrollment is stayed",
        "stay_not_in_force": "the deadline was missed before 2024-01-01: no stay existed, "
        "the enrollment is deactivated at once",
        "last_stay_cured": "this cures the only open stay: billing resumes",
        "other_stay_remains": "another stay is still open: the enrollment stays stayed",
    },
    transitions=(
        *[
            Transition(s, e, s)
            for e in (
                _V.REVALIDATION_NOTICE_RECEIVED,
                _V.REVALIDATION_APPROVED,
                _V.CHANGE_OCCURRED,
                _V.CLAIM_ACTIVITY,
                _V.REVALIDATION_TARGET_PASSED,
            )
            for s in _ENROLLED
        ],
        Transition(_N.ACTIVE, _V.REVALIDATION_SUBMITTED, _N.ACTIVE),
        Transition(_N.ACTIVE, _V.CHANGE_REPORTED, _N.ACTIVE),
        *[
            Transition(_N.STAYED, e, target, guard)
            for e in _CURES
            for target, guard in (
                (_N.ACTIVE, "last_stay_cured"),
                (_N.STAYED, "other_stay_remains"),
            )
        ],
        *[
            Transition(_N.ACTIVE, e, target, guard)
            for e in _MISSED_DEADLINES
            for target, guard in (
                (_N.STAYED, "stay_in_force"),
                (_N.DEACTIVATED, "stay_not_in_force"),
            )
        ],
        *[Transition(_N.STAYED, e, _N.STAYED) for e in _MISSED_DEADLINES],
        Transition(_N.STAYED, _V.STAY_EXPIRED, _N.DEACTIVATED),
        *_rows(_ENROLLED, _V.NON_BILLING_PERIOD_EXPIRED, _N.DEACTIVATED),
        *_rows(_ENROLLED, _V.ORDERING_REFERRING_PERIOD_EXPIRED, _N.DEACTIVATED),
        *_rows(_ENROLLED, _V.DEACTIVATED, _N.DEACTIVATED),
        Transition(_N.DEACTIVATED, _V.REBUTTAL_SUBMITTED, _N.DEACTIVATED),
        Transition(_N.DEACTIVATED, _V.REBUTTAL_WINDOW_EXPIRED, _N.DEACTIVATED),
        Transition(_N.DEACTIVATED, _V.REACTIVATION_SUBMITTED, _N.DEACTIVATED),
        Transition(_N.DEACTIVATED, _V.REACTIVATION_APPROVED, _N.ACTIVE),
        *_rows(_NOT_ENDED, _V.REVOKED, _N.REVOKED),
        Transition(_N.REVOKED, _V.REENROLLMENT_BAR_EXPIRED, _N.REVOKED),
        *_rows(_NOT_ENDED, _V.VOLUNTARILY_TERMINATED, _N.VOLUNTARILY_TERMINATED),
    ),
)
