"""Claim readiness lookups: what the read model and the reference files say about the NPIs of
a claim header (models/claims.py makes the findings)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from activities.refdata import RECORDS
from activities.reference_checks import ENROLLMENTS, exclusion_entries, latest_load_date
from models.checks import CheckedParty, Finding
from models.claims import ClaimHeader, ClaimRecords, TrackedEnrollment, claim_findings
from models.data_checks import exclusion_findings
from models.refdata import ReferenceKind


def pecos_ids_of(conn: Connection, npi: str | None) -> tuple[str, ...]:
    if not npi:
        return ()
    rows = conn.execute(
        select(RECORDS.c.key).where(
            RECORDS.c.kind == ReferenceKind.PPEF_ENROLLMENT.value, RECORDS.c.npi == npi
        )
    )
    return tuple(sorted(k for (k,) in rows))


def groups_reassigned_to(conn: Connection, individual_ids: tuple[str, ...]) -> tuple[str, ...]:
    groups: set[str] = set()
    for rid in individual_ids:
        rows = conn.execute(
            select(RECORDS.c.link).where(
                RECORDS.c.kind == ReferenceKind.PPEF_REASSIGNMENT.value, RECORDS.c.owner == rid
            )
        )
        groups |= {g for (g,) in rows if g}
    return tuple(sorted(groups))


def practice_locations_of(
    conn: Connection, ids: tuple[str, ...]
) -> tuple[tuple[str, str, str], ...]:
    if not ids:
        return ()
    rows = conn.execute(
        select(RECORDS.c.data).where(
            RECORDS.c.kind == ReferenceKind.PPEF_PRACTICE_LOCATION.value,
            RECORDS.c.owner.in_(ids),
        )
    )
    out = []
    for (data,) in rows:
        v = json.loads(data)
        out.append((v.get("city_name", ""), v.get("state_cd", ""), v.get("zip_cd", "")))
    return tuple(out)


def _exclusions(conn: Connection, claim: ClaimHeader) -> tuple[tuple[str, str, object, str], ...]:
    parties = tuple(
        CheckedParty(role="provider", label=role, field=role, name="", organization=False, npi=npi)
        for role, npi in (
            ("billing_npi", claim.billing_npi),
            ("rendering_npi", claim.rendering_npi),
            ("referring_npi", claim.referring_npi),
        )
        if npi
    )
    found: list[Finding] = exclusion_findings(parties, exclusion_entries(conn, parties))
    return tuple(
        (f.field or "npi", f.source or "", f.source_date, f.evidence or "")
        for f in found
        if f.code == "excluded"
    )


def claim_records(conn: Connection, claim: ClaimHeader) -> ClaimRecords:
    enrollments = tuple(
        TrackedEnrollment(
            enrollment_id=row.enrollment_id,
            ptan=row.ptan,
            status=row.status,
            effective_date=row.effective_date,
            state=row.state,
        )
        for row in conn.execute(select(ENROLLMENTS).where(ENROLLMENTS.c.npi == claim.billing_npi))
    )
    billing_ids = pecos_ids_of(conn, claim.billing_npi)
    rendering_ids = pecos_ids_of(conn, claim.rendering_npi)
    referring_listed = bool(
        claim.referring_npi
        and conn.execute(
            select(RECORDS.c.id).where(
                RECORDS.c.kind == ReferenceKind.ORDER_REFERRING.value,
                RECORDS.c.npi == claim.referring_npi,
            )
        ).first()
    )
    return ClaimRecords.model_validate(
        {
            "enrollments": enrollments,
            "ppef_date": latest_load_date(conn, ReferenceKind.PPEF_ENROLLMENT),
            "billing_pecos_ids": billing_ids,
            "rendering_pecos_ids": rendering_ids,
            "reassignment_date": latest_load_date(conn, ReferenceKind.PPEF_REASSIGNMENT),
            "reassigned_to": groups_reassigned_to(conn, rendering_ids),
            "order_referring_date": latest_load_date(conn, ReferenceKind.ORDER_REFERRING),
            "referring_listed": referring_listed,
            "exclusions": _exclusions(conn, claim),
            "location_date": latest_load_date(conn, ReferenceKind.PPEF_PRACTICE_LOCATION),
            "locations": practice_locations_of(conn, billing_ids),
        }
    )


def check_claims(engine: Engine, claims: list[ClaimHeader]) -> list[list[Finding]]:
    """The findings of each claim, in order."""
    with engine.connect() as conn:
        return [claim_findings(c, claim_records(conn, c)) for c in claims]
