"""What a reference-data load did (the loader's report, as the API answers it)."""

from __future__ import annotations

from datetime import date

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


class PecosEnrollment(BaseModel):
    enrollment_id: str
    npi: str | None
    name: str | None
    state: str | None
    provider_type: str | None
    ptan: str | None = Field(description="The PTAN, when the engine tracks this enrollment")


class PracticeLocation(BaseModel):
    city: str
    state: str
    zip: str


class GroupLink(BaseModel):
    from_enrollment_id: str = Field(description="The practitioner's enrollment that reassigns")
    group: PecosEnrollment
    practice_locations: list[PracticeLocation]


class MemberLink(BaseModel):
    to_enrollment_id: str = Field(description="This NPI's enrollment that receives")
    practitioner: PecosEnrollment


class ReassignmentGraph(BaseModel):
    """One NPI's reassignments as the PPEF extracts show them (dates: the files used)."""

    npi: str
    enrollments: list[PecosEnrollment]
    reassigns_to: list[GroupLink]
    receives_from: list[MemberLink]
    ppef_date: date | None
    reassignment_date: date | None
