"""The rules of an enrollment's lifecycle (docs/regulation.md, "The enrollment")."""

from __future__ import annotations

from datetime import date

from models.rule_model import EPOCH as _EPOCH
from models.rule_model import Rule, RuleKey

ENROLLMENT_RULES: tuple[Rule, ...] = (
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
        note="The missed date is the later of the notice + 60 days and the revalidation due "
        "date: notices come 3-4 months ahead, and no stay or deactivation precedes the due "
        "date CMS publishes (FCSO revalidation overview).",
    ),
    Rule(
        key=RuleKey.STAY_MISSED_REVALIDATION,
        name="Stay of enrollment after a missed revalidation",
        citation="42 CFR 424.541; Palmetto JM 'Stay of Enrollment'; FCSO revalidation overview",
        version="2024-01-01",
        effective_from=date(2024, 1, 1),
        days=30,
        reminder_offsets_days=(14, 7, 1),
        note="Inferred from the missed date (day 0); uncured, the enrollment is deactivated "
        "retroactively to the revalidation due date.",
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
        key=RuleKey.STAY_IMPOSED,
        name="Stay of enrollment imposed by the MAC (at most 60 days)",
        citation="42 CFR 424.541(a); Palmetto JM 'Stay of Enrollment'",
        version="2024-01-01",
        effective_from=date(2024, 1, 1),
        days=60,
        reminder_offsets_days=(14, 7, 1),
        note="A stay the MAC's letter imposes lasts at most 60 days from that letter; it "
        "replaces the engine's inferred stay for the same cause.",
    ),
    Rule(
        key=RuleKey.STAY_REBUTTAL,
        name="Stay rebuttal window",
        citation="42 CFR 424.541(b) (as read by secondary sources)",
        version="2024-01-01",
        effective_from=date(2024, 1, 1),
        days=15,
        reminder_offsets_days=(7, 1),
        confirmed=False,
        note="15 days from the stay letter: a secondary source only.",
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
        key=RuleKey.CHANGE_REPORT_AUTHORIZED_OFFICIAL,
        name="Change reporting window (authorized or delegated official)",
        citation="42 CFR 424.516(e)(1)",
        version="2008",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(14, 7, 1),
        note="A change of authorized or delegated official is a change of control: 30 days, "
        "not the 90 days of other changes.",
    ),
    Rule(
        key=RuleKey.NON_BILLING_DEACTIVATION,
        name="Deactivation for 12 consecutive calendar months without a claim",
        citation="42 CFR 424.540(a)(1); NGS 'Deactivation, Suspension and Reactivation'",
        version="2008",
        effective_from=_EPOCH,
        months=12,
        note="From the first day of the first month without a claim through the last day of "
        "the twelfth; no advance notice.",
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
        note="Generally 30 days after the notice is mailed: the provider may bill until then "
        "(the record reads 'revocation pending'). Some grounds are retroactive (the notice "
        "then gives the date). 424.535(g) text UNCONFIRMED.",
    ),
    Rule(
        key=RuleKey.REENROLLMENT_BAR,
        name="Re-enrollment bar after a revocation",
        citation="42 CFR 424.535(c) (CY2020 PFS, 84 FR 47794)",
        version="2019-11-04",
        effective_from=date(2019, 11, 4),
        years=10,
        note="At least 1 and at most 10 years, set in the revocation notice; none for a "
        "424.535(a)(1) revocation for not answering a revalidation or information request "
        "(424.535(c)(1)(ii)).",
    ),
    Rule(
        key=RuleKey.REENROLLMENT_BAR_REPEAT,
        name="Re-enrollment bar after a second revocation",
        citation="42 CFR 424.535(c) (CY2020 PFS, 84 FR 47794)",
        version="2019-11-04",
        effective_from=date(2019, 11, 4),
        years=20,
    ),
    Rule(
        key=RuleKey.REENROLLMENT_BAR_IDENTITY_EXTENSION,
        name="Re-enrollment bar extension for re-enrolling under another identity",
        citation="42 CFR 424.535(c)(2) (CY2020 PFS, 84 FR 47794)",
        version="2019-11-04",
        effective_from=date(2019, 11, 4),
        years=3,
        confirmed=False,
        note="Up to 3 more years when the provider tried to re-enroll under a different name, "
        "numerical identifier or business identity.",
    ),
)
