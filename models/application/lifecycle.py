"""The application's transition table, assembled from what its events and clocks declare."""

from __future__ import annotations

from models.application.events import ApplicationOperatorEvent
from models.application.status import FINAL_STATUSES, GUARDS, ApplicationStatus
from models.application.timers import TIMERS
from models.lifecycle import Lifecycle, assemble
from models.records import bookkeeping_events, operator_rows

APPLICATION_LIFECYCLE: Lifecycle[ApplicationStatus] = assemble(
    "application",
    ApplicationStatus,
    initial=ApplicationStatus.DRAFT,
    terminal=FINAL_STATUSES,
    guards=GUARDS,
    operator=operator_rows(ApplicationOperatorEvent.catalog),
    timers=[(t.event, t.rows) for t in TIMERS.values()],
    bookkeeping=bookkeeping_events(ApplicationOperatorEvent.catalog),
)
