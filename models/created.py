"""What a create answers in one round trip (update-with-start, api/records.py): the record as
it is, and whether this create started it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from models.application import ApplicationState

# The memo key under which a start carries the id of the update that came with it: the
# workflow tells the create that started it from a later create of the same id by it.
CREATE_REQUEST = "create-request"


class ApplicationCreated(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: ApplicationState
    started: bool  # this create started the workflow (201), or it ran already (200 or 409)
