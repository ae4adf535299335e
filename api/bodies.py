"""What every request body that records something shares: the actor and role come from the API
key, never from the body (a body naming them is refused, saying why)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, model_validator

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    """A date the API takes is written YYYY-MM-DD (pydantic alone would read a number as a Unix
    time, so `0` would be 1970-01-01)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("not a date: write it YYYY-MM-DD, e.g. 2026-11-30")


# A date in a request (query parameter or top-level body field): an ISO date string only.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class OperatorBody(BaseModel):
    """Base of the bodies of POST routes that record who did it."""

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("actor" in data or "role" in data):
            raise ValueError(
                "'actor' and 'role' come from your API key (Authorization: Bearer <key>); "
                "remove them from the body"
            )
        return data
