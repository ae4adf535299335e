"""`enroll enrollments`: import existing enrollment records, record what happened, read and list
them."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.api_client import DEFAULT_API_URL, ApiKeyOption, ApiUrlOption, JsonOption
from cli.records import (
    add_record_commands,
    create_record,
    date_option,
    parse_pairs,
)

enrollments_app = typer.Typer(
    no_args_is_help=True,
    help="Enrollment records: import existing ones, record what happened, read and list them.",
)


@enrollments_app.command("import")
def enrollments_import(
    npi: Annotated[str, typer.Option("--npi", help="The provider's NPI.")],
    ptan: Annotated[str, typer.Option("--ptan", help="The PTAN from the approval letter.")],
    form: Annotated[str, typer.Option("--form", help="e.g. CMS-855I.")],
    state: Annotated[str, typer.Option("--state", help="US state code of the enrollment.")],
    effective_date: Annotated[
        str,
        typer.Option(
            "--effective-date", help="Effective date (YYYY-MM-DD, today).", callback=date_option
        ),
    ],
    enrollment_id: Annotated[
        str, typer.Option("--id", help="PECOS Enrollment ID, e.g. I20031103000001.")
    ],
    org: Annotated[str | None, typer.Option("--org", help="Organization id.")] = None,
    due_date: Annotated[
        str | None,
        typer.Option(
            "--due-date",
            help="Revalidation due date from the CMS list (YYYY-MM-DD, a month end).",
            callback=date_option,
        ),
    ] = None,
    provider_type: Annotated[str | None, typer.Option("--provider-type")] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", help="IANA zone.")] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", "-f", help="Any other body field as key=value; repeat."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why.")] = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Import one existing enrollment (approved before the engine knew it); idempotent on --id."""
    create_record(
        "enrollment",
        {
            "enrollment_id": enrollment_id,
            "organization_id": org,
            "npi": npi,
            "ptan": ptan,
            "form": form,
            "state": state,
            "effective_date": effective_date,
            "revalidation_due_date": due_date,
            "provider_type": provider_type,
            "time_zone": time_zone,
            "reason": reason,
        },
        extra=parse_pairs(field, "--field"),
        verbs=("imported", "already imported:"),
        as_json=as_json,
        api_url=api_url,
        api_key=api_key,
    )


add_record_commands(
    enrollments_app,
    "enrollment",
    get_help="Full state: status, cycle, revalidation due date, open deadlines, allowed events, "
    "log.",
    event_help="Record what happened, e.g. "
    "`revalidation_notice_received -d letter_date=2026-05-01`.",
    event_argument_help="An operator event (`enroll lifecycle --kind enrollment`).",
    list_help="List enrollment records from the read model, newest change first.",
    due_before_filter=True,
)
