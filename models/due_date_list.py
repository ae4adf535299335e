"""Reading the CSV files an import takes, and the CMS Revalidation Due Date List.

Pure: text in, rows and problems out. Columns are bound by header name (case, spaces, hyphens
and underscores do not matter; extra columns are ignored; a UTF-8 BOM is dropped); a file that
cannot be read at all raises `RosterFileError` naming every missing column.

CMS Revalidation Due Date List (data.cms.gov; docs/regulation.md, "Revalidation"): columns
"Enrollment ID", "National Provider Identifier", "First Name", "Last Name", "Organization Name",
..., "Revalidation Due Date", "Adjusted Due Date". Dates are MM/DD/YYYY or YYYY-MM-DD; "TBD"
means not yet posted (more than 6-7 months away). The adjusted due date, when given, wins over
the revalidation due date.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel

from models.identifiers import validate_enrollment_id
from models.import_columns import (
    CMS_ADJUSTED,
    CMS_DUE,
    CMS_ENROLLMENT_ID,
    CMS_FIRST,
    CMS_HEADERS,
    CMS_LAST,
    CMS_NPI,
    CMS_ORGANIZATION,
    CMS_REQUIRED,
    DATE_FORMATS,
)

RosterFile = Literal["roster", "due_dates"]
DueDateSource = Literal["roster", "cms_list", "cms_list_adjusted"]

MAX_ROWS = 20_000
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_NAME = 300


class RowProblem(BaseModel):
    """A bad cell: `row` is the 1-based line in `file` (header = line 1), `column` the header
    as spelled in the file (None when the whole line is at fault)."""

    row: int
    column: str | None
    reason: str
    file: RosterFile = "roster"
    enrollment_id: str | None = None


class RosterFileError(ValueError):
    """The file cannot be read as a roster (or a due-date list); the message says why and what
    to fix. `file` names which one."""

    def __init__(self, file: RosterFile, message: str) -> None:
        super().__init__(message)
        self.file = file


@dataclass(frozen=True)
class DueDateEntry:
    row: int
    enrollment_id: str
    npi: str | None
    due_date: date | None  # None: TBD or blank
    source: DueDateSource | None
    problem: RowProblem | None = None
    name: str | None = None  # the organization name, or first and last name


# --- Cells --------------------------------------------------------------------------------------


def normalise_header(name: str) -> str:
    """'Enrollment ID', ' enrollment-id ', 'ENROLLMENT_ID' -> 'enrollment_id'."""
    return re.sub(r"[\s_\-]+", "_", name.strip().lstrip("\ufeff").strip()).strip("_").lower()


def parse_date(value: str, what: str) -> date:
    """A date written MM/DD/YYYY (as data.cms.gov exports) or YYYY-MM-DD."""
    text = value.strip()
    try:
        if m := _US_DATE.fullmatch(text):
            return date(int(m[3]), int(m[1]), int(m[2]))
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{what} {text!r} is not a real date ({exc}); use {DATE_FORMATS}"
        ) from None
    raise ValueError(f"{what} {text!r} is not a date; use {DATE_FORMATS}, e.g. 03/31/2027")


def optional_date(value: str, what: str) -> date | None:
    text = value.strip()
    if not text or text.upper() == "TBD":
        return None
    return parse_date(text, what)


# --- Reading CSV ----------------------------------------------------------------------------------


def read_records(text: str, file: RosterFile) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (as spelled) and each non-blank record with its first line number."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    line = 0
    try:
        for record in reader:
            first, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                continue
            records.append((first, record))
            if len(records) > MAX_ROWS:
                raise RosterFileError(
                    file, f"The {_name(file)} has more than {MAX_ROWS} rows; split it into parts"
                )
    except csv.Error as exc:
        raise RosterFileError(
            file, f"The {_name(file)} is not readable CSV at line {reader.line_num}: {exc}"
        ) from None
    if header is None:
        raise RosterFileError(file, f"The {_name(file)} is empty: it needs a header line")
    return header, records


def _name(file: RosterFile) -> str:
    return "roster" if file == "roster" else "due-date list"


def bind_columns(
    header: list[str],
    file: RosterFile,
    required: tuple[str, ...],
    known: tuple[str, ...],
    aliases: dict[str, str],
    shown: dict[str, str] | None = None,
) -> dict[str, int]:
    """Column positions by canonical name; raise naming every missing required column."""
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        key = normalise_header(raw)
        key = aliases.get(key, key)
        if key not in known:
            continue  # extra columns are tolerated
        if key in positions:
            raise RosterFileError(
                file,
                f"The {_name(file)} has the column {key!r} twice (headers "
                f"{header[positions[key]]!r} and {raw!r}); keep one",
            )
        positions[key] = index
    missing = [c for c in required if c not in positions]
    if missing:
        names = ", ".join(repr((shown or {}).get(c, c)) for c in missing)
        found = ", ".join(repr(h) for h in header if h) or "nothing"
        raise RosterFileError(
            file,
            f"The {_name(file)} is missing required column(s) {names}. Found: {found}. "
            f"Required: {', '.join(repr((shown or {}).get(c, c)) for c in required)} "
            "(header names; case and spaces do not matter)",
        )
    return positions


def cell(record: list[str], positions: dict[str, int], key: str) -> str:
    index = positions.get(key)
    if index is None or index >= len(record):
        return ""
    return record[index].strip()


# --- The CMS Revalidation Due Date List ---------------------------------------------------


def parse_due_dates(text: str) -> tuple[dict[str, DueDateEntry], int]:
    """Entries of the CMS list by Enrollment ID, and the number of data rows read. A row whose
    date cannot be read carries its problem (reported only if the roster names it)."""
    header, records = read_records(text, "due_dates")
    known = tuple(CMS_HEADERS)
    positions = bind_columns(header, "due_dates", CMS_REQUIRED, known, {}, CMS_HEADERS)

    def col(key: str) -> str:
        return header[positions[key]] if key in positions else CMS_HEADERS[key]

    entries: dict[str, DueDateEntry] = {}
    for row, record in records:
        raw_id = cell(record, positions, CMS_ENROLLMENT_ID)
        try:
            enrollment_id = validate_enrollment_id(raw_id)
        except ValueError:
            continue  # a row of the list we cannot match to anything: not our enrollment
        npi = cell(record, positions, CMS_NPI) or None
        due: date | None = None
        source: DueDateSource | None = None
        problem: RowProblem | None = None
        order: tuple[tuple[str, DueDateSource], ...] = (
            (CMS_ADJUSTED, "cms_list_adjusted"),
            (CMS_DUE, "cms_list"),
        )
        for key, kind in order:
            value = cell(record, positions, key)
            try:
                found = optional_date(value, col(key))
            except ValueError as exc:
                problem = RowProblem(
                    row=row,
                    column=col(key),
                    reason=str(exc),
                    file="due_dates",
                    enrollment_id=enrollment_id,
                )
                break
            if found is not None:
                due, source = found, kind
                break
        previous = entries.get(enrollment_id)
        if previous is not None and previous.due_date != due:
            problem = RowProblem(
                row=row,
                column=col(CMS_ENROLLMENT_ID),
                reason=f"Enrollment ID {enrollment_id} is listed twice with different due dates "
                f"(line {previous.row}: {previous.due_date or 'TBD'}; this line: {due or 'TBD'}); "
                "keep the newer list's line",
                file="due_dates",
                enrollment_id=enrollment_id,
            )
        person = " ".join(
            p for p in (cell(record, positions, CMS_FIRST), cell(record, positions, CMS_LAST)) if p
        )
        name = (cell(record, positions, CMS_ORGANIZATION) or person)[:MAX_NAME] or None
        entries[enrollment_id] = DueDateEntry(row, enrollment_id, npi, due, source, problem, name)
    return entries, len(records)
