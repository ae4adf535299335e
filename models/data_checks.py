"""The checks that look outward: a record against the public reference files (exclusion lists,
the Order and Referring file, the PECOS extracts and the Revalidation Due Date List).

Pure: the caller (activities/reference_checks.py) looks the reference rows up and hands them
in; these functions say what contradicts what, as findings that name the record they compared
with (`evidence`), the file (`source`) and its date (`source_date`). Each finding's `key` is
the same for the same fact, so running a check twice gives one finding (docs/regulation.md,
"Data checks").
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from models.checks import CheckedParty, Finding, Severity
from models.notices import Notice, NoticeKind
from models.records import Actor, Reason
from models.refdata import organization_name_key, person_name_key
from models.text import Text100

ExclusionSource = Literal["OIG LEIE", "SAM.gov"]
MatchLevel = Literal["npi", "name_dob", "name"]
Disposition = Literal["cleared", "confirmed"]

# Findings of an application that are told in a notice when they first appear.
NOTIFIED_FINDINGS = frozenset(
    {
        "excluded",
        "exclusion_suspected",
        "credential_expired",
        "credential_expiring",
        "npi_inactive",
        "npi_not_in_nppes",
    }
)

EXCLUSIONS = "exclusions"
ORDER_REFERRING = "order_referring"
PECOS = "pecos"

EXCLUSION_CITATION = "42 CFR 424.530(a)(2); 42 CFR 424.535(a)(2); 42 CFR 1001.1901"
ORDER_REFERRING_CITATION = "42 CFR 424.507"
PECOS_CITATION = "42 CFR 424.515"


class ExclusionEntry(BaseModel):
    """One row of the OIG LEIE or the SAM.gov extract, as the exclusion check reads it."""

    model_config = ConfigDict(frozen=True)

    source: ExclusionSource
    source_date: date
    record_key: str
    name: str  # as listed: "DOE, RICHARD" or the business name
    name_key: str | None
    npi: str | None = None
    date_of_birth: date | None = None
    exclusion_type: str | None = None
    excluded_on: date | None = None


DISPOSITION_EVENT = "finding_disposition"


class FindingDispositionRequest(BaseModel):
    """An operator's disposition of a suspected match, as a workflow update receives it."""

    model_config = ConfigDict(extra="forbid")

    finding_key: Text100
    disposition: Disposition
    actor: Actor
    role: str | None = None
    reason: Reason


def decided(
    dispositions: list[FindingDisposition],
    findings: list[Finding],
    request: FindingDispositionRequest,
    on: date,
) -> tuple[list[FindingDisposition], list[Finding], str]:
    """A record's dispositions and findings once `request` is recorded (a new decision on the
    same finding replaces the old one), and the note for its log."""
    decision = FindingDisposition(
        finding_key=request.finding_key,
        disposition=request.disposition,
        reason=request.reason,
        actor=request.actor,
        decided_on=on,
    )
    kept = [d for d in dispositions if d.finding_key != decision.finding_key]
    note = f"{request.disposition} the suspected exclusion match {request.finding_key}"
    return [*kept, decision], disposed(findings, decision), note


def suspected_keys(findings: list[Finding], key: str) -> str | None:
    """Why `key` names no open suspected match (listing the open ones), or None."""
    open_keys = [f.key for f in findings if f.code == "exclusion_suspected" and f.key]
    if key in open_keys:
        return None
    which = ", ".join(repr(k) for k in open_keys) if open_keys else "none is open"
    return f"No suspected exclusion match has the key {key!r} (open ones: {which})."


class FindingDisposition(BaseModel):
    """An operator's decision on a suspected exclusion match: cleared (not the same party) or
    confirmed. Recorded as an event, so it is in the audit trail with its actor and reason."""

    model_config = ConfigDict(frozen=True)

    finding_key: str
    disposition: Disposition
    reason: str
    actor: str
    decided_on: date


def party_name_key(party: CheckedParty) -> str | None:
    """'DOE|JANE' from "Jane Q. Doe" or "Doe, Jane"; 'ORG|...' for an organisation."""
    if party.organization:
        return organization_name_key(party.name)
    if "," in party.name:
        last, _, first = party.name.partition(",")
        first_word = (first.split() or [""])[0]
        return person_name_key(last, first_word)
    words = [w for w in party.name.replace(".", " ").split() if w]
    if len(words) < 2:
        return None
    return person_name_key(words[-1], words[0])


def match_level(party: CheckedParty, entry: ExclusionEntry) -> MatchLevel | None:
    """NPI exact; else the same name and date of birth; else the same name when either date of
    birth is unknown (suspected). The same name with two different dates of birth is someone
    else."""
    if party.npi and entry.npi and party.npi == entry.npi:
        return "npi"
    key = party_name_key(party)
    if key is None or key != entry.name_key:
        return None
    if party.date_of_birth and entry.date_of_birth:
        return "name_dob" if party.date_of_birth == entry.date_of_birth else None
    return "name"


_HOW = {
    "npi": "the same NPI",
    "name_dob": "the same name and date of birth",
    "name": "the same name only",
}


def _evidence(entry: ExclusionEntry) -> str:
    # Not the record's key: a LEIE key holds the date of birth, which findings never show.
    parts = [f"{entry.source} entry {entry.name}"]
    if entry.npi:
        parts.append(f"NPI {entry.npi}")
    if entry.exclusion_type:
        parts.append(f"exclusion {entry.exclusion_type}")
    if entry.excluded_on:
        parts.append(f"since {entry.excluded_on.isoformat()}")
    return ", ".join(parts)


def digest(text: str) -> str:
    """A short stable digest: keys and notice keys name a fact without its values (a LEIE
    record's key holds a name and a date of birth; notice keys reach activity summaries)."""
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def exclusion_key(party: CheckedParty, entry: ExclusionEntry) -> str:
    source = "leie" if entry.source == "OIG LEIE" else "sam"
    return f"exclusion:{source}:{digest(entry.record_key)}:{party.field}"


def exclusion_findings(
    parties: tuple[CheckedParty, ...],
    entries: list[ExclusionEntry],
    dispositions: tuple[FindingDisposition, ...] = (),
) -> list[Finding]:
    """A finding for each party matching an exclusion. An NPI or name + date of birth match is
    an exclusion (CMS denies or revokes: 42 CFR 424.530(a)(2), 424.535(a)(2)); a name-only
    match is suspected and blocks submission until an operator records a disposition: cleared
    (then it stays as information) or confirmed (then it is an exclusion)."""
    decided = {d.finding_key: d for d in dispositions}
    findings: list[Finding] = []
    for party in parties:
        for entry in entries:
            level = match_level(party, entry)
            if level is None:
                continue
            key = exclusion_key(party, entry)
            decision = decided.get(key)
            suspected = level == "name"
            if suspected and decision is not None and decision.disposition == "cleared":
                findings.append(
                    Finding(
                        code="exclusion_cleared",
                        severity=Severity.INFO,
                        field=party.field,
                        message=(
                            f"{party.label.capitalize()} shares only a name with an entry of the "
                            f"{entry.source}; {decision.actor} cleared it on "
                            f"{decision.decided_on.isoformat()}: {decision.reason}"
                        ),
                        citation=EXCLUSION_CITATION,
                        evidence=_evidence(entry),
                        source=entry.source,
                        source_date=entry.source_date,
                        check=EXCLUSIONS,
                        key=key,
                    )
                )
                continue
            confirmed = decision is not None and decision.disposition == "confirmed"
            code = "exclusion_suspected" if suspected and not confirmed else "excluded"
            if code == "excluded":
                how = f"confirmed by {decision.actor}" if confirmed and decision else _HOW[level]
                message = (
                    f"{party.label.capitalize()} is on the {entry.source} ({how}). "
                    "CMS denies the enrollment of an excluded party, and revokes one already "
                    "enrolled; no Medicare payment is made for what it furnishes, orders or "
                    "prescribes."
                )
            else:
                message = (
                    f"{party.label.capitalize()} has the same name as an entry of the "
                    f"{entry.source}, but no NPI or date of birth confirms it. Compare the "
                    "entry, then record a disposition (cleared or confirmed, with the reason); "
                    "until then it blocks submission."
                )
            findings.append(
                Finding(
                    code=code,
                    severity=Severity.ERROR,
                    field=party.field,
                    message=message,
                    citation=EXCLUSION_CITATION,
                    evidence=_evidence(entry),
                    source=entry.source,
                    source_date=entry.source_date,
                    check=EXCLUSIONS,
                    key=key,
                )
            )
    return findings


def order_referring_findings(
    npi: str, listed: bool, file_date: date | None, *, orders_or_refers: bool
) -> list[Finding]:
    """An ordering or referring practitioner missing from the Order and Referring file: claims
    for what it orders or refers (labs, imaging, DME, home health, hospice) are denied
    (42 CFR 424.507). Nothing when the file was never loaded."""
    if file_date is None or listed or not orders_or_refers:
        return []
    return [
        Finding(
            code="not_in_order_referring",
            severity=Severity.WARNING,
            field="npi",
            message=(
                f"NPI {npi} is not in the Order and Referring file of {file_date.isoformat()}: "
                "claims for items and services it orders or refers will be denied until PECOS "
                "lists it (an approved CMS-855I or CMS-855O)."
            ),
            citation=ORDER_REFERRING_CITATION,
            evidence=f"no row for NPI {npi}",
            source="Order and Referring file",
            source_date=file_date,
            check=ORDER_REFERRING,
            key=f"order_referring:{npi}",
        )
    ]


def pecos_findings(
    enrollment_id: str,
    our_due_date: date | None,
    *,
    ppef_date: date | None,
    in_ppef: bool,
    due_list_date: date | None,
    listed_due_date: date | None,
    listed_due_kind: str | None,
) -> list[Finding]:
    """Our record against PECOS's public extracts: an enrollment the PPEF does not have, and a
    revalidation due date the CMS list gives otherwise (both shown, and which the clocks use:
    always the one recorded on the enrollment, until an operator records the other)."""
    findings: list[Finding] = []
    if ppef_date is not None and not in_ppef:
        findings.append(
            Finding(
                code="pecos_enrollment_missing",
                severity=Severity.WARNING,
                field="enrollment_id",
                message=(
                    f"Enrollment {enrollment_id} is not in the PPEF enrollment extract of "
                    f"{ppef_date.isoformat()}: check it in PECOS (a deactivated or revoked "
                    "enrollment leaves the extract; a new one appears with the next release)."
                ),
                evidence=f"no row with ENRLMT_ID {enrollment_id}",
                source="PPEF enrollment extract",
                source_date=ppef_date,
                check=PECOS,
                key=f"pecos_missing:{enrollment_id}",
            )
        )
    if (
        due_list_date is not None
        and listed_due_date is not None
        and our_due_date is not None
        and listed_due_date != our_due_date
    ):
        which = "adjusted due date" if listed_due_kind == "adjusted" else "revalidation due date"
        findings.append(
            Finding(
                code="due_date_differs",
                severity=Severity.WARNING,
                field="revalidation_due_date",
                message=(
                    f"The Revalidation Due Date List of {due_list_date.isoformat()} gives "
                    f"{listed_due_date.isoformat()} ({which}); this enrollment has "
                    f"{our_due_date.isoformat()}, which its clocks use. If CMS's date is right, "
                    "record it on the enrollment (the revalidation notice or list date)."
                ),
                citation=PECOS_CITATION,
                evidence=(
                    f"Enrollment ID {enrollment_id}: {which} {listed_due_date.isoformat()}; "
                    f"the clocks use {our_due_date.isoformat()}"
                ),
                source="Revalidation Due Date List",
                source_date=due_list_date,
                check=PECOS,
                key=f"due_date:{enrollment_id}:{listed_due_date.isoformat()}",
            )
        )
    return findings


def reassignment_findings(
    enrollment_id: str,
    form: str,
    ptan: str,
    *,
    reassignment_date: date | None,
    rendering: int,
) -> list[Finding]:
    """A group (CMS-855B) whose enrollment no practitioner reassigns to: its PTAN has no
    rendering provider to bill for (42 CFR 424.80). Nothing before the extract is loaded."""
    if reassignment_date is None or form != "CMS-855B" or rendering:
        return []
    return [
        Finding(
            code="group_without_rendering",
            severity=Severity.WARNING,
            field="enrollment_id",
            message=(
                f"No practitioner reassigns benefits to group enrollment {enrollment_id} (PTAN "
                f"{ptan}) in the PPEF reassignment extract of {reassignment_date.isoformat()}: "
                "claims of its practitioners are denied until their CMS-855I reassignments "
                "are approved."
            ),
            citation="42 CFR 424.80",
            evidence=f"no row with RCV_BNFT_ENRLMT_ID {enrollment_id}",
            source="PPEF reassignment extract",
            source_date=reassignment_date,
            check=PECOS,
            key=f"group_without_rendering:{enrollment_id}",
        )
    ]


def merge_findings(
    current: list[Finding], incoming: list[Finding], checks: frozenset[str]
) -> tuple[list[Finding], list[Finding]]:
    """The findings after a run of `checks`: theirs replaced by what the run found, the others
    kept; and which of the run's findings are new facts (for a notice). The same fact found
    again is one finding, not two."""
    kept = [f for f in current if f.check not in checks]
    seen = {f.fact for f in current}
    merged = list(kept)
    added: list[Finding] = []
    facts = {f.fact for f in kept}
    for finding in incoming:
        if finding.fact in facts:
            continue
        facts.add(finding.fact)
        merged.append(finding)
        if finding.fact not in seen:
            added.append(finding)
    return merged, added


def blocking_external(findings: list[Finding]) -> list[Finding]:
    """The outward findings that stop a submission."""
    return [f for f in findings if f.check is not None and f.severity == Severity.ERROR]


def finding_notice(finding: Finding, record: str, status: str) -> Notice:
    """The notice of a new finding on `record` (once: its key is the fact's digest)."""
    body = finding.message
    if finding.evidence:
        body += f"\nEvidence: {finding.evidence}"
    if finding.source:
        dated = f" of {finding.source_date.isoformat()}" if finding.source_date else ""
        body += f"\nSource: {finding.source}{dated}"
    return Notice(
        key=f"finding:{finding.code}:{digest(finding.fact)}",
        kind=NoticeKind.FINDING,
        subject=f"{record}: data check {finding.code.replace('_', ' ')}",
        body=body,
        status=status,
    )


def disposed(findings: list[Finding], decision: FindingDisposition) -> list[Finding]:
    """The findings once `decision` is recorded on the suspected match it names (until the next
    run of the checks, which applies it the same way)."""
    out: list[Finding] = []
    for f in findings:
        if f.key != decision.finding_key or f.code != "exclusion_suspected":
            out.append(f)
            continue
        if decision.disposition == "cleared":
            message = (
                f"Shares only a name with an entry of the {f.source}; {decision.actor} cleared "
                f"it on {decision.decided_on.isoformat()}: {decision.reason}"
            )
            out.append(
                f.model_copy(
                    update={
                        "code": "exclusion_cleared",
                        "severity": Severity.INFO,
                        "message": message,
                    }
                )
            )
        else:
            message = (
                f"On the {f.source} (confirmed by {decision.actor}). CMS denies the enrollment "
                "of an excluded party, and revokes one already enrolled."
            )
            out.append(f.model_copy(update={"code": "excluded", "message": message}))
    return out
