"""Every regulatory duration the engine uses, in one place, each with its citation.

Nothing else in the code base may hold a number of days, months or years that comes from a
regulation or a CMS/MAC manual: it asks this module for the rule in force on a date. Rules are
versioned and effective-dated because CMS changes them (the revalidation window went from 6 to 7
months; practice-location changes became 30-day reports for everyone on 2024-01-01), and a clock
must be explained by the rule version that set it. Sources: ../shared/domain.md (section numbers
below), which quotes the regulation, Federal Register notices and MAC pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RuleKey(StrEnum):
    # Application lifecycle (domain.md 2, 7.1)
    SIGNATURE_WINDOW = "signature_window"
    FEE_PAYMENT_WINDOW = "fee_payment_window"
    DEVELOPMENT_RESPONSE = "development_response"
    FINGERPRINT_SUBMISSION = "fingerprint_submission"
    MAIL_RECEIPT_PRESUMPTION = "mail_receipt_presumption"
    CORRECTIVE_ACTION_PLAN = "corrective_action_plan"
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
    # Enrollment lifecycle (domain.md 4, 7.2)
    REVALIDATION_CYCLE = "revalidation_cycle"
    REVALIDATION_CYCLE_DMEPOS = "revalidation_cycle_dmepos"
    REVALIDATION_REMINDERS = "revalidation_reminders"
    REVALIDATION_INTERNAL_TARGET = "revalidation_internal_target"
    REVALIDATION_NOTICE_RESPONSE = "revalidation_notice_response"
    STAY_MISSED_REVALIDATION = "stay_missed_revalidation"
    STAY_UNREPORTED_CHANGE = "stay_unreported_change"
    CHANGE_REPORT_PRIORITY = "change_report_priority"
    CHANGE_REPORT_OTHER = "change_report_other"
    CHANGE_REPORT_DMEPOS = "change_report_dmepos"
    CHANGE_REPORT_PRACTICE_LOCATION = "change_report_practice_location"
    NON_BILLING_DEACTIVATION = "non_billing_deactivation"
    NON_BILLING_WARNINGS = "non_billing_warnings"
    ORDERING_REFERRING_DEACTIVATION = "ordering_referring_deactivation"
    RECERTIFICATION_RESPONSE = "recertification_response"
    DEACTIVATION_REBUTTAL = "deactivation_rebuttal"
    REVOCATION_EFFECTIVE = "revocation_effective"
    REENROLLMENT_BAR = "reenrollment_bar"
    REENROLLMENT_BAR_REPEAT = "reenrollment_bar_repeat"


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


_EPOCH = date(2000, 1, 1)

_RULES: tuple[Rule, ...] = (
    Rule(
        key=RuleKey.SIGNATURE_WINDOW,
        name="PECOS signature window",
        citation="CMS CR 9776 (eff. 2017-01-09), Noridian JF article 10529",
        version="2017-01-09",
        effective_from=date(2017, 1, 9),
        days=20,
        reminder_offsets_days=(7, 3, 1),
        note="An application is not 'received' until every signature is in; "
        "missing signatures after 20 days reject it (domain.md 2.3).",
    ),
    Rule(
        key=RuleKey.FEE_PAYMENT_WINDOW,
        name="Application fee payment window",
        citation="42 CFR 424.514; CMS MLN9658742",
        version="2020",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(7, 1),
        note="Counted from the MAC's fee letter (domain.md 1).",
    ),
    Rule(
        key=RuleKey.DEVELOPMENT_RESPONSE,
        name="Development request response window",
        citation="42 CFR 424.525(a)(1); FCSO 'Life cycle of an enrollment application'; DAB CR6067",
        version="2019",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(7, 1),
        note="30 calendar days from the date of the request; unanswered, the application "
        "is rejected and a new one (new filing date) is needed (domain.md 2.4).",
    ),
    Rule(
        key=RuleKey.FINGERPRINT_SUBMISSION,
        name="Fingerprint submission window (high-risk screening)",
        citation="42 CFR 424.518(c); CMS MLN SE1427",
        version="2014-08",
        effective_from=date(2014, 8, 1),
        days=30,
        reminder_offsets_days=(7, 1),
        confirmed=False,
        note="30 days from the MAC letter, else denial; SE1427 seen only as quoted "
        "by secondary sources (domain.md 2.5).",
    ),
    Rule(
        key=RuleKey.MAIL_RECEIPT_PRESUMPTION,
        name="Presumed receipt of a mailed notice",
        citation="42 CFR 498.22(b)(3); NGS 'Provider Enrollment Appeals Process'",
        version="2019",
        effective_from=_EPOCH,
        days=5,
        note="Where a window runs from receipt, receipt is presumed 5 days after the "
        "notice date unless shown otherwise (domain.md 7.0).",
    ),
    Rule(
        key=RuleKey.CORRECTIVE_ACTION_PLAN,
        name="Corrective action plan (CAP) window",
        citation="42 CFR 405.809; Noridian JE appeals page; NGS (35 days from notice)",
        version="2019",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(7, 1),
        note="30 days from receipt of the denial notice = 35 days from its date "
        "(domain.md 2.7). CMS removed CAP rights for some grounds in 2024 (UNCONFIRMED).",
    ),
    Rule(
        key=RuleKey.RECONSIDERATION_REQUEST,
        name="Reconsideration request window",
        citation="42 CFR 498.22; Noridian JE appeals page; NGS (65 days from notice)",
        version="2019",
        effective_from=_EPOCH,
        days=60,
        reminder_offsets_days=(14, 7, 1),
        note="60 days from receipt of the denial notice = 65 days from its date (domain.md 2.7).",
    ),
    Rule(
        key=RuleKey.RECONSIDERATION_DECISION,
        name="Reconsideration decision target",
        citation="Noridian JE appeals page (decision within 90 days of receipt)",
        version="2019",
        effective_from=_EPOCH,
        days=90,
        note="Contractor target, for follow-up only: nothing changes when it passes.",
    ),
    Rule(
        key=RuleKey.RETROSPECTIVE_BILLING,
        name="Retrospective billing before the effective date",
        citation="42 CFR 424.521(a)(1)",
        version="2008-11-19",
        effective_from=date(2009, 1, 1),
        days=30,
        note="Up to 30 days before the effective date for the 424.520(d) provider types.",
    ),
    Rule(
        key=RuleKey.RETROSPECTIVE_BILLING_DISASTER,
        name="Retrospective billing before the effective date (declared disaster)",
        citation="42 CFR 424.521(a)(2)",
        version="2008-11-19",
        effective_from=date(2009, 1, 1),
        days=90,
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_PART_B,
        name="Earliest submission before the effective date (Part B)",
        citation="42 CFR 424.526(a); FCSO return reasons (mod. 2024-03-29)",
        version="2024-03-29",
        effective_from=_EPOCH,
        days=60,
        note="Received more than 60 days before the effective date on the application: "
        "returned (not for 855A, ASCs, portable x-ray).",
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_INSTITUTIONAL,
        name="Earliest submission before the effective date (855A, ASC, portable x-ray)",
        citation="42 CFR 424.526(a); FCSO return reasons (mod. 2024-03-29)",
        version="2024-03-29",
        effective_from=_EPOCH,
        days=180,
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_CHOW,
        name="Earliest submission before a change of ownership",
        citation="42 CFR 424.526(a); FCSO return reasons (mod. 2024-03-29)",
        version="2024-03-29",
        effective_from=_EPOCH,
        days=90,
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_REVALIDATION,
        name="Earliest revalidation submission before the due date",
        citation="CMS MLN SE1605 (2016)",
        version="2016",
        effective_from=_EPOCH,
        months=6,
        note="Superseded by the 7-month window (domain.md 4.3).",
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_REVALIDATION,
        name="Earliest revalidation submission before the due date",
        citation="42 CFR 424.526(a); Noridian JE/JF revalidation pages; FCSO return reasons",
        version="2024-03-29",
        # The changeover date from 6 to 7 months is not in any source we have: this is the
        # date of the earliest dated source stating 7 months (FCSO, modified 2024-03-29).
        effective_from=date(2024, 3, 29),
        months=7,
        confirmed=False,
        note="More than 7 months before the due date: returned as unsolicited. "
        "Changeover date UNCONFIRMED (earliest dated source used).",
    ),
    Rule(
        key=RuleKey.MAC_PROCESSING_INITIAL,
        name="MAC processing target (initial and revalidation)",
        citation="42 CFR 405.818",
        version="2026-04-05",
        effective_from=_EPOCH,
        days=180,
        note="Follow-up target only.",
    ),
    Rule(
        key=RuleKey.MAC_PROCESSING_CHANGE,
        name="MAC processing target (change of information, reassignment)",
        citation="42 CFR 405.818",
        version="2026-04-05",
        effective_from=_EPOCH,
        days=90,
        note="Follow-up target only.",
    ),
    Rule(
        key=RuleKey.LATE_RECORDING_GRACE,
        name="Late-recording grace after an engine-applied consequence",
        citation="Engine policy; domain.md 7.0 (clocks run from the event's date, which may be "
        "earlier than when it is recorded)",
        version="1",
        effective_from=_EPOCH,
        days=14,
        note="An event dated inside a window but recorded after the engine applied the window's "
        "consequence withdraws that consequence if it is recorded within this grace.",
    ),
    Rule(
        key=RuleKey.REVALIDATION_CYCLE,
        name="Revalidation cycle",
        citation="42 CFR 424.515",
        version="2011",
        effective_from=_EPOCH,
        years=5,
        note="Due dates are month ends (CMS 'Revalidations' page).",
    ),
    Rule(
        key=RuleKey.REVALIDATION_CYCLE_DMEPOS,
        name="Revalidation cycle (DMEPOS suppliers)",
        citation="42 CFR 424.57(e)",
        version="2011",
        effective_from=_EPOCH,
        years=3,
    ),
    Rule(
        key=RuleKey.REVALIDATION_REMINDERS,
        name="Revalidation reminder schedule",
        citation="Engine policy (configurable); CMS posts due dates 7 months ahead, MAC "
        "notices come 3-4 months ahead (CMS 'Revalidations' page)",
        version="1",
        effective_from=_EPOCH,
        reminder_offsets_days=(180, 120, 90, 60, 30, 14, 7, 1),
    ),
    Rule(
        key=RuleKey.REVALIDATION_INTERNAL_TARGET,
        name="Internal revalidation target",
        citation="Engine policy: submit 30 days before the due date",
        version="1",
        effective_from=_EPOCH,
        days=30,
    ),
    Rule(
        key=RuleKey.REVALIDATION_NOTICE_RESPONSE,
        name="Revalidation notice response window",
        citation="42 CFR 424.515(a)(2); NGS 'Deactivation, Suspension and Reactivation'",
        version="2011",
        effective_from=_EPOCH,
        days=60,
        reminder_offsets_days=(30, 14, 7, 1),
    ),
    Rule(
        key=RuleKey.STAY_MISSED_REVALIDATION,
        name="Stay of enrollment after a missed revalidation",
        citation="42 CFR 424.541; Palmetto JM 'Stay of Enrollment'; FCSO revalidation overview",
        version="2024-01-01",
        effective_from=date(2024, 1, 1),
        days=30,
        reminder_offsets_days=(14, 7, 1),
    ),
    Rule(
        key=RuleKey.STAY_UNREPORTED_CHANGE,
        name="Stay of enrollment for an unreported change",
        citation="42 CFR 424.541; Palmetto JM 'Stay of Enrollment'",
        version="2024-01-01",
        effective_from=date(2024, 1, 1),
        days=60,
        reminder_offsets_days=(30, 14, 7, 1),
    ),
    Rule(
        key=RuleKey.CHANGE_REPORT_PRIORITY,
        name="Change reporting window (ownership, adverse legal action, practice location)",
        citation="42 CFR 424.516(d)",
        version="2008",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(14, 7, 1),
    ),
    Rule(
        key=RuleKey.CHANGE_REPORT_OTHER,
        name="Change reporting window (other changes)",
        citation="42 CFR 424.516(d), (e)",
        version="2008",
        effective_from=_EPOCH,
        days=90,
        reminder_offsets_days=(30, 14, 7, 1),
    ),
    Rule(
        key=RuleKey.CHANGE_REPORT_DMEPOS,
        name="Change reporting window (DMEPOS suppliers, any change)",
        citation="42 CFR 424.57(c)(2)",
        version="2011",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(14, 7, 1),
    ),
    Rule(
        key=RuleKey.CHANGE_REPORT_PRACTICE_LOCATION,
        name="Practice location change reporting window (all providers)",
        citation="CY2024 PFS final rule (88 FR 78818), 42 CFR 424.516",
        version="2024-01-01",
        effective_from=date(2024, 1, 1),
        days=30,
        reminder_offsets_days=(14, 7, 1),
    ),
    Rule(
        key=RuleKey.NON_BILLING_DEACTIVATION,
        name="Deactivation for 12 consecutive calendar months without a claim",
        citation="42 CFR 424.540(a)(1); NGS 'Deactivation, Suspension and Reactivation'",
        version="2008",
        effective_from=_EPOCH,
        months=12,
        note="From the first day of the first month without a claim through the last day of "
        "the twelfth; no advance notice (domain.md 4.5).",
    ),
    Rule(
        key=RuleKey.NON_BILLING_WARNINGS,
        name="Internal warnings before a non-billing deactivation",
        citation="Engine policy: warn the team after 9 and 11 months without a claim",
        version="1",
        effective_from=_EPOCH,
        # Month counts, not day offsets: read by the enrollment calendar.
        reminder_offsets_days=(9, 11),
    ),
    Rule(
        key=RuleKey.ORDERING_REFERRING_DEACTIVATION,
        name="Ordering/referring-only (CMS-855O) deactivation for 12 months unused",
        citation="42 CFR 424.547 (90 FR 55618, 2025-12-02)",
        version="2026-01-01",
        effective_from=date(2026, 1, 1),
        months=12,
    ),
    Rule(
        key=RuleKey.RECERTIFICATION_RESPONSE,
        name="Response to a CMS request to recertify",
        citation="42 CFR 424.540(a)(3)",
        version="2008",
        effective_from=_EPOCH,
        days=90,
        reminder_offsets_days=(30, 14, 7, 1),
    ),
    Rule(
        key=RuleKey.DEACTIVATION_REBUTTAL,
        name="Deactivation rebuttal window",
        citation="42 CFR 424.546; Noridian JF decision tree",
        version="2019",
        effective_from=_EPOCH,
        days=15,
        reminder_offsets_days=(7, 3, 1),
    ),
    Rule(
        key=RuleKey.REVOCATION_EFFECTIVE,
        name="Revocation effective date after the notice",
        citation="42 CFR 424.535(g); DAB CR6105, CR6485",
        version="2019",
        effective_from=_EPOCH,
        days=30,
        confirmed=False,
        note="Generally 30 days after the notice is mailed; some grounds are retroactive "
        "(the notice then gives the date). 424.535(g) text UNCONFIRMED.",
    ),
    Rule(
        key=RuleKey.REENROLLMENT_BAR,
        name="Re-enrollment bar after a revocation",
        citation="42 CFR 424.535(c) (CY2020 PFS, 84 FR 47794)",
        version="2019-11-04",
        effective_from=date(2019, 11, 4),
        years=10,
        note="At least 1 and at most 10 years, set in the revocation notice.",
    ),
    Rule(
        key=RuleKey.REENROLLMENT_BAR_REPEAT,
        name="Re-enrollment bar after a second revocation",
        citation="42 CFR 424.535(c) (CY2020 PFS, 84 FR 47794)",
        version="2019-11-04",
        effective_from=date(2019, 11, 4),
        years=20,
    ),
)

MINIMUM_REENROLLMENT_BAR_YEARS = 1  # 42 CFR 424.535(c): "at least one year"


def _index(rules: tuple[Rule, ...]) -> Mapping[RuleKey, tuple[Rule, ...]]:
    by_key: dict[RuleKey, list[Rule]] = {}
    for rule in rules:
        by_key.setdefault(rule.key, []).append(rule)
    return {k: tuple(sorted(v, key=lambda r: r.effective_from)) for k, v in by_key.items()}


RULES: Mapping[RuleKey, tuple[Rule, ...]] = _index(_RULES)


def rule(key: RuleKey, on: date) -> Rule:
    """The version of a rule in force on a date (the date the event happened)."""
    versions = RULES[key]
    in_force = [r for r in versions if r.effective_from <= on]
    if not in_force:
        # Dates before a rule existed use its first version: better a stated rule than none.
        return versions[0]
    return in_force[-1]


def all_rules() -> tuple[Rule, ...]:
    return _RULES
