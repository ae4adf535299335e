"""Every event of each lifecycle table as an enum, for readable test assertions (the engine
itself keeps event names as the strings its event models and clocks declare)."""

from enum import StrEnum

from models.application import APPLICATION_LIFECYCLE
from models.enrollment import ENROLLMENT_LIFECYCLE

ApplicationEvent = StrEnum(  # type: ignore[misc]
    "ApplicationEvent", {n.upper(): n for n in APPLICATION_LIFECYCLE.event_names}
)
EnrollmentEvent = StrEnum(  # type: ignore[misc]
    "EnrollmentEvent", {n.upper(): n for n in ENROLLMENT_LIFECYCLE.event_names}
)
