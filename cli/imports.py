"""`enroll import`: a roster of existing enrollments (with the CMS Revalidation Due Date List),
sent to `POST /v1/imports` in chunks behind a progress bar, every problem reported by its line in
the original file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiUrlOption, JsonOption, operate
from cli.render import cell, console, out, print_json
from models.import_columns import ALIASES, CMS_HEADERS, DATE_FORMATS, OPTIONAL, REQUIRED

IMPORT_CHUNK_ROWS = 200
ISSUE_OUTCOMES = ("past_due", "due_date_differs", "conflict", "failed")  # rows to act on
IMPORT_OUTCOMES = ("created", "unchanged", *ISSUE_OUTCOMES)


@dataclass
class CsvRecords:
    """A CSV file cut into records, each kept as its exact text, with line counts: the header
    (and any blank lines before it) and each data record, so a chunk sent alone is numbered by
    the API exactly as in the whole file once its offset is added."""

    header: str
    records: list[tuple[str, int]]  # (text, physical lines)


def csv_records(text: str) -> CsvRecords:
    """Read `text` the way the API does (csv over newline-preserving lines) and keep each
    record's own text; a quoted field may span lines, blank lines stay (they count as lines)."""
    text = text.lstrip("\ufeff")
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    chunks: list[tuple[str, int]] = []
    try:
        for _ in csv.reader(lines()):
            chunks.append(("".join(consumed), len(consumed)))
            consumed.clear()
    except csv.Error:
        pass  # the API reads the same text and names the line; send it as it is
    if consumed:
        chunks.append(("".join(consumed), len(consumed)))
    header_parts: list[str] = []
    while chunks:
        part, _ = chunks.pop(0)
        header_parts.append(part)
        if part.strip():
            break
    header = "".join(header_parts)
    if header and not header.endswith(("\n", "\r")):
        header += "\n"
    return CsvRecords(header, chunks)


def _row_issue(result: dict[str, Any]) -> dict[str, Any]:
    """A result the operator must look at (conflict, due date differs, failed) as a problem."""
    outcome = result.get("outcome")
    differences = result.get("differences")
    column = (
        ", ".join(differences)
        if isinstance(differences, dict) and differences
        else "revalidation_due_date"
        if outcome == "due_date_differs"
        else None
    )
    return {
        "row": result.get("row"),
        "column": column,
        "reason": f"{outcome}: {result.get('detail') or ''}".strip(),
        "file": "roster",
        "enrollment_id": result.get("enrollment_id"),
        "outcome": outcome,
    }


def merge_import_answer(
    merged: dict[str, Any], answer: dict[str, Any], line_offset: int
) -> dict[str, Any]:
    """Fold one chunk's POST /v1/imports answer into the running total. Roster rows are
    renumbered to the original file (`line_offset` lines came before this chunk's records);
    the due-date list goes whole with every chunk, so its problems keep their numbers and are
    reported once."""

    def shifted(item: dict[str, Any]) -> dict[str, Any]:
        row = item.get("row")
        if isinstance(row, int) and item.get("file", "roster") == "roster":
            return {**item, "row": row + line_offset}
        return item

    counts = answer.get("counts") or {}
    for key in ("rows", "good_rows", "bad_rows", *IMPORT_OUTCOMES):
        value = counts.get(key)
        if isinstance(value, int):
            merged["counts"][key] = merged["counts"].get(key, 0) + value
    results = [shifted(r) for r in answer.get("results") or [] if isinstance(r, dict)]
    merged["results"] += results
    problems = [shifted(p) for p in answer.get("problems") or [] if isinstance(p, dict)]
    problems += [_row_issue(r) for r in results if r.get("outcome") in ISSUE_OUTCOMES]
    seen = {json.dumps(p, sort_keys=True, default=str) for p in merged["problems"]}
    for p in problems:
        key = json.dumps(p, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            merged["problems"].append(p)
    due = answer.get("due_dates")
    if isinstance(due, dict):
        merged["due_dates"] = {
            "rows": due.get("rows"),
            "matched": (merged.get("due_dates") or {}).get("matched", 0)
            + (due.get("matched") or 0),
        }
    return merged


def _show_import(merged: dict[str, Any]) -> None:
    counts = merged["counts"]
    problems = merged["problems"]
    summary = Table(title=f"Import of {Path(merged['file']).name}", title_justify="left")
    summary.add_column("Outcome")
    summary.add_column("Rows", justify="right")
    summary.add_row(Text("created", style="green"), str(counts.get("created", 0)))
    summary.add_row("unchanged", str(counts.get("unchanged", 0)))
    for outcome in ISSUE_OUTCOMES:
        if counts.get(outcome):
            summary.add_row(Text(outcome, style="yellow"), str(counts[outcome]))
    bad_rows = len({(p.get("file"), p.get("row")) for p in problems})
    summary.add_row(Text("problems", style="red" if problems else ""), str(bad_rows))
    out.print(summary)
    due = merged.get("due_dates")
    if isinstance(due, dict):
        console.print(
            f"due-date list: {due.get('rows')} rows, {due.get('matched')} matched the roster"
        )
    if not problems:
        return
    table = Table(title="Problems", title_justify="left")
    table.add_column("Row", justify="right")
    table.add_column("Column")
    table.add_column("Reason", overflow="fold")
    table.add_column("File")
    by_place = sorted(
        problems, key=lambda p: (cell(p.get("file")), p.get("row") or 0, cell(p.get("column")))
    )
    for p in by_place:
        table.add_row(
            cell(p.get("row")),
            cell(p.get("column")),
            cell(p.get("reason")),
            "due dates" if p.get("file") == "due_dates" else "roster",
            style="yellow" if p.get("outcome") == "due_date_differs" else "red",
        )
    out.print(table)


# Paragraphs, each one line: the help screen wraps them to the terminal.
ROSTER_HELP = "\n\n".join(
    [
        "Import a roster of existing enrollments, with the CMS due-date list.",
        "Roster columns (the header line names them; case, spaces and underscores do not "
        f"matter): required {', '.join(REQUIRED)}; optional {', '.join(OPTIONAL)}. Also "
        "accepted: "
        + ", ".join(f"{alias} for {name}" for alias, name in ALIASES.items())
        + f". Dates are {DATE_FORMATS}; form is e.g. CMS-855I (or 855I); enrollment_id is the "
        "PECOS Enrollment ID (I or O and 14 digits).",
        "Due-date list columns (--due-dates, the CMS file as downloaded): "
        f"{', '.join(CMS_HEADERS.values())}.",
        "A progress bar, then what was created, what was already there, and every problem by "
        "line and column (the header is line 1). Idempotent: run it again after fixing the "
        "file. Exit 0 when every row is in, 2 when some rows have problems (or conflict, "
        "differ, or failed).",
    ]
)


def import_roster(
    roster: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The roster CSV."),
    ],
    due_dates: Annotated[
        Path | None,
        typer.Option(
            "--due-dates",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The CMS Revalidation Due Date List (CSV, from data.cms.gov).",
        ),
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="Organization for rows without one.")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why.")] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Roster rows per request.")
    ] = IMPORT_CHUNK_ROWS,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    parsed = csv_records(roster.read_text(encoding="utf-8-sig"))
    due_text = due_dates.read_text(encoding="utf-8-sig") if due_dates else None
    data = parsed.records

    def work(api: Api) -> int:
        merged: dict[str, Any] = {
            "file": str(roster),
            "counts": {},
            "results": [],
            "problems": [],
            "due_dates": None,
        }
        chunks = [data[i : i + chunk_rows] for i in range(0, len(data), chunk_rows)] or [[]]
        with Progress(
            TextColumn("importing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(roster.name, total=len(data))
            offset = 0  # physical lines of the records sent before this chunk
            for chunk in chunks:
                body: dict[str, Any] = {"roster_csv": parsed.header + "".join(t for t, _ in chunk)}
                if due_text is not None:
                    body["due_dates_csv"] = due_text
                if org is not None:
                    body["organization_id"] = org
                if reason is not None:
                    body["reason"] = reason
                answer = api.json("POST", "/v1/imports", body=body)
                merge_import_answer(merged, answer if isinstance(answer, dict) else {}, offset)
                offset += sum(n for _, n in chunk)
                progress.advance(task, len(chunk))
        merged["chunks"] = len(chunks)
        print_json(merged) if as_json else _show_import(merged)
        return 2 if merged["problems"] else 0

    operate(api_url, api_key, work)


import_roster.__doc__ = ROSTER_HELP
