"""An operator's decision on a suspected exclusion match of a draft: cleared (not the same
party) or confirmed. Not a lifecycle event (it moves no status), but a line of the record's log
with its actor, role and reason, so the audit trail keeps it (docs/regulation.md, "Data
checks"). Pure: the workflow's `record_finding_disposition` update runs these."""

from __future__ import annotations

from datetime import datetime

from models.application.guards import allowed_events
from models.application.state import ApplicationEventRecord, ApplicationState
from models.application.status import ApplicationStatus
from models.data_checks import (
    DISPOSITION_EVENT,
    FindingDispositionRequest,
    decided,
    suspected_keys,
)
from models.records import EventRefused, record_line, working_copy

__all__ = ["FindingDispositionRequest", "apply_disposition", "check_disposition"]


def check_disposition(state: ApplicationState, request: FindingDispositionRequest) -> None:
    """Refuse a disposition outside the draft, or naming no open suspected match."""
    if state.status != ApplicationStatus.DRAFT:
        raise EventRefused(
            "IllegalTransition",
            f"A disposition is recorded on a draft; the application is '{state.status.value}'.",
            status=state.status.value,
            allowed_events=allowed_events(state),
        )
    problem = suspected_keys(state.findings, request.finding_key)
    if problem is not None:
        raise EventRefused(
            "InvalidEventData",
            problem,
            status=state.status.value,
            allowed_events=allowed_events(state),
            field="finding_key",
        )


def apply_disposition(
    state: ApplicationState, request: FindingDispositionRequest, now: datetime
) -> ApplicationState:
    state = working_copy(state)
    today = state.today(now)
    state.dispositions, state.findings, note = decided(
        state.dispositions, state.findings, request, today
    )
    state.updated_at = now
    record_line(
        state.events,
        ApplicationEventRecord,
        seq=len(state.events) + 1,
        event=DISPOSITION_EVENT,
        actor=request.actor,
        role=request.role,
        reason=request.reason,
        when=today,
        now=now,
        before=state.status,
        after=state.status,
        notes=[note],
    )
    return state
