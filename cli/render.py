"""What every `enroll` screen is made of: the two consoles, cells, statuses, rules, tables, and
the record and list views the applications and enrollments commands share.

Tables and JSON go to stdout (`out`), progress and errors to stderr (`console`). Screens are
made for an 80-column terminal: identifiers (application ids, NPIs, PECOS IDs, dates) never
fold, long text (rules, explanations, names) ends in an ellipsis, and the widest lists keep
their essential columns; `--wide` prints every column in full.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(stderr=True)
# Pipes and files get wide tables (a grep must find whole values); a terminal keeps its width.
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)
WIDE_WIDTH = 1000

WideOption = Annotated[
    bool,
    typer.Option("--wide", help="Every column, nothing cut (wider than the terminal)."),
]


def set_wide(wide: bool) -> None:
    """`--wide`: print every column in full, however wide the lines get."""
    if wide:
        out.width = WIDE_WIDTH


def is_wide() -> bool:
    return out.width >= WIDE_WIDTH


def print_error(message: str) -> None:
    console.print(Text.assemble(("error: ", "bold red"), (message, "red")), soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


STATUS_STYLES = {
    "approved": "green",
    "active": "green",
    "denied": "red",
    "rejected": "red",
    "revoked": "red",
    "deactivated": "red",
    "returned": "yellow",
    "withdrawn": "dim",
    "development_requested": "yellow",
}


def status_text(value: Any) -> Text:
    text = cell(value)
    return Text(text, style=STATUS_STYLES.get(text, "bold"))


def rule_text(rule: dict[str, Any]) -> str:
    return f"{cell(rule.get('key'))} v{cell(rule.get('version'))} ({cell(rule.get('citation'))})"


ColumnKind = Literal["id", "text", "wrap"]


@dataclass(frozen=True)
class Column:
    """A column of a screen: `id` never folds (identifiers, dates, codes, statuses), `text` is
    cut with an ellipsis when the terminal is too narrow, `wrap` wraps at words."""

    header: str
    kind: ColumnKind = "id"
    wide_only: bool = False


def table(
    title: str,
    headers: Iterable[str | Column],
    rows: Sequence[Sequence[Any]] = (),
    styles: Sequence[str | None] | None = None,
) -> Table:
    """A titled table for an 80-column terminal (see the module doc), sized from `rows`. Plain
    string headers make `wrap` columns, for tables whose rows come later by `add_row`."""
    columns = [h if isinstance(h, Column) else Column(h, "wrap") for h in headers]
    keep = [i for i, c in enumerate(columns) if is_wide() or not c.wide_only]
    natural = {i: max([_width(r[i]) for r in rows] + [len(columns[i].header)]) for i in keep}
    # Without rows there is nothing to size: Rich wraps the `wrap` columns as rows come.
    keep, widths = _fit(columns, keep, natural) if rows else (keep, {})
    result = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
    )
    for i in keep:
        column = columns[i]
        if column.kind == "id":
            # A fixed width: Rich never narrows it, so an identifier never folds or shrinks.
            result.add_column(column.header, no_wrap=True, width=natural[i])
        elif column.kind == "text":
            result.add_column(column.header, no_wrap=True, overflow="ellipsis", width=widths.get(i))
        else:
            result.add_column(column.header, overflow="fold", width=widths.get(i))
    for n, row in enumerate(rows):
        result.add_row(
            *(row[i] if isinstance(row[i], Text) else cell(row[i]) for i in keep),
            style=styles[n] if styles else None,
        )
    return result


# Below this a cut value is no longer recognisable ("developme…"): drop a column instead.
MIN_TEXT_WIDTH = 10


def _fit(
    columns: Sequence[Column], keep: list[int], natural: dict[int, int]
) -> tuple[list[int], dict[int, int]]:
    """The columns to show and the widths of the flexible (`text`, `wrap`) ones so the table
    fits the terminal. What the identifiers leave is shared out fairly: a column that needs
    less than its share gets what it needs, the others split the rest. When that leaves a text
    column fewer than MIN_TEXT_WIDTH cells, the last text columns go (`--wide` shows them)."""
    flexible = [i for i in keep if columns[i].kind != "id"]
    if is_wide() or not flexible:
        return keep, {}
    while True:
        # Between two columns: their padding and the divider (no edges, no outer padding).
        left = out.width - 3 * (len(keep) - 1) - sum(natural[i] for i in keep if i not in flexible)
        droppable = [i for i in flexible if columns[i].kind == "text"]
        if left >= MIN_TEXT_WIDTH * len(flexible) or not droppable:
            break
        keep = [i for i in keep if i != droppable[-1]]
        flexible = [i for i in flexible if i != droppable[-1]]
    widths: dict[int, int] = {}
    pending = sorted(flexible, key=lambda i: natural[i])
    while pending:
        share = max(4, left // len(pending))
        column = pending.pop(0)
        widths[column] = min(natural[column], share)
        left -= widths[column]
    return keep, widths


def _width(value: Any) -> int:
    return value.cell_len if isinstance(value, Text) else Text(cell(value)).cell_len


def field_grid(title: str) -> Table:
    """A titled two-column grid: field name, value."""
    grid = Table(title=title, show_header=False, title_justify="left")
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


RECORD_FIELDS = (
    "application_id",
    "enrollment_id",
    "workflow_id",
    "organization_id",
    "status",
    "assignee",
    "form",
    "purpose",
    "npi",
    "legal_name",
    "ptan",
    "state",
    "web_tracking_id",
    "case_number",
    "submitted_on",
    "receipt_date",
    "filing_date",
    "approval_date",
    "effective_date",
    "revalidation_due_date",
    "cycle",
    "time_zone",
    "created_at",
    "updated_at",
)


QUIET_WHEN_ZERO = {"side_effects_pending"}


def show_record(view: dict[str, Any], kind: str) -> None:
    """An application or enrollment as the API shows it: its fields, open findings, open
    clocks, allowed events, the last entries of its log."""
    fields: dict[str, Any] = {}
    details = view.get("details") if isinstance(view.get("details"), dict) else {}
    for key in RECORD_FIELDS:
        value = view.get(key, details.get(key) if details else None)
        if value not in (None, "", []):
            fields[key] = value
    for key, value in {**(details or {}), **view}.items():
        if key in QUIET_WHEN_ZERO and not value:
            continue
        if key not in fields and key not in RECORD_FIELDS and value not in (None, "", [], {}):
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                fields[key] = value
    ident = view.get(f"{kind}_id") or view.get("workflow_id") or "?"
    grid = field_grid(f"{kind.capitalize()} {ident}")
    for key, value in fields.items():
        grid.add_row(key, status_text(value) if key == "status" else cell(value))
    out.print(grid)
    show_findings(view.get("findings"))

    clocks = [c for c in view.get("clocks") or [] if isinstance(c, dict)]
    if clocks:
        rows = [
            [c.get("last_day"), c.get("kind"), c.get("consequence"), rule_text(c.get("rule") or {})]
            for c in sorted(clocks, key=lambda c: str(c.get("last_day")))
        ]
        out.print(
            table(
                "Open deadlines",
                (
                    Column("Last day"),
                    Column("Clock"),
                    Column("If missed", "wrap"),
                    Column("Rule", "wrap"),
                ),
                rows,
            )
        )
    if "allowed_events" in view:
        allowed = view.get("allowed_events") or []
        out.print(
            Text.assemble(("Allowed events: ", "bold"), ", ".join(allowed) or "none (closed)"),
            soft_wrap=is_wide(),
        )
    notes = [n for n in view.get("notes") or [] if isinstance(n, dict)]
    if notes:
        out.print(
            table(
                "Notes (latest 5)",
                (Column("Recorded"), Column("By", "text"), Column("Note", "wrap")),
                [[n.get("recorded_at"), n.get("actor"), n.get("text")] for n in notes[-5:]],
            )
        )
    events = [e for e in view.get("events") or [] if isinstance(e, dict)]
    if events:
        rows = []
        for e in events[-10:]:
            before = e.get("from_status")
            rows.append(
                [
                    e.get("seq"),
                    e.get("event_date"),
                    e.get("event"),
                    f"{before} → {e.get('to_status')}" if before else cell(e.get("to_status")),
                    e.get("actor"),
                    e.get("reason"),
                ]
            )
        out.print(
            table(
                "Log (last 10)",
                (
                    Column("#"),
                    Column("Date"),
                    Column("Event", "text"),
                    Column("Status", "text"),
                    Column("Actor", "text"),
                    Column("Reason", "wrap"),
                ),
                rows,
            )
        )


def _finding_text(f: dict[str, Any]) -> str:
    """The message, and for the outward checks what it was compared with and where from."""
    text = str(f.get("message") or "")
    if f.get("evidence"):
        text += f" Evidence: {f['evidence']}"
    if f.get("source"):
        dated = f" of {f['source_date']}" if f.get("source_date") else ""
        text += f" ({f['source']}{dated})"
    return text


def show_findings(findings: Any) -> None:
    """Open findings of the pre-submission checks (a missing SSN, an NPI that fails its check
    digit...): what `submit` would refuse, shown as soon as it is known."""
    items = [f for f in findings or [] if isinstance(f, dict)]
    if not items:
        return
    rows = [[f.get("severity"), f.get("field"), _finding_text(f)] for f in items]
    styles = ["red" if f.get("severity") == "error" else "yellow" for f in items]
    out.print(
        table(
            f"Open findings ({len(items)})",
            (Column("Severity"), Column("Field"), Column("Message", "wrap")),
            rows,
            styles,
        )
    )


# Per kind: (header, field, column kind, only with --wide).
LIST_COLUMNS: dict[str, list[tuple[str, str, ColumnKind, bool]]] = {
    "application": [
        ("ID", "application_id", "id", False),
        ("Org", "organization_id", "text", True),
        ("Form", "form", "id", True),
        ("Purpose", "purpose", "id", True),
        ("Status", "status", "text", False),
        ("NPI", "npi", "id", False),
        ("Name", "legal_name", "text", False),
        ("State", "state", "id", True),
        ("MAC", "mac_jurisdiction", "id", True),
        ("Next deadline", "next_deadline", "text", False),
        ("Find.", "open_findings", "id", False),
        ("Updated", "updated_at", "id", True),
    ],
    "enrollment": [
        ("ID", "enrollment_id", "id", False),
        ("Org", "organization_id", "text", True),
        ("NPI", "npi", "id", False),
        ("PTAN", "ptan", "id", True),
        ("Form", "form", "id", True),
        ("State", "state", "id", True),
        ("MAC", "mac_jurisdiction", "id", True),
        ("Status", "status", "text", False),
        ("Cycle", "cycle", "id", True),
        ("Effective", "effective_date", "id", True),
        ("Reval. due", "revalidation_due_date", "id", False),
        ("Next deadline", "next_deadline", "text", False),
        ("Updated", "updated_at", "id", True),
    ],
}


def show_list(page: dict[str, Any], kind: str) -> None:
    items = [i for i in page.get("items") or [] if isinstance(i, dict)]
    specs = [c for c in LIST_COLUMNS[kind] if any(c[1] in i for i in items)] or LIST_COLUMNS[kind][
        :5
    ]
    rows: list[list[Any]] = []
    for item in items:
        cells: list[Any] = []
        for _, key, _, _ in specs:
            value = item.get(key)
            if key == "status":
                cells.append(status_text(value))
            elif key == "next_deadline" and value:
                kind_of = item.get("next_deadline_kind")
                cells.append(f"{value} {kind_of}" if kind_of else str(value))
            elif key == "updated_at" and isinstance(value, str):
                cells.append(value[:16].replace("T", " "))
            elif key == "open_findings":
                cells.append(Text(str(value), style="yellow") if value else "")
            else:
                cells.append(value)
        rows.append(cells)
    columns = [Column(header, col_kind, wide) for header, _, col_kind, wide in specs]
    out.print(table(f"{len(items)} {kind}s", columns, rows))
    if page.get("next_cursor"):
        console.print(
            f"more: --cursor {page['next_cursor']}  (or --all for every page)", soft_wrap=True
        )
