"""The predicates behind the enrollment table's named guards (described in status.GUARDS),
the events allowed now, and which stays an event cures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from models.calendar import Clock, EnrollmentClockKind, add_days, period_last_day
from models.enrollment.events import (
    CapDecided,
    ChangeReported,
    ReconsiderationDecided,
    RevalidationSubmitted,
    Revoked,
    StayLifted,
)
from models.enrollment.lifecycle import ENROLLMENT_LIFECYCLE
from models.enrollment.state import ChangeRecord, EnrollmentState, StayRecord
from models.records import OperatorEvent, Refusals
from models.rules import RULES, RuleKey, rule

T = TypeVar("T")

# The two deadlines of a revalidation: the missed date is the later of them.
REVALIDATION_DEADLINES = (
    EnrollmentClockKind.REVALIDATION_DUE,
    EnrollmentClockKind.REVALIDATION_NOTICE,
)


def first_version(key: RuleKey) -> date:
    """The day a rule first took effect."""
    return RULES[key][0].effective_from


def allowed_events(state: EnrollmentState) -> list[str]:
    return ENROLLMENT_LIFECYCLE.allowed_events(state.status)


def refusals(state: EnrollmentState) -> Refusals:
    return Refusals(state.status, allowed_events(state), state.time_zone)


def later_revalidation_deadline(state: EnrollmentState, clock: Clock) -> Clock | None:
    """The other revalidation deadline, when it is still open and ends after `clock`."""
    if clock.kind not in REVALIDATION_DEADLINES:
        return None
    later = [
        c
        for c in state.clocks
        if c.kind in REVALIDATION_DEADLINES
        and c.clock_id != clock.clock_id
        and c.last_day > clock.last_day
    ]
    return max(later, key=lambda c: c.last_day, default=None)


def guard(
    state: EnrollmentState,
    request: OperatorEvent | None,
    clock: Clock | None,
    today: date | None = None,
) -> Callable[[str], bool]:
    def holds(name: str) -> bool:
        if name == "later_revalidation_deadline_open":
            assert clock is not None
            return later_revalidation_deadline(state, clock) is not None
        if name in ("stay_in_force", "stay_not_in_force"):
            assert clock is not None
            if later_revalidation_deadline(state, clock) is not None:
                return False
            in_force = add_days(clock.last_day, 1) >= first_version(
                RuleKey.STAY_MISSED_REVALIDATION
            )
            return in_force if name == "stay_in_force" else not in_force
        if name in ("last_stay_cured", "other_stay_remains"):
            cured = stays_cured_by(state, request)
            remaining = [s for s in state.open_stays() if s.clock_id not in cured]
            return not remaining if name == "last_stay_cured" else bool(remaining)
        if name in ("revocation_takes_effect_later", "revocation_in_effect"):
            assert isinstance(request, Revoked) and today is not None
            later = state.revocation_appeals and revocation_effective_date(request) > today
            return later if name == "revocation_takes_effect_later" else not later
        if name in ("revocation_reversed", "revocation_stands"):
            reversed_ = (isinstance(request, CapDecided) and request.outcome == "accepted") or (
                isinstance(request, ReconsiderationDecided) and request.outcome == "reversed"
            )
            return reversed_ if name == "revocation_reversed" else not reversed_
        raise KeyError(name)

    return holds


def revocation_effective_date(revoked: Revoked) -> date:
    """42 CFR 424.535(g): 30 days after the notice, unless the notice gives a (retroactive)
    date."""
    if revoked.effective_date is not None:
        return revoked.effective_date
    notice = revoked.notice_date
    return period_last_day(notice, rule(RuleKey.REVOCATION_EFFECTIVE, notice))


def change_to_report(state: EnrollmentState, request: ChangeReported) -> ChangeRecord:
    """The unreported change a report is for (named, or the only one)."""
    return _named_or_only(
        state,
        [c for c in state.changes if c.reported_on is None],
        lambda c: c.change_id,
        request.change_id,
        ("change_id", "change", "unreported"),
        "no change is waiting to be reported (record change_occurred first).",
    )


def stays_cured_by(state: EnrollmentState, request: OperatorEvent | None) -> set[str]:
    if isinstance(request, RevalidationSubmitted):
        return {s.clock_id for s in state.open_stays() if s.cause == "revalidation"}
    if isinstance(request, ChangeReported):
        change = change_to_report(state, request)
        return {s.clock_id for s in state.open_stays() if s.change_id == change.change_id}
    if isinstance(request, StayLifted):
        return {stay_to_lift(state, request).clock_id}
    return set()


def stay_to_lift(state: EnrollmentState, request: StayLifted) -> StayRecord:
    """The open stay the MAC lifted (named, or the only one)."""
    return _named_or_only(
        state,
        state.open_stays(),
        lambda s: s.clock_id,
        request.stay_id,
        ("stay_id", "stay", "open"),
        "no stay is open.",
    )


def _named_or_only(
    state: EnrollmentState,
    items: list[T],
    key: Callable[[T], str],
    wanted: str | None,
    naming: tuple[str, str, str],
    none_left: str,
) -> T:
    """The item an event names (`wanted`), or the only one; refused naming the field when it
    names none that is there, or names none of several. `naming` is (field, noun, what the
    candidates are): ("change_id", "change", "unreported")."""
    field, noun, being = naming
    refuse = refusals(state)
    ids = ", ".join(key(i) for i in items)
    if wanted is not None:
        for item in items:
            if key(item) == wanted:
                return item
        raise refuse.data(f"No {being} {noun} {wanted!r}; {being}: {ids or 'none'}.", field)
    if len(items) != 1:
        raise refuse.data(
            f"Name the {field}: "
            + (f"{len(items)} {noun}s are {being} ({ids})." if items else none_left),
            field,
        )
    return items[0]
