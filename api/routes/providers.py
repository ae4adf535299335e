"""Providers: everything the engine holds for one NPI, from the read model: its applications
(table `application`) and its enrollment records (table `enrollment`)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.auth import AUTH_RESPONSES, Reader
from api.problems import invalid, problem_responses
from api.reads import engine_of
from api.responses.applications import ApplicationListItem
from api.responses.enrollments import EnrollmentListItem
from api.responses.providers import ProviderView
from models.identifiers import NPI_SCHEMA, validate_npi
from models.read_model import ApplicationRow, EnrollmentRow

router = APIRouter(prefix="/v1/providers", tags=["providers"], responses=AUTH_RESPONSES)

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000


@router.get(
    "/{npi}",
    summary="One provider by NPI: all its applications and enrollment records",
    description=(
        "Served from the SQL read model. `applications` are every application whose NPI is "
        "`npi`, and `enrollments` every enrollment record of that NPI, each newest change first "
        "(at most `limit` of each; `truncated` says when either has more). An NPI that fails "
        "validation (10 digits, first digit 1 or 2, Luhn check digit) answers 422 naming `npi` "
        "and the reason; a valid NPI the engine does not know answers 200 with empty lists."
    ),
    operation_id="getProvider",
    responses=problem_responses({422: "Not a valid NPI, or a bad limit (names the field and why)"}),
)
async def get_provider(
    request: Request,
    principal: Reader,
    npi: Annotated[
        str,
        Path(
            description="The provider's 10-digit NPI (first digit 1 or 2, Luhn check digit)",
            examples=["1234567893"],
            # Documented, not enforced here: validate_npi gives the precise reason on a 422.
            json_schema_extra=NPI_SCHEMA,
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ProviderView:
    """All applications and enrollment records of one NPI, from the read model."""
    try:
        npi = validate_npi(npi)
    except ValueError as exc:
        raise invalid(
            f"Path parameter 'npi': {exc}", [{"field": "npi", "reason": str(exc)}]
        ) from None
    applications = (
        select(ApplicationRow)
        .where(col(ApplicationRow.npi) == npi)
        .order_by(col(ApplicationRow.updated_at).desc(), col(ApplicationRow.application_id))
        .limit(limit + 1)
    )
    enrollments = (
        select(EnrollmentRow)
        .where(col(EnrollmentRow.npi) == npi)
        .order_by(col(EnrollmentRow.updated_at).desc(), col(EnrollmentRow.enrollment_id))
        .limit(limit + 1)
    )

    def fetch(engine: Engine) -> tuple[list[ApplicationRow], list[EnrollmentRow]]:
        with Session(engine) as s:
            return list(s.exec(applications)), list(s.exec(enrollments))

    apps, enrolled = await asyncio.to_thread(fetch, engine_of(request))
    return ProviderView(
        npi=npi,
        applications=[ApplicationListItem.model_validate(row) for row in apps[:limit]],
        enrollments=[EnrollmentListItem.model_validate(row) for row in enrolled[:limit]],
        truncated=len(apps) > limit or len(enrolled) > limit,
    )
