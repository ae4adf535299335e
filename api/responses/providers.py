"""One provider by NPI: everything the read model holds for it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.responses.applications import ApplicationListItem
from api.responses.enrollments import EnrollmentListItem


class ProviderView(BaseModel):
    npi: str
    applications: list[ApplicationListItem] = Field(description="Newest change first")
    enrollments: list[EnrollmentListItem] = Field(description="Newest change first")
    truncated: bool = Field(description="True when either list has more than `limit`")
