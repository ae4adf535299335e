"""What every request body that records something shares: the actor and role come from the API
key, never from the body (a body naming them is refused, saying why)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


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
