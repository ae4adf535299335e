"""Claim readiness answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.checks import Finding
from models.claims import ClaimHeader, ClaimRowProblem


class ClaimReadiness(BaseModel):
    """One claim header: `ready` when nothing would deny or hold it; each finding names the
    record it contradicts (evidence), the file and its date."""

    row: int | None = Field(default=None, description="Its line in the CSV, if it came in one")
    claim: ClaimHeader
    ready: bool
    findings: list[Finding]


class ClaimReadinessReport(BaseModel):
    """Every claim of a CSV, and the lines that could not be read (naming the column)."""

    claims: list[ClaimReadiness]
    problems: list[ClaimRowProblem]
    ready: int
    not_ready: int
