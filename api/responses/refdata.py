"""What a reference-data load did (the loader's report, as the API answers it)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.refdata import ReferenceLoadReport


class ReferenceLoad(ReferenceLoadReport):
    """One load of a public reference file: the header version it had, and against the load
    before it the records added, changed and removed."""

    checks_workflow_id: str | None = Field(
        default=None,
        description="The workflow that checks the enrollments this load touched (their findings "
        "and notices follow shortly)",
    )


class ReferenceLoadList(BaseModel):
    """Loads, newest first."""

    loads: list[ReferenceLoadReport]
