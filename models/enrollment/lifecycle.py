"""The enrollment's transition table, assembled from what its events and clocks declare."""

from __future__ import annotations

from models.enrollment.events import EnrollmentOperatorEvent
from models.enrollment.status import FINAL_STATUSES, GUARDS, EnrollmentStatus
from models.enrollment.timers import TIMERS
from models.lifecycle import Lifecycle, assemble
from models.records import bookkeeping_events, operator_rows

ENROLLMENT_LIFECYCLE: Lifecycle[EnrollmentStatus] = assemble(
    "enrollment",
    EnrollmentStatus,
    initial=EnrollmentStatus.ACTIVE,
    terminal=FINAL_STATUSES,
    guards=GUARDS,
    operator=operator_rows(EnrollmentOperatorEvent.catalog),
    timers=[(t.event, t.rows) for t in TIMERS.values()],
    bookkeeping=bookkeeping_events(EnrollmentOperatorEvent.catalog),
)
