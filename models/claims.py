"""Claim readiness: a claim header against what the engine and the public files know, every
mismatch that would deny or hold the claim, each naming the record it contradicts.

Pure: the caller (activities/claims.py) looks the records up into `ClaimRecords`. A file never
loaded checks nothing (the finding would be a guess). Rules (docs/regulation.md, "Claim
readiness"): the billing provider enrolled and active on the date of service under the PTAN
billed (42 CFR 424.505, 424.520); a rendering practitioner who bills under a group has
reassigned to it (42 CFR 424.80); the ordering or referring NPI is in the Order and Referring
file (42 CFR 424.507); nobody on the claim is excluded (42 CFR 1001.1901); the service
facility is a practice location PECOS knows.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.calendar import WrittenDate
from models.findings import Finding, Severity
from models.identifiers import NPI, PTAN, StateCode
from models.text import Text100

CLAIMS = "claim_readiness"
MAX_CLAIMS = 5_000
CSV_COLUMNS = (
    "claim_id",
    "billing_npi",
    "rendering_npi",
    "referring_npi",
    "ptan",
    "tin",
    "service_facility_state",
    "service_facility_zip",
    "date_of_service",
)
# Statuses in which an enrollment's claims are paid (a stay or deactivation holds or denies).
PAYABLE = ("active",)


class ClaimHeader(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    claim_id: Text100 | None = None
    billing_npi: NPI
    rendering_npi: NPI | None = None
    referring_npi: NPI | None = None
    ptan: PTAN | None = None
    # Accepted for the record; the engine holds no TIN to compare it with.
    tin: str | None = Field(default=None, pattern=r"^[0-9]{2,3}-?[0-9]{2,7}-?[0-9]{0,4}$")
    service_facility_state: StateCode | None = None
    service_facility_zip: str | None = Field(default=None, pattern=r"^[0-9]{5}(-?[0-9]{4})?$")
    date_of_service: WrittenDate


class TrackedEnrollment(BaseModel):
    """One of our enrollments for the billing NPI (the read model's row)."""

    model_config = ConfigDict(frozen=True)

    enrollment_id: str
    ptan: str
    status: str
    effective_date: date
    state: str


class ClaimRecords(BaseModel):
    """What the lookups found for one claim. `*_date` is the date of the file used; None
    when that file was never loaded."""

    model_config = ConfigDict(frozen=True)

    enrollments: tuple[TrackedEnrollment, ...] = ()
    ppef_date: date | None = None
    billing_pecos_ids: tuple[str, ...] = ()
    rendering_pecos_ids: tuple[str, ...] = ()
    reassignment_date: date | None = None
    reassigned_to: tuple[str, ...] = ()  # the group enrollment IDs the rendering NPI reassigns to
    order_referring_date: date | None = None
    referring_listed: bool = False
    exclusions: tuple[tuple[str, str, date, str], ...] = ()  # (role, source, its date, evidence)
    location_date: date | None = None
    locations: tuple[tuple[str, str, str], ...] = ()  # (city, state, zip) of the billing IDs


def _f(
    code: str,
    field: str,
    message: str,
    evidence: str,
    *,
    source: str = "enrollment engine",
    on: date | None = None,
    severity: Severity = Severity.ERROR,
    citation: str | None = None,
) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        field=field,
        message=message,
        citation=citation,
        evidence=evidence,
        source=source,
        source_date=on,
        check=CLAIMS,
        key=f"{code}:{field}",
    )


def _billing(claim: ClaimHeader, r: ClaimRecords) -> list[Finding]:
    dos = claim.date_of_service
    if not r.enrollments:
        return [
            _f(
                "billing_not_enrolled",
                "billing_npi",
                f"The engine tracks no enrollment for billing NPI {claim.billing_npi}: the claim "
                "is denied unless the provider is enrolled (import or record its enrollment).",
                f"no enrollment with NPI {claim.billing_npi}",
                citation="42 CFR 424.505",
            )
        ]
    findings: list[Finding] = []
    usable = [e for e in r.enrollments if claim.ptan is None or e.ptan == claim.ptan]
    if claim.ptan is not None and not usable:
        known = ", ".join(sorted({e.ptan for e in r.enrollments}))
        findings.append(
            _f(
                "ptan_mismatch",
                "ptan",
                f"PTAN {claim.ptan} is not one of billing NPI {claim.billing_npi}'s: the MAC "
                "rejects a claim whose NPI and PTAN do not pair.",
                f"its enrollments have PTAN(s) {known}",
            )
        )
        usable = list(r.enrollments)
    payable = [e for e in usable if e.status in PAYABLE and e.effective_date <= dos]
    if not payable:
        e = usable[0]
        why = (
            f"its effective date is {e.effective_date.isoformat()}"
            if e.effective_date > dos
            else f"it is {e.status}"
        )
        findings.append(
            _f(
                "billing_not_payable",
                "date_of_service",
                f"On {dos.isoformat()} enrollment {e.enrollment_id} cannot be paid: {why}.",
                f"enrollment {e.enrollment_id}: status {e.status}, effective "
                f"{e.effective_date.isoformat()}",
                citation="42 CFR 424.520; 42 CFR 424.540; 42 CFR 424.541",
            )
        )
    if r.ppef_date is not None and not r.billing_pecos_ids:
        findings.append(
            _f(
                "billing_not_in_pecos",
                "billing_npi",
                f"Billing NPI {claim.billing_npi} is in no enrollment of the PPEF extract: "
                "check PECOS before billing.",
                f"no PPEF row with NPI {claim.billing_npi}",
                source="PPEF enrollment extract",
                on=r.ppef_date,
                severity=Severity.WARNING,
            )
        )
    if r.location_date is not None and r.locations and claim.service_facility_state:
        zip5 = (claim.service_facility_zip or "")[:5]
        matching = [
            loc
            for loc in r.locations
            if loc[1] == claim.service_facility_state and (not zip5 or loc[2][:5] == zip5)
        ]
        if not matching:
            shown = "; ".join(f"{c} {s} {z}" for c, s, z in r.locations[:5])
            findings.append(
                _f(
                    "service_location_unknown",
                    "service_facility_zip",
                    "The service facility is not a practice location PECOS lists for the "
                    "billing provider: report it (a change of information) or the claim may "
                    "be denied.",
                    f"PECOS practice locations: {shown}",
                    source="PPEF practice location extract",
                    on=r.location_date,
                    severity=Severity.WARNING,
                    citation="42 CFR 424.516",
                )
            )
    return findings


def claim_findings(claim: ClaimHeader, r: ClaimRecords) -> list[Finding]:
    findings = _billing(claim, r)
    rendering = claim.rendering_npi
    if (
        rendering
        and rendering != claim.billing_npi
        and r.reassignment_date is not None
        and r.ppef_date is not None
    ):
        groups = set(r.billing_pecos_ids)
        if not (set(r.reassigned_to) & groups):
            findings.append(
                _f(
                    "rendering_not_reassigned",
                    "rendering_npi",
                    f"Rendering NPI {rendering} has not reassigned its benefits to the billing "
                    f"provider {claim.billing_npi}: the claim is denied (file a CMS-855I "
                    "reassignment first).",
                    "it reassigns to "
                    + (", ".join(sorted(r.reassigned_to)) or "no group")
                    + "; the billing NPI's enrollments are "
                    + (", ".join(sorted(groups)) or "none"),
                    source="PPEF reassignment extract",
                    on=r.reassignment_date,
                    citation="42 CFR 424.80",
                )
            )
    if claim.referring_npi and r.order_referring_date is not None and not r.referring_listed:
        findings.append(
            _f(
                "referring_not_in_order_referring",
                "referring_npi",
                f"Referring NPI {claim.referring_npi} is not in the Order and Referring file: "
                "the claim for what it ordered or referred is denied.",
                f"no row for NPI {claim.referring_npi}",
                source="Order and Referring file",
                on=r.order_referring_date,
                citation="42 CFR 424.507",
            )
        )
    for role, source, on, evidence in r.exclusions:
        findings.append(
            _f(
                "excluded_party",
                role,
                f"The {role.replace('_', ' ')} is on the {source}: no Medicare payment is made "
                "for what an excluded party furnishes, orders or prescribes.",
                evidence,
                source=source,
                on=on,
                citation="42 CFR 1001.1901",
            )
        )
    return findings


class ClaimRowProblem(BaseModel):
    row: int
    column: str | None
    reason: str


def parse_claims_csv(text: str) -> tuple[list[tuple[int, ClaimHeader]], list[ClaimRowProblem]]:
    """Claims of a CSV (header names as `CSV_COLUMNS`; case and spaces do not matter), each
    with its line number, and a problem for each bad line naming the column."""
    from models.due_date_list import normalise_header

    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header: list[str] | None = None
    claims: list[tuple[int, ClaimHeader]] = []
    problems: list[ClaimRowProblem] = []
    for record in reader:
        if not any(c.strip() for c in record):
            continue
        if header is None:
            header = [normalise_header(h) for h in record]
            unknown = [h for h in header if h not in CSV_COLUMNS]
            missing = [c for c in ("billing_npi", "date_of_service") if c not in header]
            if unknown or missing:
                raise ValueError(
                    "The claims CSV header "
                    + (f"is missing {', '.join(missing)}" if missing else "")
                    + ("; " if missing and unknown else "")
                    + (f"has unknown column(s) {', '.join(unknown)}" if unknown else "")
                    + f". Columns: {', '.join(CSV_COLUMNS)}"
                )
            continue
        line = reader.line_num
        values = {h: v.strip() for h, v in zip(header, record, strict=False) if v.strip()}
        try:
            claims.append((line, ClaimHeader.model_validate(values)))
        except ValidationError as exc:
            for e in exc.errors(include_input=False):
                column = str(e["loc"][0]) if e["loc"] else None
                problems.append(ClaimRowProblem(row=line, column=column, reason=e["msg"]))
        if len(claims) + len(problems) > MAX_CLAIMS:
            raise ValueError(f"The claims CSV has more than {MAX_CLAIMS} rows; split it")
    if header is None:
        raise ValueError("The claims CSV is empty: it needs a header line")
    return claims, problems
