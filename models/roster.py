"""Rosters of existing enrollments, read from CSV with the CMS Revalidation Due Date List.

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

The CMS Revalidation Due Date List is read by models/due_date_list.py. A date from the list
wins over a roster's own revalidation_due_date column (the list is CMS's word). The provider's
name comes from the roster's name column, else from the list (organization name, or first and
last name).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from models.due_date_list import (
    MAX_NAME,
    DueDateEntry,
    DueDateSource,
    RosterFileError,
    RowProblem,
    bind_columns,
    cell,
    normalise_header,
    optional_date,
    parse_date,
    parse_due_dates,
    read_records,
)
from models.enrollment import EnrollmentStart
from models.forms import parse_form
from models.identifiers import (
    validate_enrollment_id,
    validate_npi,
    validate_opaque_identifier,
    validate_state_code,
)
from models.import_columns import ALIASES, DATE_FORMATS, OPTIONAL, REQUIRED

__all__ = [
    "DueDateSource",
    "ParsedRoster",
    "RosterFileError",
    "RosterRow",
    "RowProblem",
    "normalise_header",
    "parse_date",
    "parse_roster",
]

_ORGANIZATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


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


# --- The roster ---------------------------------------------------------------------------------


def parse_roster(
    roster_csv: str,
    due_dates_csv: str | None = None,
    *,
    organization_id: str = "default",
) -> ParsedRoster:
    """Good rows (EnrollmentStart-ready) and problems; raise RosterFileError when a file cannot
    be read at all. `organization_id` is used for rows without one of their own."""
    header, records = read_records(roster_csv, "roster")
    known = REQUIRED + OPTIONAL
    positions = bind_columns(header, "roster", REQUIRED, known, ALIASES)
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
            ("legal_name", _legal_name, False),
        ]
        for key, parse, required in cells:
            raw = cell(record, positions, key)
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
            if "legal_name" not in values and entry.name:
                values["legal_name"] = entry.name
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
                "legal_name": values.get("legal_name"),
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
    return optional_date(value, "revalidation_due_date")


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


def _legal_name(value: str) -> str:
    if len(value) > MAX_NAME:
        raise ValueError(f"the name is {len(value)} characters long; the limit is {MAX_NAME}")
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
