"""`enroll pecos-access`: who can act for an organisation in PECOS, and recording users, logins
and password changes (through the API, with your key)."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiUrlOption, operate
from cli.render import print_json, table

pecos_access_app = typer.Typer(
    no_args_is_help=True,
    help="PECOS access hygiene of an organisation: show, record.",
)
EVENTS = ("user_added", "user_removed", "login_recorded", "password_changed")


def _show(view: dict[str, Any]) -> None:
    out = Console(file=sys.stdout, width=160 if not sys.stdout.isatty() else None)
    rows = [
        [u["user"], u["role"], u["password_expires_on"], u["locked_on"], u["can_act"]]
        for u in view["users"]
    ]
    title = f"{view['organization_id']}: {view['can_act']} can act in PECOS on {view['today']}"
    out.print(table(title, ["user", "role", "password expires", "locks", "can act"], rows))
    if view["short_handed_since"]:
        out.print(f"FINDING: fewer than two can act since {view['short_handed_since']}")


@pecos_access_app.command("show")
def show(
    organization_id: str = typer.Argument(..., help="The organisation"),
    as_json: bool = typer.Option(False, "--json", help="The API's answer as JSON"),
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Who can act for the organisation, and when each password and account lapses."""

    def work(api: Api) -> int:
        view = api.json("GET", f"/v1/organizations/{organization_id}/pecos-access")
        print_json(view) if as_json else _show(view)
        return 0

    operate(api_url, api_key, work)


@pecos_access_app.command("record")
def record(
    organization_id: str = typer.Argument(..., help="The organisation"),
    event: str = typer.Argument(..., help=" | ".join(EVENTS)),
    user: str = typer.Argument(..., help="The person's label (letters, digits, . _ -; no names)"),
    on: str = typer.Option(..., "--on", help="The date it happened (YYYY-MM-DD)"),
    role: str | None = typer.Option(
        None, "--role", help="user_added: authorized_official | delegated_official | surrogate"
    ),
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Record a PECOS user, a login or a password change."""

    def work(api: Api) -> int:
        body = {"event": event, "user": user, "on": on, "role": role}
        view = api.json(
            "POST", f"/v1/organizations/{organization_id}/pecos-access/events", body=body
        )
        _show(view)
        return 0

    operate(api_url, api_key, work)
