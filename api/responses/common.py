"""Pieces the answers of several resources share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, PlainSerializer, WithJsonSchema, computed_field

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
