"""What a regulatory rule is: its key, its versions (each effective-dated, with its citation
and whether a primary source confirms it) and the reference a clock carries to explain itself.
The rules themselves are in models/rules_application.py and models/rules_enrollment.py; look
them up through models/rules.py."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RuleKey(StrEnum):
    # Application lifecycle (docs/regulation.md, "The application")
    SIGNATURE_WINDOW = "signature_window"
    FEE_PAYMENT_WINDOW = "fee_payment_window"
    FEE_HARDSHIP_DECISION = "fee_hardship_decision"
    FEE_HARDSHIP_DENIED_PAYMENT = "fee_hardship_denied_payment"
    DEVELOPMENT_RESPONSE = "development_response"
    FINGERPRINT_SUBMISSION = "fingerprint_submission"
    MAIL_RECEIPT_PRESUMPTION = "mail_receipt_presumption"
    CORRECTIVE_ACTION_PLAN = "corrective_action_plan"
    CORRECTIVE_ACTION_PLAN_DECISION = "corrective_action_plan_decision"
    RECONSIDERATION_REQUEST = "reconsideration_request"
    RECONSIDERATION_DECISION = "reconsideration_decision"
    RETROSPECTIVE_BILLING = "retrospective_billing"
    RETROSPECTIVE_BILLING_DISASTER = "retrospective_billing_disaster"
    EARLY_SUBMISSION_PART_B = "early_submission_part_b"
    EARLY_SUBMISSION_INSTITUTIONAL = "early_submission_institutional"
    EARLY_SUBMISSION_CHOW = "early_submission_chow"
    EARLY_SUBMISSION_REVALIDATION = "early_submission_revalidation"
    MAC_PROCESSING_INITIAL = "mac_processing_initial"
    MAC_PROCESSING_CHANGE = "mac_processing_change"
    LATE_RECORDING_GRACE = "late_recording_grace"
    # Enrollment lifecycle (docs/regulation.md, "The enrollment")
    REVALIDATION_CYCLE = "revalidation_cycle"
    REVALIDATION_CYCLE_DMEPOS = "revalidation_cycle_dmepos"
    REVALIDATION_REMINDERS = "revalidation_reminders"
    REVALIDATION_INTERNAL_TARGET = "revalidation_internal_target"
    REVALIDATION_NOTICE_RESPONSE = "revalidation_notice_response"
    STAY_MISSED_REVALIDATION = "stay_missed_revalidation"
    STAY_UNREPORTED_CHANGE = "stay_unreported_change"
    STAY_IMPOSED = "stay_imposed"
    STAY_REBUTTAL = "stay_rebuttal"
    CHANGE_REPORT_PRIORITY = "change_report_priority"
    CHANGE_REPORT_OTHER = "change_report_other"
    CHANGE_REPORT_DMEPOS = "change_report_dmepos"
    CHANGE_REPORT_PRACTICE_LOCATION = "change_report_practice_location"
    CHANGE_REPORT_AUTHORIZED_OFFICIAL = "change_report_authorized_official"
    NON_BILLING_DEACTIVATION = "non_billing_deactivation"
    NON_BILLING_WARNINGS = "non_billing_warnings"
    ORDERING_REFERRING_DEACTIVATION = "ordering_referring_deactivation"
    RECERTIFICATION_RESPONSE = "recertification_response"
    DEACTIVATION_REBUTTAL = "deactivation_rebuttal"
    REVOCATION_EFFECTIVE = "revocation_effective"
    REENROLLMENT_BAR = "reenrollment_bar"
    REENROLLMENT_BAR_REPEAT = "reenrollment_bar_repeat"
    REENROLLMENT_BAR_IDENTITY_EXTENSION = "reenrollment_bar_identity_extension"


class Rule(BaseModel):
    """One version of one regulatory rule: what it counts, from when, and why we believe it."""

    model_config = ConfigDict(frozen=True)

    key: RuleKey
    name: str
    citation: str
    version: str
    effective_from: date
    days: int | None = None
    months: int | None = None
    years: int | None = None
    # Days before the last day on which reminders go out (largest first).
    reminder_offsets_days: tuple[int, ...] = ()
    confirmed: bool = True
    note: str | None = None

    @property
    def ref(self) -> RuleRef:
        return RuleRef(key=self.key, name=self.name, citation=self.citation, version=self.version)

    def describe_period(self) -> str:
        parts = []
        if self.years:
            parts.append(f"{self.years} year{'s' if self.years != 1 else ''}")
        if self.months:
            parts.append(f"{self.months} month{'s' if self.months != 1 else ''}")
        if self.days is not None:
            parts.append(f"{self.days} calendar day{'s' if self.days != 1 else ''}")
        return " ".join(parts)


class RuleRef(BaseModel):
    """What a clock, a refusal or a reminder carries to explain itself."""

    model_config = ConfigDict(frozen=True)

    key: RuleKey
    name: str
    citation: str
    version: str


# Rules in force "since always" (before any source we have) start here.
EPOCH = date(2000, 1, 1)
