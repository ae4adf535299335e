"""What `enroll applications` and `enroll enrollments` share: the list filters, the event options,
`key=value` data, the create commands' work, and the get, event and list commands themselves.

No `from __future__ import annotations` here: the commands `add_record_commands` builds take their
help from its arguments, so their annotations must be evaluated where they are defined.
"""

import inspect
import json
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.api_client import (
    DEFAULT_API_URL,
    Api,
    ApiKeyOption,
    ApiUrlOption,
    JsonOption,
    operate,
)
from cli.render import console, print_json, show_list, show_record

StatusFilter = Annotated[
    list[str] | None, typer.Option("--status", help="Status; repeat for any of several.")
]
FormFilter = Annotated[list[str] | None, typer.Option("--form", help="Form, e.g. CMS-855I.")]
StateFilter = Annotated[list[str] | None, typer.Option("--state", help="US state code.")]
MacFilter = Annotated[list[str] | None, typer.Option("--mac", help="MAC jurisdiction, e.g. JN.")]
NpiFilter = Annotated[str | None, typer.Option("--npi", help="Exactly this NPI.")]
OrgFilter = Annotated[str | None, typer.Option("--org", help="Organization id.")]
DueBeforeFilter = Annotated[
    str | None,
    typer.Option("--due-before", help="Revalidation due before this date (YYYY-MM-DD)."),
]
DeadlineBefore = Annotated[
    str | None,
    typer.Option("--deadline-before", help="Soonest open deadline before this date (YYYY-MM-DD)."),
]
LimitOption = Annotated[int | None, typer.Option("--limit", help="Page size (API default 50).")]
CursorOption = Annotated[str | None, typer.Option("--cursor", help="next_cursor of a page.")]
AllOption = Annotated[bool, typer.Option("--all", help="Follow next_cursor to the last page.")]
DataOption = Annotated[
    list[str] | None,
    typer.Option(
        "--data",
        "-d",
        help="Event data as key=value (key:=<json> for lists/numbers); repeat.",
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the log).")]
IdempotencyOption = Annotated[
    str | None,
    typer.Option("--idempotency-key", help="Makes a retry safe: the API does it once."),
]


def parse_pairs(values: list[str] | None, option: str) -> dict[str, Any]:
    """`key=value` (a string), `key:=json` (a JSON value: number, list, object...). A dotted key
    nests (`changes.provider_type=X`); a key given twice collects a list."""
    result: dict[str, Any] = {}
    for raw in values or []:
        key, sep, value = raw.partition("=")
        parsed: Any = value
        if key.endswith(":"):
            key = key[:-1]
            try:
                parsed = json.loads(value)
            except ValueError:
                raise typer.BadParameter(
                    f"{raw!r}: the value after ':=' must be JSON", param_hint=option
                ) from None
        if not sep or not key:
            raise typer.BadParameter(
                f"{raw!r}: use key=value (or key:=<json> for numbers, lists, objects)",
                param_hint=option,
            )
        *parents, leaf = key.split(".")
        target = result
        for part in parents:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise typer.BadParameter(f"{raw!r}: {part} is already a value", param_hint=option)
            target = nested
        if leaf in target:
            previous = target[leaf]
            target[leaf] = [*previous, parsed] if isinstance(previous, list) else [previous, parsed]
        else:
            target[leaf] = parsed
    return result


def _idempotency(key: str | None) -> dict[str, str] | None:
    return {"Idempotency-Key": key} if key else None


def create_record(
    kind: str,
    fields: dict[str, Any],
    *,
    extra: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    verbs: tuple[str, str],
    as_json: bool,
    api_url: str,
    api_key: str | None,
) -> None:
    """POST a new record: `fields` but those left None, then `extra` as given. Say whether it
    was made (`verbs[0]`) or already there (`verbs[1]`: a repeated create answers with it)."""
    sent = {k: v for k, v in fields.items() if v is not None} | (extra or {})

    def work(api: Api) -> int:
        response = api.send(
            "POST", f"/v1/{kind}s", body=sent, headers=_idempotency(idempotency_key)
        )
        view = response.json()
        if as_json:
            print_json(view)
        else:
            verb = verbs[0] if response.status_code == 201 else verbs[1]
            ident = view.get(f"{kind}_id") or view.get("workflow_id")
            console.print(Text.assemble((verb, "green"), f" {ident}"))
            show_record(view, kind)
        return 0

    operate(api_url, api_key, work)


def add_record_commands(
    group: typer.Typer,
    kind: str,
    *,
    get_help: str,
    event_help: str,
    event_argument_help: str,
    list_help: str,
    due_before_filter: bool = False,
) -> None:
    """Register `get`, `event` and `list` on the command group of one kind of record; `list`
    takes --due-before (revalidation due date) only where `due_before_filter` says so."""
    id_help = f"The {kind}'s id."
    id_metavar = f"{kind}_id"

    def get(
        record_id: Annotated[str, typer.Argument(help=id_help, metavar=id_metavar)],
        as_json: JsonOption = False,
        api_url: ApiUrlOption = DEFAULT_API_URL,
        api_key: ApiKeyOption = None,
    ) -> None:
        def work(api: Api) -> int:
            view = api.json("GET", f"/v1/{kind}s/{record_id}")
            print_json(view) if as_json else show_record(view, kind)
            return 0

        operate(api_url, api_key, work)

    def event(
        record_id: Annotated[str, typer.Argument(help=id_help, metavar=id_metavar)],
        event: Annotated[str, typer.Argument(help=event_argument_help)],
        reason: ReasonOption,
        data: DataOption = None,
        idempotency_key: IdempotencyOption = None,
        as_json: JsonOption = False,
        api_url: ApiUrlOption = DEFAULT_API_URL,
        api_key: ApiKeyOption = None,
    ) -> None:
        payload = parse_pairs(data, "--data")  # a bad pair is a usage error (exit 2)

        def work(api: Api) -> int:
            view = api.json(
                "POST",
                f"/v1/{kind}s/{record_id}/events",
                body={"event": event, "data": payload, "reason": reason},
                headers=_idempotency(idempotency_key),
            )
            if as_json:
                print_json(view)
            else:
                console.print(
                    Text.assemble(
                        ("recorded ", "green"), (event, "bold"), f" → {view.get('status')}"
                    )
                )
                show_record(view, kind)
            return 0

        operate(api_url, api_key, work)

    def list_(
        status: StatusFilter = None,
        form: FormFilter = None,
        state: StateFilter = None,
        mac: MacFilter = None,
        npi: NpiFilter = None,
        org: OrgFilter = None,
        due_before: DueBeforeFilter = None,
        deadline_before: DeadlineBefore = None,
        limit: LimitOption = None,
        cursor: CursorOption = None,
        follow: AllOption = False,
        as_json: JsonOption = False,
        api_url: ApiUrlOption = DEFAULT_API_URL,
        api_key: ApiKeyOption = None,
    ) -> None:
        params = {
            "status": status,
            "form": form,
            "state": state,
            "mac": mac,
            "npi": npi,
            "organization_id": org,
            "due_before": due_before,
            "deadline_before": deadline_before,
            "limit": limit,
            "cursor": cursor,
        }

        def work(api: Api) -> int:
            page = api.pages(f"/v1/{kind}s", params, follow)
            print_json(page) if as_json else show_list(page, kind)
            return 0

        operate(api_url, api_key, work)

    if not due_before_filter:
        # Typer reads the options from the signature: without the parameter there, there is no
        # --due-before, and the call leaves it None (which the API client does not send).
        signature = inspect.signature(list_)
        list_.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[p for p in signature.parameters.values() if p.name != "due_before"]
        )
    get.__doc__ = get_help
    event.__doc__ = event_help
    list_.__doc__ = list_help
    group.command("get")(get)
    group.command("event")(event)
    group.command("list")(list_)
