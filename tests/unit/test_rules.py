"""Versioned regulatory rules (models/rules.py; docs/regulation.md)."""

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from models.rules import (
    MINIMUM_REENROLLMENT_BAR_YEARS,
    RULES,
    Rule,
    RuleKey,
    RuleRef,
    all_rules,
    rule,
)

# --- coverage and versioning -------------------------------------------------------------


def test_every_rule_key_has_at_least_one_version():
    missing = [k for k in RuleKey if not RULES.get(k)]
    assert missing == []
    assert set(RULES) == set(RuleKey)


def test_index_holds_exactly_the_declared_rules():
    indexed = [r for versions in RULES.values() for r in versions]
    assert sorted(indexed, key=lambda r: (r.key, r.effective_from)) == sorted(
        all_rules(), key=lambda r: (r.key, r.effective_from)
    )
    for key, versions in RULES.items():
        assert all(r.key == key for r in versions)


def test_versions_are_sorted_and_distinct_per_key():
    for key, versions in RULES.items():
        starts = [r.effective_from for r in versions]
        assert starts == sorted(starts), key
        assert len(set(starts)) == len(starts), f"{key}: two versions start the same day"
        labels = [r.version for r in versions]
        assert len(set(labels)) == len(labels), f"{key}: duplicate version label"


@pytest.mark.parametrize("key", list(RuleKey))
def test_rule_picks_the_version_in_force(key):
    versions = RULES[key]
    for i, version in enumerate(versions):
        last = (
            versions[i + 1].effective_from - timedelta(days=1)
            if i + 1 < len(versions)
            else date(2100, 1, 1)
        )
        assert rule(key, version.effective_from) is version
        assert rule(key, last) is version
        if i > 0:
            assert rule(key, version.effective_from - timedelta(days=1)) is versions[i - 1]


@pytest.mark.parametrize("key", list(RuleKey))
def test_dates_before_a_rule_existed_use_its_first_version(key):
    first = RULES[key][0]
    assert rule(key, first.effective_from - timedelta(days=1)) is first
    assert rule(key, date(1990, 1, 1)) is first


@pytest.mark.parametrize(
    ("on", "months", "version"),
    [
        (date(2016, 6, 1), 6, "2016"),
        (date(2023, 12, 31), 6, "2016"),
        (date(2024, 3, 28), 6, "2016"),
        (date(2024, 3, 29), 7, "2024-03-29"),
        (date(2024, 3, 30), 7, "2024-03-29"),
        (date(2026, 1, 1), 7, "2024-03-29"),
        (date(1999, 1, 1), 6, "2016"),
    ],
)
def test_early_revalidation_window_changed_from_6_to_7_months(on, months, version):
    r = rule(RuleKey.EARLY_SUBMISSION_REVALIDATION, on)
    assert r.months == months
    assert r.version == version
    assert r.days is None and r.years is None


def test_early_revalidation_7_month_rule_is_flagged_unconfirmed():
    # The changeover date is the earliest dated source, not a known effective date.
    assert rule(RuleKey.EARLY_SUBMISSION_REVALIDATION, date(2025, 1, 1)).confirmed is False


# --- explanation material ----------------------------------------------------------------


@pytest.mark.parametrize("r", all_rules(), ids=lambda r: f"{r.key}@{r.version}")
def test_every_rule_has_a_name_citation_and_version(r):
    assert r.citation.strip(), r.key
    assert r.name.strip(), r.key
    assert r.version.strip(), r.key


@pytest.mark.parametrize("r", all_rules(), ids=lambda r: f"{r.key}@{r.version}")
def test_every_rule_counts_something(r):
    assert r.days is not None or r.months or r.years or r.reminder_offsets_days, r.key
    for n in (r.days, r.months, r.years):
        assert n is None or n > 0, r.key


@pytest.mark.parametrize(
    "r",
    # NON_BILLING_WARNINGS stores month counts (ascending) in the offsets field: see its comment.
    [r for r in all_rules() if r.key != RuleKey.NON_BILLING_WARNINGS],
    ids=lambda r: f"{r.key}@{r.version}",
)
def test_reminder_offsets_are_positive_largest_first_and_inside_the_period(r):
    offsets = r.reminder_offsets_days
    assert all(o > 0 for o in offsets)
    assert list(offsets) == sorted(offsets, reverse=True)
    assert len(set(offsets)) == len(offsets)
    if r.days is not None and not r.months and not r.years:
        assert all(o < r.days for o in offsets), r.key


def test_ref_carries_what_a_clock_needs_to_explain_itself():
    r = rule(RuleKey.DEVELOPMENT_RESPONSE, date(2025, 1, 1))
    ref = r.ref
    assert isinstance(ref, RuleRef)
    assert (ref.key, ref.name, ref.citation, ref.version) == (
        r.key,
        r.name,
        r.citation,
        r.version,
    )


def test_rules_are_frozen():
    r = rule(RuleKey.SIGNATURE_WINDOW, date(2025, 1, 1))
    with pytest.raises(ValidationError):
        r.days = 21


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"days": 30}, "30 calendar days"),
        ({"days": 1}, "1 calendar day"),
        ({"months": 7}, "7 months"),
        ({"months": 1}, "1 month"),
        ({"years": 5}, "5 years"),
        ({"years": 1}, "1 year"),
        ({"years": 1, "months": 2, "days": 3}, "1 year 2 months 3 calendar days"),
        ({}, ""),
    ],
)
def test_describe_period(kwargs, text):
    r = Rule(
        key=RuleKey.SIGNATURE_WINDOW,
        name="x",
        citation="y",
        version="1",
        effective_from=date(2020, 1, 1),
        **kwargs,
    )
    assert r.describe_period() == text


# --- the numbers the sources give ---------------------------------------------------------

_ON = date(2025, 6, 1)


@pytest.mark.parametrize(
    ("key", "days", "months", "years"),
    [
        # Application lifecycle (docs/regulation.md, "The application")
        (RuleKey.SIGNATURE_WINDOW, 20, None, None),
        (RuleKey.FEE_PAYMENT_WINDOW, 30, None, None),
        (RuleKey.DEVELOPMENT_RESPONSE, 30, None, None),
        (RuleKey.FINGERPRINT_SUBMISSION, 30, None, None),
        (RuleKey.MAIL_RECEIPT_PRESUMPTION, 5, None, None),
        (RuleKey.CORRECTIVE_ACTION_PLAN, 30, None, None),
        (RuleKey.RECONSIDERATION_REQUEST, 60, None, None),
        (RuleKey.RECONSIDERATION_DECISION, 90, None, None),
        (RuleKey.RETROSPECTIVE_BILLING, 30, None, None),
        (RuleKey.RETROSPECTIVE_BILLING_DISASTER, 90, None, None),
        (RuleKey.EARLY_SUBMISSION_PART_B, 60, None, None),
        (RuleKey.EARLY_SUBMISSION_INSTITUTIONAL, 180, None, None),
        (RuleKey.EARLY_SUBMISSION_CHOW, 90, None, None),
        (RuleKey.EARLY_SUBMISSION_REVALIDATION, None, 7, None),
        (RuleKey.MAC_PROCESSING_INITIAL, 180, None, None),
        (RuleKey.MAC_PROCESSING_CHANGE, 90, None, None),
        (RuleKey.LATE_RECORDING_GRACE, 14, None, None),  # engine policy
        # Enrollment lifecycle (docs/regulation.md, "The enrollment")
        (RuleKey.REVALIDATION_CYCLE, None, None, 5),
        (RuleKey.REVALIDATION_CYCLE_DMEPOS, None, None, 3),
        (RuleKey.REVALIDATION_NOTICE_RESPONSE, 60, None, None),
        (RuleKey.STAY_MISSED_REVALIDATION, 30, None, None),
        (RuleKey.STAY_UNREPORTED_CHANGE, 60, None, None),
        (RuleKey.CHANGE_REPORT_PRIORITY, 30, None, None),
        (RuleKey.CHANGE_REPORT_OTHER, 90, None, None),
        (RuleKey.CHANGE_REPORT_DMEPOS, 30, None, None),
        (RuleKey.CHANGE_REPORT_PRACTICE_LOCATION, 30, None, None),
        (RuleKey.NON_BILLING_DEACTIVATION, None, 12, None),
        (RuleKey.ORDERING_REFERRING_DEACTIVATION, None, 12, None),
        (RuleKey.RECERTIFICATION_RESPONSE, 90, None, None),
        (RuleKey.DEACTIVATION_REBUTTAL, 15, None, None),
        (RuleKey.REVOCATION_EFFECTIVE, 30, None, None),
        (RuleKey.REENROLLMENT_BAR, None, None, 10),
        (RuleKey.REENROLLMENT_BAR_REPEAT, None, None, 20),
    ],
)
def test_durations_match_domain_md(key, days, months, years):
    r = rule(key, _ON)
    assert (r.days, r.months, r.years) == (days, months, years)


def test_cap_and_reconsideration_from_notice_date_include_five_mail_days():
    mail = rule(RuleKey.MAIL_RECEIPT_PRESUMPTION, _ON).days
    assert rule(RuleKey.CORRECTIVE_ACTION_PLAN, _ON).days + mail == 35
    assert rule(RuleKey.RECONSIDERATION_REQUEST, _ON).days + mail == 65


def test_reenrollment_bar_bounds():
    assert MINIMUM_REENROLLMENT_BAR_YEARS == 1
    assert rule(RuleKey.REENROLLMENT_BAR, _ON).years == 10
    assert rule(RuleKey.REENROLLMENT_BAR_REPEAT, _ON).years == 20


@pytest.mark.parametrize(
    ("key", "start"),
    [
        # Stays of enrollment and the all-provider 30-day practice-location rule are CY2024 PFS.
        (RuleKey.STAY_MISSED_REVALIDATION, date(2024, 1, 1)),
        (RuleKey.STAY_UNREPORTED_CHANGE, date(2024, 1, 1)),
        (RuleKey.CHANGE_REPORT_PRACTICE_LOCATION, date(2024, 1, 1)),
        (RuleKey.SIGNATURE_WINDOW, date(2017, 1, 9)),
        (RuleKey.ORDERING_REFERRING_DEACTIVATION, date(2026, 1, 1)),
    ],
)
def test_rules_introduced_on_a_known_date(key, start):
    assert RULES[key][0].effective_from == start


@pytest.mark.parametrize(
    ("key", "offsets"),
    [
        (RuleKey.SIGNATURE_WINDOW, (7, 3, 1)),
        (RuleKey.DEVELOPMENT_RESPONSE, (7, 1)),
        (RuleKey.FEE_PAYMENT_WINDOW, (7, 1)),
        (RuleKey.FINGERPRINT_SUBMISSION, (7, 1)),
        (RuleKey.RECONSIDERATION_REQUEST, (14, 7, 1)),
    ],
)
def test_application_clock_reminder_offsets(key, offsets):
    assert rule(key, _ON).reminder_offsets_days == offsets


@pytest.mark.parametrize(
    "key",
    [RuleKey.RECONSIDERATION_DECISION, RuleKey.MAC_PROCESSING_INITIAL],
)
def test_follow_up_targets_are_marked_as_such(key):
    # Follow-up targets are said to be targets, not deadlines.
    note = (rule(key, _ON).note or "").lower()
    assert "follow" in note
