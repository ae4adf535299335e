"""Claim readiness: before a claim goes out, every mismatch that would deny or hold it."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from sqlalchemy.engine import Engine

from activities.claims import check_claims
from api.auth import AUTH_RESPONSES, Reader
from api.bodies import CLAIMS_CSV_FORMAT
from api.problems import MALFORMED, invalid, problem_responses
from api.responses.claims import ClaimReadiness, ClaimReadinessReport
from models.claims import CSV_COLUMNS, MAX_CLAIMS, ClaimHeader, parse_claims_csv
from models.findings import Severity

router = APIRouter(prefix="/v1/claims", tags=["claims"], responses=AUTH_RESPONSES)

MAX_CSV_BYTES = 20_000_000
DESCRIPTION = (
    "Compares a claim header (billing, rendering and referring NPIs, PTAN, service facility, "
    "date of service) with the engine's enrollments and the loaded public files: the billing "
    "provider enrolled and payable on the date of service under that PTAN, the rendering "
    "practitioner reassigned to it, the referring NPI in the Order and Referring file, nobody "
    "excluded, the service facility a practice location PECOS lists. A file never loaded "
    "checks nothing. `ready` is false when any finding is an error."
)


def _ready(findings: list[object]) -> bool:
    return not any(getattr(f, "severity", None) == Severity.ERROR for f in findings)


@router.post(
    "/readiness",
    operation_id="checkClaimReadiness",
    response_model=ClaimReadiness,
    summary="Check one claim header before it is billed",
    description=DESCRIPTION,
    responses=MALFORMED,
)
async def check_claim(request: Request, principal: Reader, claim: ClaimHeader) -> ClaimReadiness:
    engine: Engine = request.app.state.engine
    (findings,) = await asyncio.to_thread(check_claims, engine, [claim])
    return ClaimReadiness(claim=claim, ready=_ready(list(findings)), findings=findings)


@router.post(
    "/readiness/csv",
    operation_id="checkClaimsReadinessCsv",
    response_model=ClaimReadinessReport,
    summary="Check a CSV of claim headers",
    description=(
        DESCRIPTION
        + f" Send the CSV as the body (`text/csv`), columns {', '.join(CSV_COLUMNS)} (only "
        f"billing_npi and date_of_service required), at most {MAX_CLAIMS} rows; a bad line is "
        "a problem naming its line and column, the others are checked."
    ),
    responses=problem_responses({422: "Not a claims CSV (names the columns)"}),
    # The route reads the body itself (a file, not JSON): the document says what it takes.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "format": CLAIMS_CSV_FORMAT,
                        "description": "A header line naming the columns (billing_npi and "
                        "date_of_service required), then a claim header per line.",
                    }
                }
            },
        }
    },
)
async def check_claims_csv(request: Request, principal: Reader) -> ClaimReadinessReport:
    engine: Engine = request.app.state.engine
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise invalid("The CSV is too large", [{"field": "body", "reason": "over 20 MB"}])
    try:
        parsed, problems = parse_claims_csv(body.decode("utf-8-sig", errors="replace"))
    except ValueError as exc:
        raise invalid(str(exc), [{"field": "body", "reason": str(exc)}]) from None
    results = await asyncio.to_thread(check_claims, engine, [c for _, c in parsed])
    claims = [
        ClaimReadiness(row=row, claim=claim, ready=_ready(list(found)), findings=found)
        for (row, claim), found in zip(parsed, results, strict=True)
    ]
    ready = sum(1 for c in claims if c.ready)
    return ClaimReadinessReport(
        claims=claims, problems=problems, ready=ready, not_ready=len(claims) - ready
    )
