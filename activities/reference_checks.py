"""The outward data checks as activities: the reference rows looked up in the read-model
database, the findings made by the pure checks of models/data_checks.py.

- `check_application` (the pre-submission checks) adds the exclusion check of the provider,
  its owners and managing employees to the pure findings of models/checks.py.
- `run_reference_checks` checks enrollments again after a reference file was loaded (only those
  the load touched, for the exclusion lists) or every open one (the monthly run), and sends
  each its findings by signal; the workflow keeps one finding per fact and tells a new one once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.engine import Connection, Engine
from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from activities.nppes import NppesAnswerError, NppesClient, NppesUnavailable
from activities.refdata import LOADS, RECORDS
from models.application.status import FINAL_STATUSES
from models.checks import (
    CheckedParty,
    Finding,
    checked_parties,
    presubmission_findings,
)
from models.contracts import (
    CHECK_APPLICATION,
    RUN_REFERENCE_CHECKS,
    CheckRequest,
    EnrollmentFindings,
    ReferenceCheckRun,
)
from models.data_checks import (
    EXCLUSIONS,
    ORDER_REFERRING,
    PECOS,
    ExclusionEntry,
    FindingDisposition,
    exclusion_findings,
    order_referring_findings,
    party_name_key,
    pecos_findings,
    reassignment_findings,
)
from models.due_date_list import optional_date
from models.forms import Form
from models.identifiers import is_provisional_enrollment_id
from models.nppes import NPPES, nppes_findings, unreachable_finding
from models.read_model import ApplicationRow, EnrollmentRow
from models.refdata import ReferenceKind, name_key, yyyymmdd

ENROLLMENTS = EnrollmentRow.__table__  # type: ignore[attr-defined]
APPLICATIONS = ApplicationRow.__table__  # type: ignore[attr-defined]
EXCLUSION_KINDS = (ReferenceKind.LEIE, ReferenceKind.SAM)
# Enrollments that are no longer enrolled are not checked again.
CLOSED_STATUSES = ("revoked", "terminated", "voluntarily_terminated")
INDIVIDUAL_FORMS = (Form.CMS_855I.value, Form.CMS_855O.value)
ALL_CHECKS = (EXCLUSIONS, ORDER_REFERRING, PECOS)


def latest_load_date(conn: Connection, kind: ReferenceKind) -> date | None:
    """The publisher's date of the last completed load of `kind` (None: never loaded)."""
    row = conn.execute(_LATEST_LOAD, {"kind": kind.value}).first()
    return row[0] if row else None


# Built once, values bound at execution (issue 22: building them for every check was 1.7% of
# the worker's time in the throughput benchmark).
_LATEST_LOAD = (
    select(LOADS.c.source_date)
    .where(LOADS.c.kind == bindparam("kind"), LOADS.c.status == "done")
    .order_by(LOADS.c.load_id.desc())
    .limit(1)
)
_EXCLUSION_ROWS = select(RECORDS.c.key, RECORDS.c.data).where(
    RECORDS.c.kind == bindparam("kind"),
    or_(
        RECORDS.c.npi.in_(bindparam("npis", expanding=True)),
        RECORDS.c.name_key.in_(bindparam("names", expanding=True)),
    ),
)


def _entry(kind: ReferenceKind, key: str, data: str, source_date: date) -> ExclusionEntry:
    values: dict[str, str] = json.loads(data)
    if kind == ReferenceKind.LEIE:
        person = ", ".join(p for p in (values.get("lastname"), values.get("firstname")) if p)
        return ExclusionEntry(
            source="OIG LEIE",
            source_date=source_date,
            record_key=key,
            name=values.get("busname") or person,
            name_key=name_key(kind, values),
            npi=values.get("npi") if values.get("npi", "0000000000") != "0000000000" else None,
            date_of_birth=yyyymmdd(values.get("dob", "")),
            exclusion_type=values.get("excltype") or None,
            excluded_on=yyyymmdd(values.get("excldate", "")),
        )
    person = ", ".join(p for p in (values.get("last"), values.get("first")) if p)
    return ExclusionEntry(
        source="SAM.gov",
        source_date=source_date,
        record_key=key,
        name=values.get("name") or person,
        name_key=name_key(kind, values),
        npi=values.get("npi") or None,
        exclusion_type=values.get("exclusion_type") or None,
        excluded_on=_us_date(values.get("active_date", "")),
    )


def _us_date(text: str) -> date | None:
    """SAM.gov's Active Date (MM/DD/YYYY); None when blank or unreadable."""
    try:
        return optional_date(text, "Active Date")
    except ValueError:
        return None


def exclusion_entries(conn: Connection, parties: tuple[CheckedParty, ...]) -> list[ExclusionEntry]:
    """The LEIE and SAM rows that share an NPI or a name with one of the parties."""
    npis = {p.npi for p in parties if p.npi}
    names = {k for p in parties if (k := party_name_key(p))}
    if not npis and not names:
        return []
    entries: list[ExclusionEntry] = []
    for kind in EXCLUSION_KINDS:
        loaded = latest_load_date(conn, kind)
        if loaded is None:
            continue
        rows = conn.execute(
            _EXCLUSION_ROWS, {"kind": kind.value, "npis": sorted(npis), "names": sorted(names)}
        )
        entries += [_entry(kind, key, data, loaded) for key, data in rows]
    return entries


def _exists(conn: Connection, kind: ReferenceKind, **where: str) -> bool:
    query = select(func.count()).select_from(RECORDS).where(RECORDS.c.kind == kind.value)
    for column, value in where.items():
        query = query.where(RECORDS.c[column] == value)
    return bool(conn.execute(query).scalar_one())


def _listed_due(conn: Connection, enrollment_id: str) -> tuple[date | None, str | None]:
    row = conn.execute(
        select(RECORDS.c.data).where(
            RECORDS.c.kind == ReferenceKind.REVALIDATION_DUE_DATES.value,
            RECORDS.c.key == enrollment_id,
        )
    ).first()
    if row is None:
        return None, None
    values = json.loads(row[0])
    for column, which in (("adjusted_due_date", "adjusted"), ("revalidation_due_date", "due")):
        try:
            found = optional_date(values.get(column, ""), column)
        except ValueError:
            continue
        if found is not None:
            return found, which
    return None, None


def enrollment_findings(conn: Connection, row: Any) -> list[Finding]:
    """Every outward finding of one enrollment (a read-model row)."""
    individual = row.form in INDIVIDUAL_FORMS
    parties = checked_parties(row.legal_name, not individual, row.npi, None, ())
    findings = exclusion_findings(parties, exclusion_entries(conn, parties))
    findings += order_referring_findings(
        row.npi,
        _exists(conn, ReferenceKind.ORDER_REFERRING, npi=row.npi),
        latest_load_date(conn, ReferenceKind.ORDER_REFERRING),
        orders_or_refers=individual,
    )
    if not is_provisional_enrollment_id(row.enrollment_id):
        listed, which = _listed_due(conn, row.enrollment_id)
        findings += pecos_findings(
            row.enrollment_id,
            row.revalidation_due_date,
            ppef_date=latest_load_date(conn, ReferenceKind.PPEF_ENROLLMENT),
            in_ppef=_exists(conn, ReferenceKind.PPEF_ENROLLMENT, key=row.enrollment_id),
            due_list_date=latest_load_date(conn, ReferenceKind.REVALIDATION_DUE_DATES),
            listed_due_date=listed,
            listed_due_kind=which,
        )
        rendering = conn.execute(
            select(func.count())
            .select_from(RECORDS)
            .where(
                RECORDS.c.kind == ReferenceKind.PPEF_REASSIGNMENT.value,
                RECORDS.c.link == row.enrollment_id,
            )
        ).scalar_one()
        findings += reassignment_findings(
            row.enrollment_id,
            row.form,
            row.ptan,
            reassignment_date=latest_load_date(conn, ReferenceKind.PPEF_REASSIGNMENT),
            rendering=int(rendering),
        )
    return findings


def touched_enrollments(conn: Connection, run: ReferenceCheckRun) -> list[Any]:
    """The open enrollments a run checks: for a load of an exclusion list, those sharing an NPI
    or a name with a record the load added or changed; otherwise every open one (a removal
    from the Order and Referring file or the PPEF matters as much as an addition)."""
    open_rows = list(
        conn.execute(select(ENROLLMENTS).where(ENROLLMENTS.c.status.not_in(CLOSED_STATUSES)))
    )
    if run.load_id is None or run.kind not in {k.value for k in EXCLUSION_KINDS}:
        return open_rows
    touched = list(
        conn.execute(
            select(RECORDS.c.npi, RECORDS.c.name_key).where(
                RECORDS.c.kind == run.kind, RECORDS.c.changed_load == run.load_id
            )
        )
    )
    npis = {n for n, _ in touched if n}
    names = {k for _, k in touched if k}
    chosen = []
    for row in open_rows:
        parties = checked_parties(
            row.legal_name, row.form not in INDIVIDUAL_FORMS, row.npi, None, ()
        )
        if row.npi in npis or any(party_name_key(p) in names for p in parties):
            chosen.append(row)
    return chosen


class ReferenceChecks:
    """The activities of the outward checks, over the read-model database."""

    def __init__(self, engine: Engine, nppes: NppesClient | None = None) -> None:
        self.engine = engine
        self.nppes = nppes  # None: the NPPES check is off (ENROLL_NPPES_BASE_URL unset)

    async def _nppes_findings(
        self, npi: str | None, form: Form, legal_name: str | None, state: str | None, on: date
    ) -> list[Finding]:
        if self.nppes is None or not npi:
            return []
        try:
            record = await self.nppes.lookup(npi)
        except (NppesUnavailable, NppesAnswerError) as exc:
            return [unreachable_finding(npi, str(exc), on)]
        return nppes_findings(npi, record, form=form, legal_name=legal_name, state=state, on=on)

    def _application_findings(
        self, parties: tuple[CheckedParty, ...], dispositions: tuple[FindingDisposition, ...]
    ) -> list[Finding]:
        with self.engine.connect() as conn:
            return exclusion_findings(parties, exclusion_entries(conn, parties), dispositions)

    @activity.defn(name=CHECK_APPLICATION)
    async def check_application(self, req: CheckRequest) -> list[Finding]:
        """The pre-submission findings of a draft as of `req.as_of`: the pure rules, the
        exclusion lists for the provider, its owners and managing employees, and NPPES."""
        findings = presubmission_findings(req.facts, req.as_of)
        findings += await asyncio.to_thread(
            self._application_findings, req.facts.parties, req.dispositions
        )
        facts = req.facts
        return findings + await self._nppes_findings(
            facts.npi, facts.form, facts.legal_name, facts.state, req.as_of
        )

    def _open_applications(self, run: ReferenceCheckRun) -> list[str]:
        """Applications whose checks run again: every open one, for the monthly run and for a
        load of an exclusion list (their owners and managing employees are not in the read
        model, so which ones a load touches is not known here)."""
        if run.load_id is not None and run.kind not in {k.value for k in EXCLUSION_KINDS}:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(APPLICATIONS.c.workflow_id).where(
                    APPLICATIONS.c.status.not_in([s.value for s in FINAL_STATUSES])
                )
            )
            return [w for (w,) in rows]

    async def enrollment_targets(
        self, run: ReferenceCheckRun, on: date
    ) -> list[tuple[str, tuple[str, ...], list[Finding]]]:
        """Each enrollment `run` checks: its workflow id, the checks that ran and their
        findings. A run of every check (monthly, or `enroll refdata check` without a load) also
        asks NPPES about each enrollment; a reload leaves the NPPES findings as they were."""

        def from_files() -> list[tuple[Any, list[Finding]]]:
            with self.engine.connect() as conn:
                return [
                    (row, enrollment_findings(conn, row)) for row in touched_enrollments(conn, run)
                ]

        targets = []
        for row, findings in await asyncio.to_thread(from_files):
            checks: tuple[str, ...] = ALL_CHECKS
            if run.load_id is None and self.nppes is not None:
                checks = (*ALL_CHECKS, NPPES)
                findings = findings + await self._nppes_findings(
                    row.npi, Form(row.form), row.legal_name, row.state, on
                )
            targets.append((row.workflow_id, checks, findings))
        return targets

    @activity.defn(name=RUN_REFERENCE_CHECKS)
    async def run_reference_checks(self, run: ReferenceCheckRun) -> int:
        """Check the enrollments `run` names and send each its findings; answers how many.
        A retry sends them again, which changes nothing (one finding per fact)."""
        targets = await self.enrollment_targets(run, datetime.now(UTC).date())
        client = activity.client()
        sent = 0
        for done, (workflow_id, checks, findings) in enumerate(targets):
            try:
                await client.get_workflow_handle(workflow_id).signal(
                    "record_findings",
                    EnrollmentFindings(checks=checks, findings=findings, load_id=run.load_id),
                )
                sent += 1
            except RPCError as exc:
                # Closed since the read model last saw it: nothing left to tell.
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                activity.logger.info("enrollment closed", extra={"workflow_id": workflow_id})
            activity.heartbeat(done)
        for workflow_id in await asyncio.to_thread(self._open_applications, run):
            try:
                await client.get_workflow_handle(workflow_id).signal("recheck")
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
            activity.heartbeat(workflow_id)
        return sent
