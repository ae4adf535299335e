"""The credentials an application relies on (state licence, board certification, DEA, CLIA,
accreditation for DMEPOS suppliers and IDTFs), with their expiry: one that has expired, or will
before the MAC is expected to decide, is a finding (docs/regulation.md, "Who signs")."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.calendar import WrittenDate, add_days
from models.findings import Finding, Severity
from models.forms import Purpose
from models.rules import RuleKey, rule
from models.text import Text100

CredentialKind = Literal["state_license", "board_certification", "dea", "clia", "accreditation"]
# Warn this long before a credential expires.
EXPIRY_WARNING_DAYS = 90


class Credential(BaseModel):
    """A licence, certification or accreditation the application relies on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CredentialKind
    number: Text100 | None = None
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    expires_on: WrittenDate


def credential_findings(
    credentials: tuple[Credential, ...] | list[Credential],
    on: date,
    purpose: Purpose,
) -> list[Finding]:
    """Expired (blocks: the MAC denies on an invalid licence, 42 CFR 424.530(a)(1)), or expiring
    within 90 days or before the MAC's expected decision (warns)."""
    key = (
        RuleKey.MAC_PROCESSING_INITIAL
        if purpose in (Purpose.INITIAL, Purpose.REVALIDATION)
        else RuleKey.MAC_PROCESSING_CHANGE
    )
    target = rule(key, on)
    decision = add_days(on, target.days or 0)
    findings: list[Finding] = []
    for index, c in enumerate(credentials):
        what = c.kind.replace("_", " ") + (f" ({c.state})" if c.state else "")
        field = f"credentials[{index}]"
        if c.expires_on < on:
            findings.append(
                Finding(
                    code="credential_expired",
                    severity=Severity.ERROR,
                    field=field,
                    message=f"The {what} expired on {c.expires_on.isoformat()}: renew it and "
                    "record the new expiry before submitting.",
                    citation="42 CFR 424.530(a)(1)",
                    key=f"credential_expired:{index}:{c.expires_on.isoformat()}",
                )
            )
        elif c.expires_on <= max(add_days(on, EXPIRY_WARNING_DAYS), decision):
            before = (
                f"before the MAC's expected decision ({decision.isoformat()}, "
                f"{target.days} days, {target.citation})"
                if c.expires_on <= decision
                else f"within {EXPIRY_WARNING_DAYS} days"
            )
            findings.append(
                Finding(
                    code="credential_expiring",
                    severity=Severity.WARNING,
                    field=field,
                    message=f"The {what} expires on {c.expires_on.isoformat()}, {before}: "
                    "renew it in time, or the MAC develops or denies the application.",
                    citation=target.citation,
                    key=f"credential_expiring:{index}:{c.expires_on.isoformat()}",
                )
            )
    return findings
