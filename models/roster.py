"""Rosters of existing enrollments, and the CMS Revalidation Due Date List, read from CSV.

Pure: text in, rows and problems out. `parse_roster` binds columns by header name (case, spaces,
hyphens and underscores do not matter; extra columns are ignored; a UTF-8 BOM is dropped),
checks every cell with the same validators the API uses, joins the optional CMS list on the
Enrollment ID, and returns:

- `rows`: one `RosterRow` per good line, whose `start` is ready for `EnrollmentStart` (add
  `actor` and `reason`);
- `problems`: one `RowProblem(row, column, reason)` per bad cell, `row` being the 1-based line
  number in the file (the header is line 1) and `column` the header as spelled in the file.

A file that cannot be read as a roster at all (no header, a required column missing, a header
given twice) raises `RosterFileError` with one message naming every missing column.

CMS Revalidation Due Date List (domain.md 6.3): columns "Enrollment ID", "National Provider
Identifier", ..., "Revalidation Due Date", "Adjusted Due Date". Dates are MM/DD/YYYY or
YYYY-MM-DD; "TBD" means not yet posted (more than 6-7 months away, domain.md 4.3). The adjusted
due date, when given, wins over the revalidation due date; a date from the list wins over a
roster's own revalidation_due_date column (the list is CMS's word).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from models.enrollment import EnrollmentStart
from models.forms import parse_form
from models.identifiers import (
    validate_enrollment_id,
    validate_npi,
    validate_opaque_identifier,
    validate_state_code,
)

RosterFile = Literal["roster", "due_dates"]
DueDateSource = Literal["roster", "cms_list", "cms_list_adjusted"]

MAX_ROWS = 20_000
DATE_FORMATS = "MM/DD/YYYY or YYYY-MM-DD"
_ORGANIZATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Roster columns (canonical name -> other spellings seen in exports, already normalised).
REQUIRED = ("enrollment_id", "npi", "ptan", "form", "state", "effective_date")
OPTIONAL = ("organization_id", "provider_type", "revalidation_due_date")
ALIASES = {
    "enrlmt_id": "enrollment_id",
    "national_provider_identifier": "npi",
    "state_cd": "state",
    "state_code": "state",
    "enrollment_state_code": "state",
    "provider_type_text": "provider_type",
}

# CMS Revalidation Due Date List columns (domain.md 6.3), normalised.
CMS_ENROLLMENT_ID = "enrollment_id"
CMS_NPI = "national_provider_identifier"
CMS_DUE = "revalidation_due_date"
CMS_ADJUSTED = "adjusted_due_date"
CMS_REQUIRED = (CMS_ENROLLMENT_ID, CMS_DUE)
CMS_HEADERS = {
    CMS_ENROLLMENT_ID: "Enrollment ID",
    CMS_NPI: "National Provider Identifier",
    CMS_DUE: "Revalidation Due Date",
    CMS_ADJUSTED: "Adjusted Due Date",
}


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
class RosterRow:
    row: int
    start: dict[str, Any]  # EnrollmentStart fields except actor and reason
    due_date_source: DueDateSource | None = None
    due_dates_row: int | None = None  # the line of the CMS list that gave the due date
    notes: tuple[str, ...] = ()


@dataclass
class ParsedRoster:
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    data_rows: int = 0  # non-blank data lines read from the roster
    due_dates_rows: int = 0  # data lines read from the CMS list
    due_dates_matched: int = 0  # of those, how many named an enrollment of the roster


@dataclass(frozen=True)
class DueDateEntry:
    row: int
    enrollment_id: str
    npi: str | None
    due_date: date | None  # None: TBD or blank
    source: DueDateSource | None
    problem: RowProblem | None = None


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


def _optional_date(value: str, what: str) -> date | None:
    text = value.strip()
    if not text or text.upper() == "TBD":
        return None
    return parse_date(text, what)


# --- Reading CSV ----------------------------------------------------------------------------------


def _records(text: str, file: RosterFile) -> tuple[list[str], list[tuple[int, list[str]]]]:
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


def _bind(
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


def _cell(record: list[str], positions: dict[str, int], key: str) -> str:
    index = positions.get(key)
    if index is None or index >= len(record):
        return ""
    return record[index].strip()


# --- The CMS Revalidation Due Date List ---------------------------------------------------


def parse_due_dates(text: str) -> tuple[dict[str, DueDateEntry], int]:
    """Entries of the CMS list by Enrollment ID, and the number of data rows read. A row whose
    date cannot be read carries its problem (reported only if the roster names it)."""
    header, records = _records(text, "due_dates")
    known = (CMS_ENROLLMENT_ID, CMS_NPI, CMS_DUE, CMS_ADJUSTED)
    positions = _bind(header, "due_dates", CMS_REQUIRED, known, {}, CMS_HEADERS)

    def col(key: str) -> str:
        return header[positions[key]] if key in positions else CMS_HEADERS[key]

    entries: dict[str, DueDateEntry] = {}
    for row, record in records:
        raw_id = _cell(record, positions, CMS_ENROLLMENT_ID)
        try:
            enrollment_id = validate_enrollment_id(raw_id)
        except ValueError:
            continue  # a row of the list we cannot match to anything: not our enrollment
        npi = _cell(record, positions, CMS_NPI) or None
        due: date | None = None
        source: DueDateSource | None = None
        problem: RowProblem | None = None
        order: tuple[tuple[str, DueDateSource], ...] = (
            (CMS_ADJUSTED, "cms_list_adjusted"),
            (CMS_DUE, "cms_list"),
        )
        for key, kind in order:
            value = _cell(record, positions, key)
            try:
                found = _optional_date(value, col(key))
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
        entries[enrollment_id] = DueDateEntry(row, enrollment_id, npi, due, source, problem)
    return entries, len(records)


# --- The roster ---------------------------------------------------------------------------------


def parse_roster(
    roster_csv: str,
    due_dates_csv: str | None = None,
    *,
    organization_id: str = "default",
) -> ParsedRoster:
    """Good rows (EnrollmentStart-ready) and problems; raise RosterFileError when a file cannot
    be read at all. `organization_id` is used for rows without one of their own."""
    header, records = _records(roster_csv, "roster")
    known = REQUIRED + OPTIONAL
    positions = _bind(header, "roster", REQUIRED, known, ALIASES)
    due_dates: dict[str, DueDateEntry] = {}
    out = ParsedRoster(data_rows=len(records))
    if due_dates_csv is not None and due_dates_csv.strip():
        due_dates, out.due_dates_rows = parse_due_dates(due_dates_csv)

    def col(key: str) -> str:
        return header[positions[key]] if key in positions else key

    seen: dict[str, int] = {}
    for row, record in records:
        problems: list[RowProblem] = []
        values: dict[str, Any] = {}

        cells = [
            ("enrollment_id", validate_enrollment_id, True),
            ("npi", validate_npi, True),
            ("ptan", _ptan, True),
            ("form", _form, True),
            ("state", validate_state_code, True),
            ("effective_date", _effective_date, True),
            ("organization_id", _organization, False),
            ("provider_type", _provider_type, False),
            ("revalidation_due_date", _due_date, False),
        ]
        for key, parse, required in cells:
            raw = _cell(record, positions, key)
            if not raw:
                if required:
                    problems.append(RowProblem(row=row, column=col(key), reason=_empty(key)))
                continue
            try:
                values[key] = parse(raw)
            except ValueError as exc:
                problems.append(RowProblem(row=row, column=col(key), reason=str(exc)))
        enrollment_id = values.get("enrollment_id")
        if enrollment_id is not None:
            if enrollment_id in seen:
                problems.append(
                    RowProblem(
                        row=row,
                        column=col("enrollment_id"),
                        reason=f"Enrollment ID {enrollment_id} repeats line {seen[enrollment_id]}; "
                        "give each enrollment once",
                    )
                )
            else:
                seen[enrollment_id] = row
        source: DueDateSource | None = (
            "roster" if values.get("revalidation_due_date") is not None else None
        )
        entry = due_dates.get(enrollment_id) if enrollment_id else None
        notes: list[str] = []
        if entry is not None:
            out.due_dates_matched += 1
            if entry.problem is not None:
                problems.append(
                    RowProblem(
                        row=row,
                        column=col("revalidation_due_date")
                        if "revalidation_due_date" in positions
                        else col("enrollment_id"),
                        reason=f"the CMS due-date list (line {entry.row}, column "
                        f"{entry.problem.column!r}) cannot be used: {entry.problem.reason}",
                    )
                )
            elif entry.npi and "npi" in values and entry.npi != values["npi"]:
                problems.append(
                    RowProblem(
                        row=row,
                        column=col("npi"),
                        reason=f"npi {values['npi']} differs from the CMS due-date list "
                        f"(line {entry.row}: {entry.npi}) for Enrollment ID {enrollment_id}; "
                        "check which one is right in PECOS",
                    )
                )
            elif entry.due_date is not None:
                roster_due = values.get("revalidation_due_date")
                if roster_due is not None and roster_due != entry.due_date:
                    notes.append(
                        f"the CMS list's due date {entry.due_date} replaces the roster's "
                        f"{roster_due}"
                    )
                values["revalidation_due_date"] = entry.due_date
                source = entry.source
            else:
                notes.append(f"the CMS list shows TBD (line {entry.row}): due date not yet posted")
        for p in problems:
            p.enrollment_id = enrollment_id
        if not problems:
            start = {
                "enrollment_id": values["enrollment_id"],
                "organization_id": values.get("organization_id", organization_id),
                "npi": values["npi"],
                "ptan": values["ptan"],
                "form": values["form"],
                "state": values["state"],
                "effective_date": values["effective_date"],
                "provider_type": values.get("provider_type"),
                "revalidation_due_date": values.get("revalidation_due_date"),
                "source": "import",
            }
            problems += _whole_row_problems(row, start, col, enrollment_id)
            if not problems:
                out.rows.append(
                    RosterRow(
                        row=row,
                        start=start,
                        due_date_source=source,
                        due_dates_row=entry.row if entry is not None else None,
                        notes=tuple(notes),
                    )
                )
        out.problems += problems
    return out


def _empty(key: str) -> str:
    hints = {
        "enrollment_id": "the PECOS Enrollment ID, e.g. I20031103000001",
        "npi": "the provider's 10-digit NPI",
        "ptan": "the PTAN from the MAC's approval letter",
        "form": "the CMS form, e.g. CMS-855I",
        "state": "the two-letter enrollment state, e.g. FL",
        "effective_date": f"the date billing privileges began ({DATE_FORMATS})",
    }
    return f"{key} is empty: give {hints.get(key, 'a value')}"


def _ptan(value: str) -> str:
    return validate_opaque_identifier(value, "PTAN")


def _form(value: str) -> str:
    return parse_form(value).value


def _effective_date(value: str) -> date:
    return parse_date(value, "effective_date")


def _due_date(value: str) -> date | None:
    return _optional_date(value, "revalidation_due_date")


def _organization(value: str) -> str:
    if not _ORGANIZATION.fullmatch(value):
        raise ValueError(
            f"organization_id {value!r} is invalid: 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


def _provider_type(value: str) -> str:
    if len(value) > 200:
        raise ValueError(f"provider_type is {len(value)} characters long; the limit is 200")
    return value


def _whole_row_problems(
    row: int, start: dict[str, Any], col: Callable[[str], str], enrollment_id: str | None
) -> list[RowProblem]:
    """What only the whole row can show (e.g. a due date that is not a month end, or a due date
    for a form that never revalidates): checked by EnrollmentStart itself."""
    try:
        EnrollmentStart.model_validate({**start, "actor": "roster-check"})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False):
            loc = [str(p) for p in error.get("loc", ())]
            key = loc[0] if loc else "revalidation_due_date"
            reason = str(error.get("msg", "")).removeprefix("Value error, ")
            problems.append(
                RowProblem(row=row, column=col(key), reason=reason, enrollment_id=enrollment_id)
            )
        return problems
    return []
