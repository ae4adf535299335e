"""`enroll deadlines`: the morning screen, every open clock soonest first, overdue in red."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiUrlOption, JsonOption, operate
from cli.records import OrgFilter
from cli.render import (
    Column,
    WideOption,
    cell,
    console,
    out,
    print_json,
    rule_text,
    set_wide,
    table,
)


def deadlines(
    within_days: Annotated[
        int | None,
        typer.Option("--within-days", "-w", help="Only clocks ending within N days (and overdue)."),
    ] = None,
    org: OrgFilter = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Clock kind; repeat for several.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many.")] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv (a spreadsheet) or ics (an iCalendar file: an all-day event on each "
            "clock's last day, to import or subscribe to); default the screen.",
        ),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="With --format: the file to write.")
    ] = None,
    wide: WideOption = False,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """The morning screen: every open clock, soonest first, overdue in red. With --format csv
    or ics, the same clocks as a spreadsheet or a calendar."""
    set_wide(wide)
    if format not in (None, "csv", "ics"):
        raise typer.BadParameter(f"{format!r}: use csv or ics", param_hint="--format")
    params = {"within_days": within_days, "organization_id": org, "kind": kind, "limit": limit}

    def work(api: Api) -> int:
        if format is not None:
            text = api.send("GET", "/v1/deadlines", params={**params, "format": format}).text
            if out_file is None:
                sys.stdout.write(text)
            else:
                out_file.write_text(text, encoding="utf-8", newline="")
                console.print(f"wrote {out_file}")
            return 0
        body = api.json("GET", "/v1/deadlines", params=params)
        print_json(body) if as_json else _show_deadlines(body)
        return 0

    operate(api_url, api_key, work)


def days_left(days: Any) -> Text:
    if not isinstance(days, int):
        return Text(cell(days))
    if days < 0:
        return Text(f"{-days} overdue", style="bold red")
    if days == 0:
        return Text("today", style="bold yellow")
    return Text(str(days), style="yellow" if days <= 7 else "")


def _show_deadlines(body: dict[str, Any]) -> None:
    items = [i for i in body.get("items") or [] if isinstance(i, dict)]
    items.sort(key=lambda i: (str(i.get("last_day")), str(i.get("fires_at"))))
    within = body.get("within_days")
    scope = f", ending within {within} days" if within is not None else ""
    rows, styles = [], []
    for i in items:
        record = i.get("record") or {}
        days = i.get("days_left")
        rows.append(
            [
                i.get("last_day"),
                days_left(days),
                record.get("id"),
                record.get("kind"),
                i.get("clock_kind"),
                record.get("legal_name"),
                record.get("status"),
                rule_text(i.get("rule") or {}),
            ]
        )
        styles.append("red" if isinstance(days, int) and days < 0 else None)
    out.print(
        table(
            f"Deadlines as of {body.get('today')} ({body.get('time_zone')}){scope}: "
            f"{len(items)} open",
            (
                Column("Last day"),
                Column("Left"),
                Column("Record"),
                Column("Kind", wide_only=True),
                # What is due comes first: on a narrow terminal the status goes, then the name.
                Column("Clock", "text"),
                Column("Name", "text"),
                Column("Status", "text"),
                Column("Rule", "text", wide_only=True),  # in full in `get` and --wide
            ),
            rows,
            styles,
        )
    )
    if body.get("truncated"):
        console.print("more clocks than shown: raise --limit or narrow --within-days")
