"""The predicates behind the enrollment table's named guards (described in status.GUARDS),
the events allowed now, and which stays an event cures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from models.calendar import Clock, add_days
from models.enrollment.events import ChangeReported, RevalidationSubmitted
from models.enrollment.lifecycle import ENROLLMENT_LIFECYCLE
from models.enrollment.state import ChangeRecord, EnrollmentState
from models.records import OperatorEvent, Refusals
from models.rules import RULES, RuleKey


def first_version(key: RuleKey) -> date:
    """The day a rule first took effect."""
    return RULES[key][0].effective_from


def allowed_events(state: EnrollmentState) -> list[str]:
    return ENROLLMENT_LIFECYCLE.allowed_events(state.status)


def refusals(state: EnrollmentState) -> Refusals:
    return Refusals(state.status, allowed_events(state), state.time_zone)


def guard(
    state: EnrollmentState, request: OperatorEvent | None, clock: Clock | None
) -> Callable[[str], bool]:
    def holds(name: str) -> bool:
        if name in ("stay_in_force", "stay_not_in_force"):
            assert clock is not None
            in_force = add_days(clock.last_day, 1) >= first_version(
                RuleKey.STAY_MISSED_REVALIDATION
            )
            return in_force if name == "stay_in_force" else not in_force
        if name in ("last_stay_cured", "other_stay_remains"):
            cured = stays_cured_by(state, request)
            remaining = [s for s in state.open_stays() if s.clock_id not in cured]
            return not remaining if name == "last_stay_cured" else bool(remaining)
        raise KeyError(name)

    return holds


def change_to_report(state: EnrollmentState, request: ChangeReported) -> ChangeRecord:
    """The unreported change a report is for (named, or the only one)."""
    open_changes = [c for c in state.changes if c.reported_on is None]
    refuse = refusals(state)
    if request.change_id is not None:
        for c in open_changes:
            if c.change_id == request.change_id:
                return c
        raise refuse.data(
            f"No unreported change {request.change_id!r}; unreported: "
            f"{', '.join(c.change_id for c in open_changes) or 'none'}.",
            "change_id",
        )
    if len(open_changes) != 1:
        raise refuse.data(
            "Name the change_id: "
            + (
                f"{len(open_changes)} changes are unreported "
                f"({', '.join(c.change_id for c in open_changes)})."
                if open_changes
                else "no change is waiting to be reported (record change_occurred first)."
            ),
            "change_id",
        )
    return open_changes[0]


def stays_cured_by(state: EnrollmentState, request: OperatorEvent | None) -> set[str]:
    if isinstance(request, RevalidationSubmitted):
        return {s.clock_id for s in state.open_stays() if s.cause == "revalidation"}
    if isinstance(request, ChangeReported):
        change = change_to_report(state, request)
        return {s.clock_id for s in state.open_stays() if s.change_id == change.change_id}
    return set()
