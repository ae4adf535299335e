"""What a check finds: one model shared by the pre-submission checks (models/checks.py) and the
outward ones (models/data_checks.py, models/nppes.py, models/credentials.py)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    ERROR = "error"  # blocks submission
    WARNING = "warning"  # needs attention, does not block
    INFO = "info"


class Finding(BaseModel):
    """One thing a check found. The checks that look outward (models/data_checks.py) also say
    what they compared with: `evidence` (the record that contradicts ours), `source` (the file
    or service) and `source_date` (its date), under `check` (which check, so a re-run replaces
    its own findings) and a `key` stable for the same fact (the same fact twice is one finding;
    a disposition names it)."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    field: str | None = None
    message: str
    citation: str | None = None
    evidence: str | None = None
    source: str | None = None
    source_date: date | None = None
    check: str | None = None
    key: str | None = None

    @property
    def fact(self) -> str:
        """What makes two findings the same fact."""
        return self.key or f"{self.code}:{self.field}:{self.message}"
