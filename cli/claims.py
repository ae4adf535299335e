"""`enroll claims check`: claim readiness for one claim header (options) or a CSV of them
(--csv FILE), through POST /v1/claims/readiness[/csv]; every mismatch with the record it
contradicts. Exits 2 when a claim is not ready."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.api_client import DEFAULT_API_URL, Api, ApiKeyOption, ApiProblem, ApiUrlOption, JsonOption
from cli.api_client import operate as run_operate
from cli.records import RELATIVE_DAYS, date_option
from cli.render import out, print_json

claims_app = typer.Typer(no_args_is_help=True, help="Claim readiness before billing.")


def _show(results: list[dict[str, Any]], problems: list[dict[str, Any]]) -> None:
    table = Table("claim", "ready", "finding", "field", "why", "evidence")
    for r in results:
        name = str(r.get("claim", {}).get("claim_id") or r.get("row") or "-")
        findings = r.get("findings") or []
        if not findings:
            table.add_row(name, "yes", "", "", "", "")
        for f in findings:
            table.add_row(
                name,
                "yes" if r.get("ready") else "no",
                f"{f.get('severity')}: {f.get('code')}",
                str(f.get("field") or ""),
                str(f.get("message") or ""),
                " ".join(
                    x for x in (f.get("evidence"), f.get("source"), f.get("source_date")) if x
                ),
            )
    out.print(table)
    for p in problems:
        out.print(f"line {p.get('row')}: {p.get('column') or '-'}: {p.get('reason')}")


@claims_app.command("check")
def check(
    billing_npi: Annotated[str | None, typer.Option(help="The billing NPI.")] = None,
    date_of_service: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD, today or yesterday.", callback=date_option),
    ] = None,
    rendering_npi: Annotated[str | None, typer.Option(help="The rendering NPI.")] = None,
    referring_npi: Annotated[str | None, typer.Option(help="The ordering/referring NPI.")] = None,
    ptan: Annotated[str | None, typer.Option(help="The PTAN billed.")] = None,
    facility_state: Annotated[str | None, typer.Option(help="Service facility state.")] = None,
    facility_zip: Annotated[str | None, typer.Option(help="Service facility ZIP.")] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", exists=True, dir_okay=False, help="A CSV of claim headers."),
    ] = None,
    as_json: JsonOption = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Check one claim (--billing-npi and --date-of-service at least) or a CSV of claims."""

    def work(api: Api) -> int:
        if csv_file is not None:
            response = api.http.post(
                "/v1/claims/readiness/csv",
                content=csv_file.read_bytes(),
                headers={"Content-Type": "text/csv"},
            )
            if response.status_code >= 400:
                raise ApiProblem(response)
            report = response.json()
            results, problems = report["claims"], report["problems"]
        else:
            if not billing_npi or not date_of_service:
                raise typer.BadParameter("give --billing-npi and --date-of-service, or --csv")
            when = date_of_service
            if when in RELATIVE_DAYS:
                when = (api.today() - timedelta(days=RELATIVE_DAYS[when])).isoformat()
            body = {
                "billing_npi": billing_npi,
                "date_of_service": when,
                "rendering_npi": rendering_npi,
                "referring_npi": referring_npi,
                "ptan": ptan,
                "service_facility_state": facility_state,
                "service_facility_zip": facility_zip,
            }
            answer = api.json(
                "POST",
                "/v1/claims/readiness",
                body={k: v for k, v in body.items() if v is not None},
            )
            results, problems = [answer], []
            report = answer
        print_json(report) if as_json else _show(results, problems)
        return 0 if all(r.get("ready") for r in results) and not problems else 2

    run_operate(api_url, api_key, work)
