"""The enrollment record (one ENRLMT_ID) after approval: every clock that can cost money.

Pure, like models/application/ and built on the same machinery (models/records.py,
models/clocks.py): `check_event` refuses what the lifecycle table or the data do not allow,
`apply_event` returns the next state and the notices, and `fire_due_clocks` sends due reminders
(once each) and applies every consequence whose time has come. The workflow continues as new
after each approved revalidation with `next_cycle_state`, so its history stays small for decades.

- status.py, events.py, timers.py, lifecycle.py: the table and what declares it
- state.py: what the engine knows of an enrollment, and the carry-over between runs
- guards.py, validation.py, bar.py: what is allowed and what is refused
- standing.py: where an enrollment stands in words, and what to do
- cycle.py: revalidation cycles and standing clocks; consequences.py: stays, deactivation,
  reactivation, and the clocks' consequences; revocation.py: revocation, its appeal windows
  and bar, reinstatement; reducer.py: applying events
"""

from models.enrollment.bar import (
    ReenrollmentBar,
    known_enrollment,
    reenrollment_bar,
    refuse_if_barred,
)
from models.enrollment.consequences import fire_due_clocks
from models.enrollment.cycle import new_enrollment, next_cycle_state, replacement_start
from models.enrollment.events import (
    ENROLLMENT_EVENT_MODELS,
    ChangeKind,
    DeactivationReason,
    EnrollmentEventRequest,
    EnrollmentOperatorEvent,
    RevocationGround,
)
from models.enrollment.guards import allowed_events
from models.enrollment.lifecycle import ENROLLMENT_LIFECYCLE
from models.enrollment.reducer import apply_event, progress_events
from models.enrollment.standing import Standing, standing, status_text
from models.enrollment.state import (
    BillingGap,
    CycleCarryOver,
    CycleSummary,
    Deactivation,
    EnrollmentEventRecord,
    EnrollmentStart,
    EnrollmentState,
    Revocation,
    StayRecord,
    enrollment_workflow_id,
)
from models.enrollment.status import EnrollmentStatus
from models.enrollment.timers import CYCLE_CLOCKS, EXPIRY_EVENT, TIMERS
from models.enrollment.validation import check_event
from models.records import EventRefused, Outcome

__all__ = [
    "CYCLE_CLOCKS",
    "ENROLLMENT_EVENT_MODELS",
    "ENROLLMENT_LIFECYCLE",
    "EXPIRY_EVENT",
    "TIMERS",
    "BillingGap",
    "ChangeKind",
    "CycleCarryOver",
    "CycleSummary",
    "Deactivation",
    "DeactivationReason",
    "EnrollmentEventRecord",
    "EnrollmentEventRequest",
    "EnrollmentOperatorEvent",
    "EnrollmentStart",
    "EnrollmentState",
    "EnrollmentStatus",
    "EventRefused",
    "Outcome",
    "ReenrollmentBar",
    "Revocation",
    "RevocationGround",
    "Standing",
    "StayRecord",
    "allowed_events",
    "apply_event",
    "check_event",
    "enrollment_workflow_id",
    "fire_due_clocks",
    "known_enrollment",
    "new_enrollment",
    "next_cycle_state",
    "progress_events",
    "reenrollment_bar",
    "refuse_if_barred",
    "replacement_start",
    "standing",
    "status_text",
]
