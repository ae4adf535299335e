"""What a reference-data load did (the loader's report, as the API answers it)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.refdata import ReferenceLoadReport


class ReferenceLoad(ReferenceLoadReport):
    """One load of a public reference file: the header version it had, and against the load
    before it the records added, changed and removed. `rechecked` is how many tracked records
    the load touched and were checked again (None when that was not started)."""

    rechecked: int | None = Field(default=None)


class ReferenceLoadList(BaseModel):
    """Loads, newest first."""

    loads: list[ReferenceLoadReport]
