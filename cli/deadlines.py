"""`enroll deadlines`: the morning screen, every open clock soonest first, overdue in red."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiUrlOption, JsonOption, operate
from cli.records import OrgFilter
from cli.render import cell, console, out, print_json, rule_text, table


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
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """The morning screen: every open clock, soonest first, overdue in red."""

    def work(api: Api) -> int:
        body = api.json(
            "GET",
            "/v1/deadlines",
            params={
                "within_days": within_days,
                "organization_id": org,
                "kind": kind,
                "limit": limit,
            },
        )
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
    screen = table(
        f"Deadlines as of {body.get('today')} ({body.get('time_zone')}){scope}: {len(items)} open",
        ("Last day", "Days left", "Record", "Status", "Clock", "Rule"),
    )
    for i in items:
        record = i.get("record") or {}
        name = f" {record['legal_name']}" if record.get("legal_name") else ""
        days = i.get("days_left")
        screen.add_row(
            cell(i.get("last_day")),
            days_left(days),
            f"{cell(record.get('kind'))} {cell(record.get('id'))}{name}",
            cell(record.get("status")),
            cell(i.get("clock_kind")),
            rule_text(i.get("rule") or {}),
            style="red" if isinstance(days, int) and days < 0 else None,
        )
    out.print(screen)
    if body.get("truncated"):
        console.print("more clocks than shown: raise --limit or narrow --within-days")
