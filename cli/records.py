"""What `enroll applications` and `enroll enrollments` share: the list filters, the event options,
`key=value` data, the create commands' work, and the get, event and list commands themselves.

No `from __future__ import annotations` here: the commands `add_record_commands` builds take their
help from its arguments, so their annotations must be evaluated where they are defined.
"""

import inspect
import json
import time
from datetime import date, timedelta
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
from cli.render import WideOption, console, print_json, set_wide, show_list, show_record

DATE_HINT = "use YYYY-MM-DD, e.g. 2026-11-30 (today and yesterday work too)"
RELATIVE_DAYS = {"today": 0, "yesterday": 1}


def is_date_key(key: str) -> bool:
    """Fields and filters that hold a date (receipt_date, signed_on, due_before...)."""
    return key.endswith(("_date", "_on", "_before")) or key == "date_of_birth"


def check_date(value: str, where: str) -> str:
    """An ISO date, or today/yesterday (resolved later against the engine's clock, which in the
    sandbox is the sandbox's date); anything else is a usage error that says the format."""
    text = value.strip().lower()
    if text in RELATIVE_DAYS:
        return text
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date: {DATE_HINT}", param_hint=where
        ) from None


def date_option(value: str | None) -> str | None:
    """Typer callback of every date option."""
    return None if value is None else check_date(value, "date")


def resolve_dates(api: Api, values: Any) -> Any:
    """Replace today/yesterday under date keys (at any depth) with the engine's date."""
    if isinstance(values, dict):
        resolved = {}
        for key, value in values.items():
            if is_date_key(key) and isinstance(value, str) and value in RELATIVE_DAYS:
                value = (api.today() - timedelta(days=RELATIVE_DAYS[value])).isoformat()
            resolved[key] = resolve_dates(api, value)
        return resolved
    return values


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
    typer.Option(
        "--due-before",
        help="Revalidation due before this date (YYYY-MM-DD, today, yesterday).",
        callback=date_option,
    ),
]
DeadlineBefore = Annotated[
    str | None,
    typer.Option(
        "--deadline-before",
        help="Soonest open deadline before this date (YYYY-MM-DD, today, yesterday).",
        callback=date_option,
    ),
]
LimitOption = Annotated[int | None, typer.Option("--limit", help="Page size (API default 50).")]
CursorOption = Annotated[str | None, typer.Option("--cursor", help="next_cursor of a page.")]
AllOption = Annotated[bool, typer.Option("--all", help="Follow next_cursor to the last page.")]
DataOption = Annotated[
    list[str] | None,
    typer.Option(
        "--data",
        "-d",
        help="Event data as key=value (key:=<json> for lists/numbers); repeat. Dates are "
        "YYYY-MM-DD, today or yesterday.",
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
        if is_date_key(key.split(".")[-1]) and isinstance(parsed, str):
            parsed = check_date(parsed, f"{option} {key}")
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
            "POST",
            f"/v1/{kind}s",
            body=resolve_dates(api, sent),
            headers=_idempotency(idempotency_key),
        )
        view = with_checks(api, kind, response.json())
        if as_json:
            print_json(view)
        else:
            verb = verbs[0] if response.status_code == 201 else verbs[1]
            ident = view.get(f"{kind}_id") or view.get("workflow_id")
            console.print(Text.assemble((verb, "green"), f" {ident}"))
            show_record(view, kind)
        return 0

    operate(api_url, api_key, work)


def with_checks(api: Api, kind: str, view: dict[str, Any], seconds: float = 3.0) -> Any:
    """The record once its pre-submission checks have run (they run just after a create or a
    draft change), so its open findings show now rather than when `submit` is refused."""
    record_id = view.get(f"{kind}_id")
    deadline = time.monotonic() + seconds
    while record_id and view.get("side_effects_pending") and time.monotonic() < deadline:
        time.sleep(0.1)
        view = api.json("GET", f"/v1/{kind}s/{record_id}")
    return view


def record_event(
    kind: str,
    record_id: str,
    event: str,
    payload: dict[str, Any],
    reason: str,
    *,
    idempotency_key: str | None,
    as_json: bool,
    api_url: str,
    api_key: str | None,
) -> None:
    """POST one operator event; print the record as it is after it."""

    def work(api: Api) -> int:
        view = api.json(
            "POST",
            f"/v1/{kind}s/{record_id}/events",
            body={"event": event, "data": resolve_dates(api, payload), "reason": reason},
            headers=_idempotency(idempotency_key),
        )
        view = with_checks(api, kind, view)
        if as_json:
            print_json(view)
        else:
            console.print(
                Text.assemble(("recorded ", "green"), (event, "bold"), f" → {view.get('status')}")
            )
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
        wide: WideOption = False,
        as_json: JsonOption = False,
        api_url: ApiUrlOption = DEFAULT_API_URL,
        api_key: ApiKeyOption = None,
    ) -> None:
        set_wide(wide)

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
        record_event(
            kind,
            record_id,
            event,
            payload,
            reason,
            idempotency_key=idempotency_key,
            as_json=as_json,
            api_url=api_url,
            api_key=api_key,
        )

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
        wide: WideOption = False,
        as_json: JsonOption = False,
        api_url: ApiUrlOption = DEFAULT_API_URL,
        api_key: ApiKeyOption = None,
    ) -> None:
        set_wide(wide)
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
            page = api.pages(f"/v1/{kind}s", resolve_dates(api, params), follow)
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
