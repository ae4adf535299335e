"""Pieces the answers of several resources share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, computed_field

from models.calendar import Clock

# An instant written as datetime.isoformat() gives it ("2026-03-01T05:00:00+00:00"): the answers
# that have always spelled instants so keep doing it (the others use pydantic's "...Z").
IsoInstant = Annotated[
    datetime,
    PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class ClockView(Clock):
    """An open regulatory clock: the rule that set it, the dates it counts from, its last day,
    and the sentence that explains all of that to a person."""

    model_config = ConfigDict(from_attributes=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def explanation(self) -> str:
        return super().explanation


def created(description: str) -> dict[str, Any]:
    """The documented 201 answer of a route that creates a record: the record, and its URL."""
    return {
        "description": description,
        "headers": {
            "Location": {
                "required": True,
                "description": "The URL of the record created (GET it for its state)",
                "schema": {"type": "string", "format": "uri"},
            }
        },
    }


class EventAccepted(BaseModel):
    """202: the workflow accepted the event but had not finished applying it within the bound."""

    status: Literal["accepted"]
    event_id: str = Field(description="The event's update id (derived from the request)")
    poll: str = Field(description="GET it for the outcome: 200 once applied, 202 until then")
    detail: str


def event_accepted(description: str) -> dict[str, Any]:
    """The documented 202 answer of a route that records an event."""
    return {
        "model": EventAccepted,
        "description": description,
        "headers": {
            "Location": {
                "required": True,
                "description": "The poll URL (GET it for the event's outcome)",
                "schema": {"type": "string", "format": "uri"},
            },
            "Retry-After": {
                "required": True,
                "description": "Seconds to wait before polling",
                "schema": {"type": "string"},
            },
        },
    }


# What every record's view says of its side effects (workflows/effects.py).
SIDE_EFFECTS_PENDING: Any = Field(
    default=0,
    description="Side effects of what was recorded that are not done yet (the read model, "
    "notices, checks): lists and the deadlines screen lag this record while above 0.",
)
NOTIFICATIONS_FAILING: Any = Field(
    default=None,
    description="Its notices whose last attempt failed (refused, or a channel that is down): "
    "GET /v1/notifications?status=failed&workflow_id=... lists them. Counted by GET of the "
    "record; null in other answers and when the read model cannot be reached.",
)
INCIDENTS: Any = Field(
    default_factory=list,
    description="Side effects that keep failing. The record is unharmed; they are retried on "
    "a schedule, and POST /v1/incidents/{workflow_id}/retry re-runs them now.",
)
