"""The predicates behind the application table's named guards (described in status.GUARDS),
and the operator events allowed in a state once those guards are read."""

from __future__ import annotations

from collections.abc import Callable

from models.application.events import (
    CapDecided,
    ReconsiderationDecided,
    Submit,
)
from models.application.lifecycle import APPLICATION_LIFECYCLE
from models.application.state import ApplicationState
from models.application.status import REQUEST_GUARDS
from models.calendar import ClockKind
from models.clocks import open_clock_of
from models.records import OperatorEvent, Refusals


def guard(state: ApplicationState, request: OperatorEvent | None) -> Callable[[str], bool]:
    def holds(name: str) -> bool:
        match name:
            case "signed_at_submission":
                return isinstance(request, Submit) and request.signed_on is not None
            case "signatures_outstanding":
                return isinstance(request, Submit) and request.signed_on is None
            case "received_by_mac":
                return state.case_number is not None
            case "not_received_by_mac":
                return state.case_number is None
            case "fingerprints_outstanding":
                return open_clock_of(state.clocks, ClockKind.FINGERPRINTS) is not None
            case "no_fingerprints_outstanding":
                return open_clock_of(state.clocks, ClockKind.FINGERPRINTS) is None
            case "denied_by_engine":
                return state.decision is not None and state.decision.by_engine
            case "denial_reversed" | "denial_upheld":
                return isinstance(request, ReconsiderationDecided) and (
                    request.outcome == ("reversed" if name == "denial_reversed" else "upheld")
                )
            case "cap_accepted" | "cap_not_accepted":
                return isinstance(request, CapDecided) and (
                    request.outcome == ("accepted" if name == "cap_accepted" else "not_accepted")
                )
        raise KeyError(name)

    return holds


def allowed_events(state: ApplicationState) -> list[str]:
    """Operator events the table allows now, leaving out rows whose state guard fails."""
    holds = guard(state, None)
    return [
        e
        for e in APPLICATION_LIFECYCLE.allowed_events(state.status)
        if any(
            t.guard is None or t.guard in REQUEST_GUARDS or holds(t.guard)
            for t in APPLICATION_LIFECYCLE.options(state.status, e)
        )
    ]


def refusals(state: ApplicationState) -> Refusals:
    return Refusals(state.status, allowed_events(state), state.time_zone)
