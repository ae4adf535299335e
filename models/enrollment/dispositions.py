"""An operator's decision on a suspected exclusion match of an enrollment (a name-only match
found when the LEIE or SAM.gov was loaded): cleared or confirmed, with the reason, as a line of
the enrollment's log (docs/regulation.md, "Data checks"). Pure."""

from __future__ import annotations

from datetime import datetime
from functools import reduce

from models.calendar import local_date
from models.checks import Finding
from models.data_checks import (
    DISPOSITION_EVENT,
    FindingDispositionRequest,
    decided,
    disposed,
    suspected_keys,
)
from models.enrollment.state import EnrollmentEventRecord, EnrollmentState
from models.records import EventRefused, record_line, working_copy


def check_enrollment_disposition(
    state: EnrollmentState, request: FindingDispositionRequest
) -> None:
    problem = suspected_keys(state.findings, request.finding_key)
    if problem is not None:
        raise EventRefused(
            "InvalidEventData",
            problem,
            status=state.status.value,
            allowed_events=[],
            field="finding_key",
        )


def with_dispositions(state: EnrollmentState, findings: list[Finding]) -> list[Finding]:
    """Findings of a new run with the decisions already recorded applied to them."""
    return reduce(disposed, state.dispositions, findings)


def apply_enrollment_disposition(
    state: EnrollmentState, request: FindingDispositionRequest, now: datetime
) -> EnrollmentState:
    state = working_copy(state)
    today = local_date(now, state.time_zone)
    state.dispositions, state.findings, note = decided(
        state.dispositions, state.findings, request, today
    )
    state.updated_at = now
    state.seq += 1  # a line of its own: the next event is numbered after it
    record_line(
        state.events,
        EnrollmentEventRecord,
        seq=state.seq,
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
