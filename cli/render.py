"""What every `enroll` screen is made of: the two consoles, cells, statuses, rules, tables, and
the record and list views the applications and enrollments commands share.

Tables and JSON go to stdout (`out`), progress and errors to stderr (`console`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(stderr=True)
# Pipes and files get wide tables (a grep must find whole values); a terminal keeps its width.
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)


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


def table(title: str, headers: Iterable[str]) -> Table:
    """A titled table whose columns fold long values rather than cut them."""
    result = Table(title=title, title_justify="left")
    for header in headers:
        result.add_column(header, overflow="fold")
    return result


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


def show_record(view: dict[str, Any], kind: str) -> None:
    """An application or enrollment as the API shows it: its fields, open clocks, allowed
    events, the last entries of its log."""
    fields: dict[str, Any] = {}
    details = view.get("details") if isinstance(view.get("details"), dict) else {}
    for key in RECORD_FIELDS:
        value = view.get(key, details.get(key) if details else None)
        if value not in (None, "", []):
            fields[key] = value
    for key, value in {**(details or {}), **view}.items():
        if key not in fields and key not in RECORD_FIELDS and value not in (None, "", [], {}):
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                fields[key] = value
    ident = view.get(f"{kind}_id") or view.get("workflow_id") or "?"
    grid = field_grid(f"{kind.capitalize()} {ident}")
    for key, value in fields.items():
        grid.add_row(key, status_text(value) if key == "status" else cell(value))
    out.print(grid)

    clocks = [c for c in view.get("clocks") or [] if isinstance(c, dict)]
    if clocks:
        deadlines = table("Open deadlines", ("Last day", "Clock", "Rule", "If missed"))
        for c in sorted(clocks, key=lambda c: str(c.get("last_day"))):
            deadlines.add_row(
                cell(c.get("last_day")),
                cell(c.get("kind")),
                rule_text(c.get("rule") or {}),
                cell(c.get("consequence")),
            )
        out.print(deadlines)
    if "allowed_events" in view:
        allowed = view.get("allowed_events") or []
        out.print(
            Text.assemble(("Allowed events: ", "bold"), ", ".join(allowed) or "none (closed)"),
            soft_wrap=True,
        )
    events = [e for e in view.get("events") or [] if isinstance(e, dict)]
    if events:
        log = table("Log (last 10)", ("#", "Date", "Event", "Status", "Actor", "Reason"))
        for e in events[-10:]:
            before = e.get("from_status")
            log.add_row(
                cell(e.get("seq")),
                cell(e.get("event_date")),
                cell(e.get("event")),
                f"{before} → {e.get('to_status')}" if before else cell(e.get("to_status")),
                cell(e.get("actor")),
                cell(e.get("reason")),
            )
        out.print(log)


LIST_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "application": [
        ("ID", "application_id"),
        ("Org", "organization_id"),
        ("Form", "form"),
        ("Purpose", "purpose"),
        ("Status", "status"),
        ("NPI", "npi"),
        ("Name", "legal_name"),
        ("State", "state"),
        ("MAC", "mac_jurisdiction"),
        ("Next deadline", "next_deadline"),
        ("Updated", "updated_at"),
    ],
    "enrollment": [
        ("ID", "enrollment_id"),
        ("Org", "organization_id"),
        ("NPI", "npi"),
        ("PTAN", "ptan"),
        ("Form", "form"),
        ("State", "state"),
        ("MAC", "mac_jurisdiction"),
        ("Status", "status"),
        ("Cycle", "cycle"),
        ("Effective", "effective_date"),
        ("Revalidation due", "revalidation_due_date"),
        ("Next deadline", "next_deadline"),
        ("Updated", "updated_at"),
    ],
}


def show_list(page: dict[str, Any], kind: str) -> None:
    items = [i for i in page.get("items") or [] if isinstance(i, dict)]
    columns = [(h, k) for h, k in LIST_COLUMNS[kind] if any(k in i for i in items)] or [
        (h, k) for h, k in LIST_COLUMNS[kind][:5]
    ]
    rows = table(f"{len(items)} {kind}s", (header for header, _ in columns))
    for item in items:
        cells: list[Text | str] = []
        for _, key in columns:
            value = item.get(key)
            if key == "status":
                cells.append(status_text(value))
            elif key == "next_deadline" and value:
                kind_of = item.get("next_deadline_kind")
                cells.append(f"{value} {kind_of}" if kind_of else str(value))
            elif key == "updated_at" and isinstance(value, str):
                cells.append(value[:16].replace("T", " "))
            else:
                cells.append(cell(value))
        rows.add_row(*cells)
    out.print(rows)
    if page.get("next_cursor"):
        console.print(
            f"more: --cursor {page['next_cursor']}  (or --all for every page)", soft_wrap=True
        )
