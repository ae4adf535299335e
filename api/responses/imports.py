"""What a roster import did, row by row."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import MISSING, BaseModel, Field

from models.roster import DueDateSource, RowProblem

Outcome = Literal["created", "past_due", "unchanged", "due_date_differs", "conflict", "failed"]
OUTCOMES: tuple[Outcome, ...] = (
    "created",
    "past_due",
    "unchanged",
    "due_date_differs",
    "conflict",
    "failed",
)


class ValueDifference(BaseModel):
    existing: str | None
    sent: str | None


class ImportedRow(BaseModel):
    """One good roster row and what became of it. The members after `notes` appear only when
    the import learned them (an enrollment that already existed, a conflict, a failure)."""

    row: int = Field(description="The roster line (the header is line 1)")
    enrollment_id: str
    outcome: Outcome
    revalidation_due_date: date | None = Field(description="The due date the import gave")
    due_date_source: DueDateSource | None
    notes: list[str]
    current_revalidation_due_date: date | MISSING | None = Field(
        default=MISSING, description="The running workflow's due date"
    )
    status: str | MISSING = Field(default=MISSING, description="The existing enrollment's")
    differences: dict[str, ValueDifference] | MISSING = Field(
        default=MISSING, description="conflict: field -> the existing and the sent value"
    )
    detail: str | MISSING = Field(default=MISSING, description="What happened, what to do")


class ImportCounts(BaseModel):
    rows: int = Field(description="Data lines read from the roster")
    good_rows: int
    bad_rows: int
    problems: int
    created: int
    past_due: int = Field(
        description="Created, but already past its due date: stayed or deactivated"
    )
    unchanged: int
    due_date_differs: int
    conflict: int
    failed: int


class DueDatesMatch(BaseModel):
    rows: int = Field(description="Data lines read from the CMS list")
    matched: int = Field(description="Of those, how many named an enrollment of the roster")


class ImportReport(BaseModel):
    counts: ImportCounts
    results: list[ImportedRow] = Field(description="In roster order")
    problems: list[RowProblem] = Field(description="Bad cells, each with its line and column")
    due_dates: DueDatesMatch | None = Field(description="Only when due_dates_csv was sent")
