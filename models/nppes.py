"""The NPPES NPI Registry (API v2.1): what a lookup answers, and the checks of an application
against it.

Pure: the client (activities/nppes.py) fetches; this reads the answer and compares. The API's
quirks (docs/regulation.md, "NPPES"): only `version=2.1` is accepted; errors come as HTTP 200
with an `Errors` array (e.g. number "17" for a bad version, "07" for a state alone); an unknown
NPI is `{"result_count": 0, "results": []}`; at most 200 results a page and `skip` up to 1,000.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from models.checks import Finding, Severity
from models.forms import Form

NPPES = "NPPES"
SOURCE = "NPPES NPI Registry"
MAX_PAGE = 200
MAX_SKIP = 1_000


class NppesAnswerError(ValueError):
    """NPPES refused the query (an `Errors` array in a 200 answer): retrying cannot help."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        numbers = ", ".join(str(e.get("number")) for e in errors)
        text = "; ".join(str(e.get("description") or "") for e in errors)
        super().__init__(f"NPPES refused the query (error {numbers}): {text}")
        self.numbers = [str(e.get("number")) for e in errors]


class NppesAddress(BaseModel):
    model_config = ConfigDict(frozen=True)

    purpose: str  # LOCATION | MAILING
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


class NppesTaxonomy(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    desc: str | None = None
    primary: bool = False
    state: str | None = None


class NppesRecord(BaseModel):
    """One NPI as NPPES lists it."""

    model_config = ConfigDict(frozen=True)

    number: str
    enumeration_type: str  # NPI-1 (individual) | NPI-2 (organization)
    status: str | None  # "A" = active
    first_name: str | None = None
    last_name: str | None = None
    organization_name: str | None = None
    addresses: tuple[NppesAddress, ...] = ()
    taxonomies: tuple[NppesTaxonomy, ...] = ()
    last_updated: date | None = None

    @property
    def name(self) -> str:
        if self.enumeration_type == "NPI-2":
            return self.organization_name or ""
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def location(self) -> NppesAddress | None:
        return next((a for a in self.addresses if a.purpose == "LOCATION"), None)


def parse_answer(body: Any) -> NppesRecord | None:
    """The record of a lookup by number, None when NPPES has no such NPI; raise NppesAnswerError
    for an `Errors` answer and ValueError for a shape we do not know."""
    if not isinstance(body, dict):
        raise ValueError("NPPES answered something that is not a JSON object")
    if body.get("Errors"):
        raise NppesAnswerError(list(body["Errors"]))
    results = body.get("results")
    if not isinstance(results, list):
        raise ValueError("NPPES answered without a results list")
    if not results:
        return None
    raw = results[0]
    basic = raw.get("basic") or {}
    updated = basic.get("last_updated")
    return NppesRecord(
        number=str(raw.get("number")),
        enumeration_type=str(raw.get("enumeration_type")),
        status=basic.get("status"),
        first_name=basic.get("first_name"),
        last_name=basic.get("last_name"),
        organization_name=basic.get("organization_name"),
        addresses=tuple(
            NppesAddress(
                purpose=str(a.get("address_purpose")),
                city=a.get("city"),
                state=a.get("state"),
                postal_code=a.get("postal_code"),
            )
            for a in raw.get("addresses") or []
        ),
        taxonomies=tuple(
            NppesTaxonomy(
                code=str(t.get("code")),
                desc=t.get("desc"),
                primary=bool(t.get("primary")),
                state=t.get("state") or None,
            )
            for t in raw.get("taxonomies") or []
        ),
        last_updated=date.fromisoformat(updated) if updated else None,
    )


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.upper()).split()


def same_legal_name(record: NppesRecord, legal_name: str) -> bool:
    """Exact, but for case, punctuation and spacing. An individual's legal name may carry a
    middle name or initial NPPES keeps apart: first and last words must be NPPES's."""
    ours = _words(legal_name)
    if record.enumeration_type == "NPI-2":
        return ours == _words(record.organization_name or "")
    first, last = _words(record.first_name or ""), _words(record.last_name or "")
    if "," in legal_name:  # "Doe, Jane Q."
        surname, _, given = legal_name.partition(",")
        return _words(surname) == last and _words(given)[: len(first)] == first
    return bool(ours) and ours[: len(first)] == first and ours[-len(last) :] == last


def _finding(code: str, severity: Severity, field: str, message: str, evidence: str) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        field=field,
        message=message,
        evidence=evidence,
        source=SOURCE,
        check=NPPES,
        key=f"nppes:{code}",
    )


def unreachable_finding(npi: str, why: str, on: date) -> Finding:
    return Finding(
        code="nppes_unreachable",
        severity=Severity.WARNING,
        field="npi",
        message=(
            f"NPPES was not reachable to check NPI {npi} ({why}); the other checks ran. The "
            "check runs again with the next change or the next monthly run."
        ),
        source=SOURCE,
        source_date=on,
        check=NPPES,
        key="nppes:unreachable",
    )


def nppes_findings(
    npi: str,
    record: NppesRecord | None,
    *,
    form: Form,
    legal_name: str | None,
    state: str | None,
    on: date,
) -> list[Finding]:
    """NPI active and of the right kind, legal name exact, practice location and taxonomy
    consistent with the application."""

    def dated(f: Finding) -> Finding:
        return f.model_copy(update={"source_date": on})

    if record is None:
        return [
            dated(
                _finding(
                    "npi_not_in_nppes",
                    Severity.ERROR,
                    "npi",
                    f"NPPES has no NPI {npi}: enrollment needs an NPI NPPES issued (42 CFR "
                    "424.506). Check the number.",
                    "result_count 0",
                )
            )
        ]
    findings: list[Finding] = []
    if record.status != "A":
        findings.append(
            _finding(
                "npi_inactive",
                Severity.ERROR,
                "npi",
                f"NPI {npi} is not active in NPPES (status {record.status!r}); reactivate it "
                "in NPPES before enrolling.",
                f"basic.status {record.status!r}",
            )
        )
    individual = form in (Form.CMS_855I, Form.CMS_855O)
    expected = "NPI-1" if individual else "NPI-2"
    kind = "individual" if individual else "organization"
    if form != Form.CMS_588 and record.enumeration_type != expected:
        findings.append(
            _finding(
                "npi_type_mismatch",
                Severity.ERROR,
                "npi",
                f"A {form} needs a type {expected[-1]} NPI ({kind}); NPI {npi} is "
                f"{record.enumeration_type}.",
                f"enumeration_type {record.enumeration_type}",
            )
        )
    if legal_name and not same_legal_name(record, legal_name):
        findings.append(
            _finding(
                "nppes_name_differs",
                Severity.WARNING,
                "legal_name",
                "The legal name differs from NPPES's; the MAC compares them (and the IRS's) "
                "and develops or rejects on a mismatch. Correct whichever is wrong.",
                f"NPPES name {record.name!r}",
            )
        )
    location = record.location
    if state and location and location.state and location.state != state:
        findings.append(
            _finding(
                "nppes_location_differs",
                Severity.WARNING,
                "state",
                f"NPPES's practice location is in {location.state}, the application's in "
                f"{state}: update NPPES, or check the state (it picks the MAC).",
                f"LOCATION {location.city or ''} {location.state} {location.postal_code or ''}",
            )
        )
    if individual and state and record.taxonomies:
        states = {t.state for t in record.taxonomies if t.state}
        if states and state not in states:
            primary = next((t for t in record.taxonomies if t.primary), record.taxonomies[0])
            findings.append(
                _finding(
                    "nppes_taxonomy_state",
                    Severity.WARNING,
                    "state",
                    f"No NPPES taxonomy licence is in {state} (the licences listed are in "
                    f"{', '.join(sorted(states))}); a practitioner enrolls where licensed.",
                    f"primary taxonomy {primary.code} {primary.desc or ''}".strip(),
                )
            )
    return [dated(f) for f in findings]
