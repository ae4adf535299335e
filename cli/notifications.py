"""`enroll notifications`: the outbox of notices, what failed and why, re-sending and
acknowledging (through the API, with your key)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiUrlOption, operate
from cli.render import print_json, table

notifications_app = typer.Typer(
    no_args_is_help=True,
    help="Notices on their way out: list (--failed), resend, ack.",
)

IdArgument = Annotated[
    int, typer.Argument(help="The notification's number (the list's first column)")
]


def _rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            i["id"],
            i["state"] + (" !" if i["failing"] else ""),
            i["kind"],
            i["due_date"] or "",
            i["attempts"],
            i["subject"],
            i["last_error"] or "",
        ]
        for i in items
    ]


@notifications_app.command("list")
def list_notifications(
    failed: bool = typer.Option(
        False, "--failed", help="Only notices whose last attempt failed (refused or retrying)"
    ),
    status: str | None = typer.Option(None, "--status", help="pending, claimed, sent or failed"),
    workflow_id: str | None = typer.Option(None, "--workflow", help="One record's workflow id"),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
    as_json: bool = typer.Option(False, "--json", help="The API's answer as JSON"),
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """List notices, oldest first (every page)."""

    def work(api: Api) -> int:
        params: dict[str, Any] = {"limit": limit}
        if failed or status:
            params["status"] = "failed" if failed else status
        if workflow_id:
            params["workflow_id"] = workflow_id
        items: list[dict[str, Any]] = []
        while True:
            page = api.json("GET", "/v1/notifications", params=params)
            items += page["items"]
            if page["next_after"] is None:
                break
            params["after"] = page["next_after"]
        if as_json:
            print_json({"items": items})
            return 0
        out = Console(file=sys.stdout, width=160 if not sys.stdout.isatty() else None)
        headers = ["id", "state", "kind", "due", "tries", "subject", "last error"]
        out.print(table(f"{len(items)} notification(s)", headers, _rows(items)))
        return 0

    operate(api_url, api_key, work)


@notifications_app.command("resend")
def resend(
    notification_id: IdArgument,
    reason: str = typer.Option(..., "--reason", help="Why (kept in the record's history)"),
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Re-send a notice that failed, now (a sent one is never sent again)."""

    def work(api: Api) -> int:
        answer = api.json(
            "POST", f"/v1/notifications/{notification_id}/resend", body={"reason": reason}
        )
        sys.stdout.write(
            f"notification {notification_id}: {answer['workflow_id']} re-runs "
            f"{answer['retried']} failing side effect(s) now\n"
        )
        return 0

    operate(api_url, api_key, work)


@notifications_app.command("ack")
def ack(
    notification_id: IdArgument,
    reason: str | None = typer.Option(None, "--reason", help="What is being done about it"),
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Acknowledge a notice: someone is on it, so its deadline stops escalating."""

    def work(api: Api) -> int:
        body = {"reason": reason} if reason else None
        answer = api.json("POST", f"/v1/notifications/{notification_id}/ack", body=body)
        when = "already acknowledged" if answer["already"] else "acknowledged"
        sys.stdout.write(
            f"notification {notification_id}: {when} by {answer['acknowledged_by']} at "
            f"{answer['acknowledged_at']}\n"
        )
        return 0

    operate(api_url, api_key, work)
