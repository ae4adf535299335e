"""`enroll lifecycle`: the states, events and transitions of either lifecycle, as the API serves
its one transition table (a table, JSON, or the Mermaid diagram)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiUrlOption, JsonOption, operate
from cli.render import cell, out, print_json, table


def lifecycle(
    kind: Annotated[str, typer.Option("--kind", help="application or enrollment.")] = "application",
    mermaid: Annotated[bool, typer.Option("--mermaid", help="Print the Mermaid diagram.")] = False,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """States, events (with their data fields) and transitions; ⏰ marks the engine's timers."""
    if kind not in ("application", "enrollment"):
        raise typer.BadParameter(f"{kind!r}: use application or enrollment", param_hint="--kind")

    def work(api: Api) -> int:
        body = api.json("GET", "/v1/lifecycle")
        lifecycle_table = body.get(kind)
        if not isinstance(lifecycle_table, dict):
            served = ", ".join(k for k in body if k != "mermaid") or "none"
            raise RuntimeError(f"this API serves no {kind} lifecycle (it serves: {served})")
        if mermaid:
            text = (body.get("mermaid") or {}).get(kind)
            if not isinstance(text, str):
                text = api.send("GET", "/v1/lifecycle/mermaid", params={"kind": kind}).text
            sys.stdout.write(text.rstrip("\n") + "\n")
        elif as_json:
            print_json(lifecycle_table)
        else:
            _show_lifecycle(lifecycle_table)
        return 0

    operate(api_url, api_key, work)


def _show_lifecycle(t: dict[str, Any]) -> None:
    terminal = set(t.get("terminal") or [])
    states = [
        f"{s} (initial)" if s == t.get("initial") else f"{s} (final)" if s in terminal else s
        for s in t.get("states") or []
    ]
    out.print(
        Text.assemble((f"{t.get('name')} lifecycle — states: ", "bold"), ", ".join(states)),
        soft_wrap=True,
    )
    events = [e for e in t.get("events") or [] if isinstance(e, dict)]
    timers = {e.get("name") for e in events if e.get("source") == "timer"}
    by_event = table("Events", ("Event", "By", "Data fields (* required)"))
    for e in events:
        fields = e.get("data_fields") or {}
        by_event.add_row(
            cell(e.get("name")),
            "⏰ engine" if e.get("name") in timers else "operator",
            ", ".join(f"{n}*" if spec.get("required") else n for n, spec in fields.items()),
        )
    out.print(by_event)
    transitions = table("Transitions", ("From", "Event", "To", "Guard"))
    for tr in t.get("transitions") or []:
        event = cell(tr.get("event"))
        transitions.add_row(
            cell(tr.get("from")),
            f"⏰ {event}" if event in timers else event,
            cell(tr.get("to")),
            cell(tr.get("guard")),
        )
    out.print(transitions)
    guards = t.get("guards") or {}
    for name, meaning in guards.items():
        out.print(Text.assemble((f"guard {name}: ", "bold"), cell(meaning)), soft_wrap=True)
