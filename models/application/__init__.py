"""The application (CMS-855/20134/588) domain: what an operator records, and what follows.

Pure: the workflow hands in the current time; `check_event` refuses what the lifecycle table or
the data do not allow (before anything enters history), `apply_event` returns the next state and
the notices to send, and `fire_due_clocks` applies every clock whose time has come.

- status.py: the states and the guards' descriptions
- events.py: the operator events, each declaring its date field and lifecycle rows
- timers.py: the clocks, each declaring its rule and the timer event it fires
- lifecycle.py: the transition table assembled from those declarations
- details.py, state.py: what an application says and what the engine knows of it
- guards.py, validation.py: what is allowed and what is refused
- backdating.py, reducer.py, consequences.py: applying events and clocks
"""

from models.application.backdating import reopened_application
from models.application.consequences import fire_due_clocks
from models.application.details import (
    ApplicationCreate,
    ApplicationDetails,
    ApplicationId,
)
from models.application.events import (
    EVENT_MODELS,
    ApplicationDetailsChange,
    ApplicationEventRequest,
    ApplicationOperatorEvent,
    UpdateDraft,
)
from models.application.guards import allowed_events
from models.application.lifecycle import APPLICATION_LIFECYCLE
from models.application.reducer import apply_event
from models.application.state import (
    ApplicationEventRecord,
    ApplicationReopen,
    ApplicationState,
    Decision,
    DevelopmentRequest,
    application_workflow_id,
    new_application,
)
from models.application.status import ApplicationStatus
from models.application.timers import EXPIRY_EVENT, TIMERS
from models.application.validation import check_event
from models.records import EventRefused, Outcome

__all__ = [
    "APPLICATION_LIFECYCLE",
    "EVENT_MODELS",
    "EXPIRY_EVENT",
    "TIMERS",
    "ApplicationCreate",
    "ApplicationDetails",
    "ApplicationDetailsChange",
    "ApplicationEventRecord",
    "ApplicationEventRequest",
    "ApplicationId",
    "ApplicationOperatorEvent",
    "ApplicationReopen",
    "ApplicationState",
    "ApplicationStatus",
    "Decision",
    "DevelopmentRequest",
    "EventRefused",
    "Outcome",
    "UpdateDraft",
    "allowed_events",
    "application_workflow_id",
    "apply_event",
    "check_event",
    "fire_due_clocks",
    "new_application",
    "reopened_application",
]
