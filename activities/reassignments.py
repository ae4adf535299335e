"""The reassignment graph of one NPI, from the PPEF extracts: the groups its enrollments
reassign benefits to (with their PTAN when the engine tracks the group, and their practice
locations), and the practitioners who reassign to it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from activities.claims import groups_reassigned_to, pecos_ids_of, practice_locations_of
from activities.refdata import RECORDS
from activities.reference_checks import ENROLLMENTS, latest_load_date
from models.refdata import ReferenceKind


def _enrollment(conn: Connection, enrollment_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(RECORDS.c.data).where(
            RECORDS.c.kind == ReferenceKind.PPEF_ENROLLMENT.value, RECORDS.c.key == enrollment_id
        )
    ).first()
    values = json.loads(row[0]) if row else {}
    person = " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p)
    ours = conn.execute(
        select(ENROLLMENTS.c.ptan).where(ENROLLMENTS.c.enrollment_id == enrollment_id)
    ).first()
    return {
        "enrollment_id": enrollment_id,
        "npi": values.get("npi") or None,
        "name": values.get("org_name") or person or None,
        "state": values.get("state_cd") or None,
        "provider_type": values.get("provider_type_desc") or None,
        "ptan": ours[0] if ours else None,
    }


def reassignment_graph(conn: Connection, npi: str) -> dict[str, Any]:
    ids = pecos_ids_of(conn, npi)
    reassigns_to = []
    for individual in ids:
        for group in groups_reassigned_to(conn, (individual,)):
            locations = practice_locations_of(conn, (group,))
            reassigns_to.append(
                {
                    "from_enrollment_id": individual,
                    "group": _enrollment(conn, group),
                    "practice_locations": [
                        {"city": c, "state": s, "zip": z} for c, s, z in locations
                    ],
                }
            )
    members = []
    for group in ids:
        rows = conn.execute(
            select(RECORDS.c.owner).where(
                RECORDS.c.kind == ReferenceKind.PPEF_REASSIGNMENT.value, RECORDS.c.link == group
            )
        )
        for (individual,) in rows:
            members.append(
                {"to_enrollment_id": group, "practitioner": _enrollment(conn, individual)}
            )
    return {
        "npi": npi,
        "enrollments": [_enrollment(conn, i) for i in ids],
        "reassigns_to": reassigns_to,
        "receives_from": members,
        "ppef_date": latest_load_date(conn, ReferenceKind.PPEF_ENROLLMENT),
        "reassignment_date": latest_load_date(conn, ReferenceKind.PPEF_REASSIGNMENT),
    }
