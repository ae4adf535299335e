"""`enroll applications`: create CMS-855 applications, record what happened, read, list, and
print the support packet."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiUrlOption, JsonOption, operate
from cli.records import (
    DataOption,
    IdempotencyOption,
    ReasonOption,
    add_record_commands,
    create_record,
    date_option,
    parse_pairs,
    record_event,
)
from cli.render import cell, console, field_grid, out, print_json, status_text, table

applications_app = typer.Typer(
    no_args_is_help=True, help="Create applications, record what happened, read and list them."
)


@applications_app.command("create")
def applications_create(
    form: Annotated[str, typer.Option("--form", help="e.g. CMS-855I, 855B, CMS-855S.")],
    purpose: Annotated[str, typer.Option("--purpose", help="e.g. initial, revalidation.")],
    application_id: Annotated[
        str | None, typer.Option("--id", help="Your id (generated when omitted).")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organization id.")] = None,
    detail: Annotated[
        list[str] | None,
        typer.Option(
            "--detail", "-d", help="Form detail as key=value, e.g. npi=1234567893; repeat."
        ),
    ] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", help="IANA zone.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why.")] = None,
    idempotency_key: IdempotencyOption = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Create a draft application (idempotent with --id or --idempotency-key)."""
    create_record(
        "application",
        {
            "application_id": application_id,
            "organization_id": org,
            "form": form,
            "purpose": purpose,
            "time_zone": time_zone,
            "details": parse_pairs(detail, "--detail"),
            "reason": reason,
        },
        idempotency_key=idempotency_key,
        verbs=("created", "already exists:"),
        as_json=as_json,
        api_url=api_url,
        api_key=api_key,
    )


add_record_commands(
    applications_app,
    "application",
    get_help="Full state: status, identifiers, open deadlines, allowed events, log.",
    event_help='Record what happened, e.g. `submit -d web_tracking_id=WT-1 -r "filed in PECOS"`.',
    event_argument_help="An operator event (see `enroll lifecycle`).",
    list_help="List applications from the read model, newest change first.",
)


def _draft_option(flag: str, help: str, date: bool = False) -> Any:
    return typer.Option(flag, help=help, callback=date_option if date else None)


@applications_app.command("update")
def applications_update(
    application_id: Annotated[str, typer.Argument(help="The draft application's id.")],
    reason: ReasonOption,
    legal_name: Annotated[str | None, _draft_option("--legal-name", "Legal name.")] = None,
    npi: Annotated[str | None, _draft_option("--npi", "NPI (10 digits).")] = None,
    ssn: Annotated[str | None, _draft_option("--ssn", "SSN (individuals).")] = None,
    ein: Annotated[str | None, _draft_option("--ein", "EIN (organizations).")] = None,
    date_of_birth: Annotated[
        str | None, _draft_option("--date-of-birth", "YYYY-MM-DD.", date=True)
    ] = None,
    state: Annotated[str | None, _draft_option("--state", "US state code.")] = None,
    provider_type: Annotated[
        str | None, _draft_option("--provider-type", "e.g. Cardiology.")
    ] = None,
    email: Annotated[str | None, _draft_option("--email", "Contact email.")] = None,
    data: DataOption = None,
    idempotency_key: IdempotencyOption = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Change the draft's details: the options above, or any detail as `-d field=value`
    (e.g. `-d first_service_date=2026-12-01`). Only what you give changes."""
    changes = parse_pairs(data, "--data")
    given = {
        "legal_name": legal_name,
        "npi": npi,
        "ssn": ssn,
        "ein": ein,
        "date_of_birth": date_of_birth,
        "state": state,
        "provider_type": provider_type,
        "contact_email": email,
    }
    changes |= {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise typer.BadParameter(
            "nothing to change: give e.g. --legal-name, --ssn or -d field=value"
        )
    record_event(
        "application",
        application_id,
        "update_draft",
        {"changes": changes},
        reason,
        idempotency_key=idempotency_key,
        as_json=as_json,
        api_url=api_url,
        api_key=api_key,
    )


@applications_app.command("packet")
def applications_packet(
    application_id: Annotated[str, typer.Argument(help="The application's id.")],
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write the printable HTML page to this file ('-': stdout)."),
    ] = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """The support packet: what to have in hand before calling the MAC or the help desk."""
    path = f"/v1/applications/{application_id}/support-packet"

    def work(api: Api) -> int:
        if html is not None:
            page = api.send("GET", path, params={"format": "html"}).text
            if str(html) == "-":
                sys.stdout.write(page)
            else:
                html.write_text(page, encoding="utf-8")
                console.print(f"wrote {html}")
            return 0
        packet = api.json("GET", path)
        print_json(packet) if as_json else _show_packet(packet)
        return 0

    operate(api_url, api_key, work)


# (section key, title, columns as (header, field)) of the packet's tables, in order.
PACKET_SECTIONS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "open_deadlines",
        "Open deadlines",
        [
            ("Last day", "last_day"),
            ("Days left", "days_left"),
            ("Clock", "kind"),
            ("If missed", "consequence"),
        ],
    ),
    (
        "development_requests",
        "Development requests",
        [
            ("Requested", "request_date"),
            ("Due", "due"),
            ("Status", "status"),
            ("Items", "items"),
        ],
    ),
    (
        "open_findings",
        "Open findings",
        [
            ("Severity", "severity"),
            ("Code", "code"),
            ("Field", "field"),
            ("Message", "message"),
        ],
    ),
    ("problems", "Problems", [("On", "on"), ("Kind", "kind"), ("Summary", "summary")]),
    (
        "recent_events",
        "Recent events",
        [
            ("#", "seq"),
            ("Date", "event_date"),
            ("Event", "event"),
            ("To", "to_status"),
            ("Actor", "actor"),
        ],
    ),
]


def _show_packet(p: dict[str, Any]) -> None:
    grid = field_grid(f"Support packet {p.get('application_id')} (as of {p.get('as_of')})")
    grid.add_row("status", status_text(p.get("status")))
    for section in ("identifiers", "application", "contractor", "dates"):
        for key, value in (p.get(section) or {}).items():
            if key == "tin":
                value = ", ".join(f"{t.get('kind')} {t.get('masked')}" for t in value or [])
            if value not in (None, "", []):
                grid.add_row(key, cell(value))
    if p.get("contractor_note"):
        grid.add_row("contractor", cell(p["contractor_note"]))
    grid.add_row("allowed events", cell(p.get("allowed_events")) or "none")
    out.print(grid)
    for key, title, columns in PACKET_SECTIONS:
        rows = [r for r in p.get(key) or [] if isinstance(r, dict)]
        if not rows:
            continue
        listing = table(title, (header for header, _ in columns))
        for r in rows:
            listing.add_row(*(cell(r.get(field)) for _, field in columns))
        out.print(listing)
