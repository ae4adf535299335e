"""Pre-submission data checks as pure functions returning structured findings.

The check activity runs these (and, later, checks that need I/O: NPPES, exclusion lists); the
submit validator runs them again synchronously so an application with a blocking finding is
refused before anything enters history.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.calendar import add_days, revalidation_window_opens
from models.forms import Form, Purpose, application_fee
from models.rules import RuleKey, rule


class Severity(StrEnum):
    ERROR = "error"  # blocks submission
    WARNING = "warning"  # needs attention, does not block
    INFO = "info"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    field: str | None = None
    message: str
    citation: str | None = None


class ApplicationFacts(BaseModel):
    """What the checks read: the draft's fields that matter for the rules, none of them PII."""

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


def presubmission_findings(facts: ApplicationFacts, submission_date: date) -> list[Finding]:
    return [
        *required_field_findings(facts),
        *early_submission_findings(facts, submission_date),
        *fee_findings(facts, submission_date),
    ]


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.ERROR]
