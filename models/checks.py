"""Pre-submission data checks as pure functions returning structured findings.

The check activity runs these (and, later, checks that need I/O: NPPES, exclusion lists); the
submit validator runs them again synchronously so an application with a blocking finding is
refused before anything enters history.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from models.calendar import WrittenDate, add_days, revalidation_window_opens
from models.credentials import Credential, credential_findings
from models.findings import Finding, Severity

__all__ = [
    "ApplicationFacts",
    "ApplicationParty",
    "CheckedParty",
    "Finding",
    "KnownEnrollment",
    "Severity",
    "blocking",
    "checked_parties",
    "presubmission_findings",
    "reenrollment_bar_message",
]
from models.forms import Form, Purpose, application_fee
from models.rules import RuleKey, rule
from models.text import Text300
from models.written import Flag, Number


class KnownEnrollment(BaseModel):
    """An enrollment the engine tracks for the application's NPI (from the read model when the
    application is created): the same line of business already enrolled, or a revocation
    whose re-enrollment bar still runs."""

    model_config = ConfigDict(frozen=True)

    enrollment_id: str
    form: Form
    state: str
    status: str
    revoked_effective: date | None = None
    barred_through: date | None = None  # the last day an initial application is returned


# Statuses in which an enrollment is still enrolled (a second one would duplicate it).
_STILL_ENROLLED = ("active", "stayed", "deactivated", "revocation_pending")


# Owners at or above this share are reported on the CMS-855 and checked against the exclusion
# lists (42 CFR 424.502, "5 percent or greater direct or indirect ownership interest").
REPORTABLE_OWNERSHIP_PERCENT = 5.0

PartyRole = Literal["provider", "owner", "managing_employee"]


class ApplicationParty(BaseModel):
    """An owner or managing employee the application reports (CMS-855 sections 5 and 6). Name
    and date of birth are sensitive: they live only in encrypted workflow payloads."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    role: Literal["owner", "managing_employee"]
    name: Annotated[Text300, PydanticField(min_length=1)]
    organization: Flag = False
    npi: str | None = PydanticField(default=None, pattern=r"^[0-9]{10}$")
    date_of_birth: WrittenDate | None = None
    ownership_percent: Number | None = PydanticField(default=None, ge=0, le=100)


class CheckedParty(BaseModel):
    """A person or organisation the exclusion check compares with the lists: the provider
    itself, each owner of 5% or more (or of an unknown share) and each managing employee.
    `label` says which one in a finding ("the provider", "owner 2")."""

    model_config = ConfigDict(frozen=True)

    role: PartyRole
    label: str
    field: str
    name: str
    organization: bool
    npi: str | None = None
    date_of_birth: date | None = None


def checked_parties(
    provider_name: str | None,
    organization: bool,
    npi: str | None,
    date_of_birth: date | None,
    parties: tuple[ApplicationParty, ...] | list[ApplicationParty],
) -> tuple[CheckedParty, ...]:
    out: list[CheckedParty] = []
    if provider_name:
        out.append(
            CheckedParty(
                role="provider",
                label="the provider",
                field="legal_name",
                name=provider_name,
                organization=organization,
                npi=npi,
                date_of_birth=date_of_birth,
            )
        )
    for index, party in enumerate(parties):
        share = party.ownership_percent
        if party.role == "owner" and share is not None and share < REPORTABLE_OWNERSHIP_PERCENT:
            continue
        what = "owner" if party.role == "owner" else "managing employee"
        out.append(
            CheckedParty(
                role=party.role,
                label=f"{what} {index + 1}",
                field=f"parties[{index}]",
                name=party.name,
                organization=party.organization,
                npi=party.npi,
                date_of_birth=party.date_of_birth,
            )
        )
    return tuple(out)


class ApplicationFacts(BaseModel):
    """What the checks read: the draft's fields that matter for the rules. `parties` carries
    names and dates of birth for the exclusion check: facts travel only in encrypted payloads
    (the check activity's input), never in logs or search attributes."""

    model_config = ConfigDict(frozen=True)

    form: Form
    purpose: Purpose
    legal_name: str | None = None
    npi: str | None = None
    state: str | None = None
    has_ein: bool = False
    has_ssn: bool = False
    enrollment_id: str | None = None
    requested_effective_date: date | None = None
    revalidation_due_date: date | None = None
    change_of_ownership_date: date | None = None
    asc_or_portable_xray: bool = False
    physician_or_npp_organization: bool = False
    adds_practice_location: bool = False
    known_enrollments: tuple[KnownEnrollment, ...] = ()
    parties: tuple[CheckedParty, ...] = ()
    credentials: tuple[Credential, ...] = ()


_INDIVIDUAL_FORMS = {Form.CMS_855I, Form.CMS_855O}


def _missing(field: str, what: str, why: str) -> Finding:
    return Finding(
        code="missing_field",
        severity=Severity.ERROR,
        field=field,
        message=f"{what} is required {why}: add it with an 'update_draft' event.",
    )


def required_field_findings(facts: ApplicationFacts) -> list[Finding]:
    findings: list[Finding] = []
    if not facts.legal_name:
        findings.append(_missing("legal_name", "The legal name", "on every CMS-855"))
    if not facts.npi and facts.form != Form.CMS_588:
        findings.append(_missing("npi", "The NPI", "before enrolling (NPPES comes first)"))
    if not facts.state:
        findings.append(
            _missing("state", "The practice state", "to route the application to its MAC")
        )
    if facts.form in _INDIVIDUAL_FORMS and not facts.has_ssn:
        findings.append(_missing("ssn", "The practitioner's SSN", f"on the {facts.form}"))
    if facts.form not in _INDIVIDUAL_FORMS and facts.form != Form.CMS_588 and not facts.has_ein:
        findings.append(_missing("ein", "The organisation's EIN", f"on the {facts.form}"))
    if facts.form == Form.CMS_588 and not (facts.has_ein or facts.has_ssn):
        findings.append(_missing("ein", "An EIN or SSN", "on the CMS-588"))
    if (
        facts.purpose
        in (
            Purpose.REVALIDATION,
            Purpose.CHANGE_OF_INFORMATION,
            Purpose.REACTIVATION,
        )
        and not facts.enrollment_id
    ):
        findings.append(
            _missing(
                "enrollment_id",
                "The PECOS enrollment ID",
                f"for a {facts.purpose.value.replace('_', ' ')}",
            )
        )
    if facts.purpose == Purpose.REVALIDATION and not facts.revalidation_due_date:
        findings.append(
            _missing(
                "revalidation_due_date",
                "The revalidation due date (from the CMS list or the MAC notice)",
                "to check the submission window",
            )
        )
    return findings


def early_submission_findings(facts: ApplicationFacts, submission_date: date) -> list[Finding]:
    """42 CFR 424.526(a): applications received too early are returned by the MAC."""
    findings: list[Finding] = []
    if facts.purpose == Purpose.REVALIDATION and facts.revalidation_due_date:
        opens = revalidation_window_opens(facts.revalidation_due_date, submission_date)
        r = rule(RuleKey.EARLY_SUBMISSION_REVALIDATION, submission_date)
        if submission_date < opens:
            findings.append(
                Finding(
                    code="early_revalidation",
                    severity=Severity.ERROR,
                    field="revalidation_due_date",
                    message=(
                        f"A revalidation due {facts.revalidation_due_date.isoformat()} may be "
                        f"submitted from {opens.isoformat()} ({r.months} months before); "
                        "earlier it is returned as unsolicited. Submit on or after that date."
                    ),
                    citation=r.citation,
                )
            )
    if facts.purpose == Purpose.INITIAL and facts.requested_effective_date:
        institutional = facts.form == Form.CMS_855A or facts.asc_or_portable_xray
        key = (
            RuleKey.EARLY_SUBMISSION_INSTITUTIONAL
            if institutional
            else RuleKey.EARLY_SUBMISSION_PART_B
        )
        r = rule(key, submission_date)
        earliest = add_days(facts.requested_effective_date, -(r.days or 0))
        if submission_date < earliest:
            findings.append(
                Finding(
                    code="early_initial",
                    severity=Severity.ERROR,
                    field="requested_effective_date",
                    message=(
                        f"The requested effective date {facts.requested_effective_date} is more "
                        f"than {r.days} days away; the MAC returns such applications. Submit on "
                        f"or after {earliest.isoformat()}."
                    ),
                    citation=r.citation,
                )
            )
    if facts.change_of_ownership_date:
        r = rule(RuleKey.EARLY_SUBMISSION_CHOW, submission_date)
        earliest = add_days(facts.change_of_ownership_date, -(r.days or 0))
        if submission_date < earliest:
            findings.append(
                Finding(
                    code="early_change_of_ownership",
                    severity=Severity.ERROR,
                    field="change_of_ownership_date",
                    message=(
                        f"The sale on {facts.change_of_ownership_date} is more than {r.days} "
                        f"days away; submit on or after {earliest.isoformat()}."
                    ),
                    citation=r.citation,
                )
            )
    return findings


def fee_findings(facts: ApplicationFacts, submission_date: date) -> list[Finding]:
    try:
        fee = application_fee(
            facts.form,
            facts.purpose,
            submission_date,
            physician_or_npp_organization=facts.physician_or_npp_organization,
            adds_practice_location=facts.adds_practice_location,
        )
    except ValueError as exc:
        return [
            Finding(code="fee_unknown", severity=Severity.WARNING, field=None, message=str(exc))
        ]
    if not fee.required:
        return []
    return [
        Finding(
            code="fee_due",
            severity=Severity.WARNING,
            field=None,
            message=(
                f"An application fee of ${fee.amount} (CY{fee.calendar_year}) is due with this "
                "application; pay it in PECOS or attach a hardship request, or the MAC will "
                "send a 30-day fee letter."
            ),
            citation=fee.citation,
        )
    ]


def reenrollment_bar_message(known: KnownEnrollment, on: date) -> str | None:
    """Why an initial application received on `on` is returned while `known`'s re-enrollment
    bar runs (42 CFR 424.526(a), 424.535(c)); None when no bar stands in the way."""
    if known.barred_through is None or on > known.barred_through:
        return None
    may_apply = add_days(known.barred_through, 1)
    return (
        f"Enrollment {known.enrollment_id} was revoked effective {known.revoked_effective} "
        f"with a re-enrollment bar through {known.barred_through} (42 CFR 424.535(c)): an "
        f"initial application received before {may_apply} is returned (42 CFR 424.526)."
    )


def enrollment_findings(facts: ApplicationFacts, submission_date: date) -> list[Finding]:
    """An initial application for an NPI under a re-enrollment bar (refused), or for a line of
    business it is already enrolled in: same form and state (flagged)."""
    if facts.purpose != Purpose.INITIAL:
        return []
    findings: list[Finding] = []
    for known in facts.known_enrollments:
        message = reenrollment_bar_message(known, submission_date)
        if message is not None:
            findings.append(
                Finding(
                    code="reenrollment_barred",
                    severity=Severity.ERROR,
                    field="npi",
                    message=message,
                    citation="42 CFR 424.535(c); 42 CFR 424.526(a)",
                )
            )
        elif (known.form, known.state) == (facts.form, facts.state) and (
            known.status in _STILL_ENROLLED
        ):
            findings.append(
                Finding(
                    code="already_enrolled",
                    severity=Severity.WARNING,
                    field="npi",
                    message=(
                        f"NPI {facts.npi} already has a {known.status} {known.form} enrollment "
                        f"in {known.state}: {known.enrollment_id}. One provider has one "
                        "enrollment per line of business; file a change of information, "
                        "revalidation or reactivation on it instead of a new initial "
                        "application, unless this one is meant to replace it."
                    ),
                    citation="42 CFR 424.510, 424.516",
                )
            )
    return findings


def presubmission_findings(facts: ApplicationFacts, submission_date: date) -> list[Finding]:
    return [
        *required_field_findings(facts),
        *early_submission_findings(facts, submission_date),
        *fee_findings(facts, submission_date),
        *enrollment_findings(facts, submission_date),
        *credential_findings(facts.credentials, submission_date, facts.purpose),
    ]


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.ERROR]
