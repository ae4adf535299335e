"""The regulatory calendar (models/calendar.py; docs/regulation.md, "Counting days")."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from pydantic import ValidationError

import models.calendar as cal
from models.calendar import (
    DEFAULT_TIME_ZONE,
    Clock,
    ClockKind,
    add_days,
    add_months,
    add_years,
    consequence_instant,
    effective_date,
    last_day_of_month,
    local_date,
    open_clock,
    period_last_day,
    presumed_receipt,
    retrospective_billing_start,
    revalidation_due_date,
    revalidation_window_opens,
    start_of_day,
)
from models.rules import Rule, RuleKey, rule

NY = "America/New_York"
LA = "America/Los_Angeles"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- 7.0: day 0 is the event date, the last day counts, consequence at start of D+N+1 ----------


def test_default_zone_is_new_york():
    assert DEFAULT_TIME_ZONE == NY


@pytest.mark.parametrize(
    ("key", "start", "last"),
    [
        (RuleKey.DEVELOPMENT_RESPONSE, date(2025, 1, 1), date(2025, 1, 31)),
        (RuleKey.DEVELOPMENT_RESPONSE, date(2025, 2, 1), date(2025, 3, 3)),
        (RuleKey.DEVELOPMENT_RESPONSE, date(2024, 2, 1), date(2024, 3, 2)),  # leap year
        (RuleKey.SIGNATURE_WINDOW, date(2025, 12, 20), date(2026, 1, 9)),
        (RuleKey.RECONSIDERATION_REQUEST, date(2025, 1, 1), date(2025, 3, 2)),
        (RuleKey.DEACTIVATION_REBUTTAL, date(2025, 2, 20), date(2025, 3, 7)),
        (RuleKey.REVALIDATION_CYCLE, date(2020, 2, 29), date(2025, 2, 28)),
        (RuleKey.NON_BILLING_DEACTIVATION, date(2025, 1, 31), date(2026, 1, 31)),
        (RuleKey.EARLY_SUBMISSION_REVALIDATION, date(2025, 1, 31), date(2025, 8, 31)),
    ],
)
def test_period_last_day_counts_the_start_as_day_zero(key, start, last):
    assert period_last_day(start, rule(key, start)) == last


def test_thirty_day_period_last_day_is_d_plus_30():
    d = date(2025, 4, 10)
    assert period_last_day(d, rule(RuleKey.DEVELOPMENT_RESPONSE, d)) == d + timedelta(days=30)


def test_period_last_day_adds_years_then_months_then_days():
    r = Rule(
        key=RuleKey.SIGNATURE_WINDOW,
        name="x",
        citation="y",
        version="1",
        effective_from=date(2000, 1, 1),
        years=1,
        months=1,
        days=1,
    )
    # 2023-01-31 +1y = 2024-01-31, +1m = 2024-02-29 (clamped), +1d = 2024-03-01
    assert period_last_day(date(2023, 1, 31), r) == date(2024, 3, 1)


@pytest.mark.parametrize(
    ("last_day", "zone_name", "expected_utc"),
    [
        # New York: EST is UTC-5, EDT is UTC-4; DST began 2024-03-10 and ended 2024-11-03.
        (date(2024, 3, 8), NY, utc(2024, 3, 9, 5)),
        (date(2024, 3, 9), NY, utc(2024, 3, 10, 5)),  # the DST day itself starts in EST
        (date(2024, 3, 10), NY, utc(2024, 3, 11, 4)),
        (date(2024, 11, 2), NY, utc(2024, 11, 3, 4)),  # starts in EDT
        (date(2024, 11, 3), NY, utc(2024, 11, 4, 5)),
        (date(2025, 7, 4), NY, utc(2025, 7, 5, 4)),
        (date(2025, 12, 31), NY, utc(2026, 1, 1, 5)),
        # Los Angeles: PST UTC-8, PDT UTC-7, same transition days.
        (date(2024, 3, 9), LA, utc(2024, 3, 10, 8)),
        (date(2024, 3, 10), LA, utc(2024, 3, 11, 7)),
        (date(2024, 11, 2), LA, utc(2024, 11, 3, 7)),
        (date(2024, 11, 3), LA, utc(2024, 11, 4, 8)),
        # A zone without DST.
        (date(2024, 3, 9), "Pacific/Honolulu", utc(2024, 3, 10, 10)),
    ],
)
def test_consequence_is_the_start_of_the_next_day_in_the_zone(last_day, zone_name, expected_utc):
    instant = consequence_instant(last_day, zone_name)
    assert instant == expected_utc
    assert instant.tzinfo is not None
    local = instant.astimezone(ZoneInfo(zone_name))
    assert local.date() == last_day + timedelta(days=1)
    assert (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
    # One microsecond earlier is still the last day there.
    assert local_date(instant - timedelta(microseconds=1), zone_name) == last_day
    assert local_date(instant, zone_name) == last_day + timedelta(days=1)


def test_the_same_instant_falls_on_different_dates_in_different_zones():
    instant = utc(2025, 3, 1, 6)  # 01:00 in New York, 22:00 the day before in Los Angeles
    assert local_date(instant, NY) == date(2025, 3, 1)
    assert local_date(instant, LA) == date(2025, 2, 28)
    assert consequence_instant(date(2025, 2, 28), NY) <= instant
    assert consequence_instant(date(2025, 2, 28), LA) > instant


def test_start_of_day_is_aware_midnight():
    s = start_of_day(date(2024, 3, 10), NY)
    assert s == utc(2024, 3, 10, 5)
    assert s.utcoffset() == timedelta(hours=-5)
    s2 = start_of_day(date(2024, 3, 11), NY)
    assert s2.utcoffset() == timedelta(hours=-4)

    # A DST day is 23 hours long, the autumn one 25 (compare in UTC: same-tzinfo subtraction
    # is wall-clock arithmetic in Python).
    def length(day: date) -> timedelta:
        return start_of_day(day + timedelta(days=1), LA).astimezone(UTC) - start_of_day(
            day, LA
        ).astimezone(UTC)

    assert length(date(2024, 3, 10)) == timedelta(hours=23)
    assert length(date(2024, 11, 3)) == timedelta(hours=25)
    assert length(date(2024, 11, 4)) == timedelta(hours=24)


def test_add_days_is_calendar_days_with_no_business_day_roll_forward():
    # 2025-01-01 + 30 = Friday 2025-01-31; 2025-02-01 + 30 = Monday 2025-03-03;
    # 2025-06-05 + 30 = Saturday 2025-07-05 (no roll-forward over the weekend or July 4th).
    assert add_days(date(2025, 6, 5), 30) == date(2025, 7, 5)
    assert add_days(date(2025, 6, 4), 30) == date(2025, 7, 4)
    assert add_days(date(2025, 3, 1), -1) == date(2025, 2, 28)


# --- month arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 8, 31), -7, date(2025, 1, 31)),
        (date(2025, 9, 30), -7, date(2025, 2, 28)),
        (date(2024, 9, 30), -7, date(2024, 2, 29)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 5, 31), 1, date(2025, 6, 30)),
        (date(2025, 1, 15), 12, date(2026, 1, 15)),
        (date(2025, 1, 15), -12, date(2024, 1, 15)),
        (date(2025, 1, 15), -13, date(2023, 12, 15)),
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2025, 6, 30), 0, date(2025, 6, 30)),
        (date(2025, 2, 28), 1, date(2025, 3, 28)),  # clamping does not stick to month ends
    ],
)
def test_add_months_keeps_the_day_and_clamps(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2020, 6, 30), 5, date(2025, 6, 30)),
        (date(2020, 6, 30), -3, date(2017, 6, 30)),
    ],
)
def test_add_years(day, years, expected):
    assert add_years(day, years) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 2, 1), date(2025, 2, 28)),
        (date(2024, 2, 10), date(2024, 2, 29)),
        (date(2025, 12, 31), date(2025, 12, 31)),
        (date(2025, 4, 1), date(2025, 4, 30)),
    ],
)
def test_last_day_of_month(day, expected):
    assert last_day_of_month(day) == expected


# --- revalidation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "dmepos", "due"),
    [
        (date(2020, 3, 15), False, date(2025, 3, 31)),
        (date(2020, 2, 29), False, date(2025, 2, 28)),
        (date(2020, 1, 1), False, date(2025, 1, 31)),
        (date(2020, 12, 31), False, date(2025, 12, 31)),
        (date(2020, 3, 15), True, date(2023, 3, 31)),
        (date(2021, 2, 28), True, date(2024, 2, 29)),
    ],
)
def test_revalidation_due_date_is_a_month_end_5_years_on_3_for_dmepos(anchor, dmepos, due):
    got = revalidation_due_date(anchor, dmepos=dmepos)
    assert got == due
    assert got == last_day_of_month(got)


@pytest.mark.parametrize(
    ("due", "opens"),
    [
        (date(2025, 8, 31), date(2025, 1, 31)),
        (date(2025, 9, 30), date(2025, 2, 28)),  # clamped
        (date(2024, 9, 30), date(2024, 2, 29)),  # clamped, leap year
        (date(2025, 4, 30), date(2024, 9, 30)),
        (date(2025, 3, 31), date(2024, 8, 31)),
    ],
)
def test_revalidation_window_opens_7_months_before(due, opens):
    assert revalidation_window_opens(due) == opens
    assert revalidation_window_opens(due, on=date(2025, 1, 1)) == opens


def test_revalidation_window_uses_the_rule_in_force_on_the_given_date():
    due = date(2024, 9, 30)
    assert revalidation_window_opens(due, on=date(2024, 3, 28)) == date(2024, 3, 30)  # 6 months
    assert revalidation_window_opens(due, on=date(2024, 3, 29)) == date(2024, 2, 29)  # 7 months
    # Without `on`, the rule in force on the due date: 6 months before 2024-03-29, 7 on it.
    assert revalidation_window_opens(date(2024, 3, 28)) == date(2023, 9, 28)
    assert revalidation_window_opens(date(2024, 3, 31)) == date(2023, 8, 31)


@freeze_time("2019-06-01")
def test_revalidation_window_does_not_depend_on_today():
    # Today (frozen) is long before the 7-month rule: the rule is chosen by the due date.
    assert revalidation_window_opens(date(2025, 8, 31)) == date(2025, 1, 31)
    assert revalidation_due_date(date(2020, 3, 15), dmepos=False) == date(2025, 3, 31)


# --- effective date and retrospective billing (424.520(d), 424.521(a)) ---------


def test_dab_cr6067_effective_date_and_retro_billing():
    # Application processed to approval received 2019-11-06 -> effective 2019-11-06,
    # billing allowed from 2019-10-07 (first service long before).
    eff = effective_date(date(2019, 11, 6), date(2019, 9, 1))
    assert eff == date(2019, 11, 6)
    assert retrospective_billing_start(eff) == date(2019, 10, 7)


def test_palmetto_worked_example():
    # First patient 1 Apr, 855 filed 30 May -> effective 30 May, earliest billable DOS 30 Apr.
    eff = effective_date(date(2025, 5, 30), date(2025, 4, 1))
    assert eff == date(2025, 5, 30)
    assert retrospective_billing_start(eff) == date(2025, 4, 30)


def test_effective_date_is_the_later_of_filing_and_first_service():
    assert effective_date(date(2025, 3, 1), date(2025, 4, 15)) == date(2025, 4, 15)
    assert effective_date(date(2025, 3, 1), date(2025, 3, 1)) == date(2025, 3, 1)
    assert effective_date(date(2025, 3, 1), None) == date(2025, 3, 1)


def test_retrospective_billing_disaster_is_90_days():
    assert retrospective_billing_start(date(2025, 5, 30), declared_disaster=True) == date(
        2025, 3, 1
    )
    assert retrospective_billing_start(date(2025, 5, 30), declared_disaster=False) == date(
        2025, 4, 30
    )


@pytest.mark.parametrize(
    ("notice", "receipt"),
    [
        (date(2025, 1, 1), date(2025, 1, 6)),
        (date(2025, 2, 26), date(2025, 3, 3)),
        (date(2024, 2, 26), date(2024, 3, 2)),
        (date(2025, 12, 29), date(2026, 1, 3)),
    ],
)
def test_presumed_receipt_is_five_days_after_the_notice(notice, receipt):
    assert presumed_receipt(notice) == receipt


# --- open_clock --------------------------------------------------------------------------------


def _dev_clock(start: date = date(2025, 3, 3), tz: str = NY, **kw) -> Clock:
    return open_clock(
        clock_id="development_response-4",
        kind=ClockKind.DEVELOPMENT_RESPONSE,
        rule_key=RuleKey.DEVELOPMENT_RESPONSE,
        started_on=start,
        started_by="the MAC's development request",
        time_zone=tz,
        consequence="the application is rejected",
        **kw,
    )


def test_open_clock_counts_per_7_0():
    c = _dev_clock()
    assert c.started_on == date(2025, 3, 3)
    assert c.last_day == date(2025, 4, 2)
    assert c.fires_at == utc(2025, 4, 3, 4)  # midnight EDT
    assert c.time_zone == NY
    assert c.kind == ClockKind.DEVELOPMENT_RESPONSE
    assert c.rule == rule(RuleKey.DEVELOPMENT_RESPONSE, date(2025, 3, 3)).ref
    assert c.period == "30 calendar days"
    assert c.days_left(date(2025, 4, 2)) == 0
    assert c.days_left(date(2025, 3, 3)) == 30
    assert c.days_left(date(2025, 4, 3)) == -1


def test_open_clock_in_a_non_default_zone():
    c = _dev_clock(tz=LA)
    assert c.last_day == date(2025, 4, 2)
    assert c.fires_at == utc(2025, 4, 3, 7)  # midnight PDT
    assert [r.at for r in c.reminders] == [utc(2025, 3, 26, 7), utc(2025, 4, 1, 7)]


def test_open_clock_reminders_at_offsets_before_the_last_day():
    c = _dev_clock()
    assert [(r.days_before, r.on) for r in c.reminders] == [
        (7, date(2025, 3, 26)),
        (1, date(2025, 4, 1)),
    ]
    for r in c.reminders:
        assert r.at == start_of_day(r.on, NY)
        assert r.at < c.fires_at


def test_signature_clock_reminders():
    c = open_clock(
        clock_id="signatures-2",
        kind=ClockKind.SIGNATURES,
        rule_key=RuleKey.SIGNATURE_WINDOW,
        started_on=date(2025, 3, 1),
        started_by="the PECOS submission",
        time_zone=NY,
        consequence="rejected",
    )
    assert c.last_day == date(2025, 3, 21)
    assert [(r.days_before, r.on) for r in c.reminders] == [
        (7, date(2025, 3, 14)),
        (3, date(2025, 3, 18)),
        (1, date(2025, 3, 20)),
    ]


def test_reminders_only_after_the_start_date(monkeypatch):
    short = Rule(
        key=RuleKey.DEVELOPMENT_RESPONSE,
        name="Short window",
        citation="test",
        version="t",
        effective_from=date(2000, 1, 1),
        days=10,
        reminder_offsets_days=(14, 10, 9, 1),
    )
    monkeypatch.setattr(cal, "rule", lambda key, on: short)
    c = _dev_clock(start=date(2025, 3, 1))
    assert c.last_day == date(2025, 3, 11)
    # 14 days before is before the start; 10 days before is the start day itself: neither.
    assert [(r.days_before, r.on) for r in c.reminders] == [
        (9, date(2025, 3, 2)),
        (1, date(2025, 3, 10)),
    ]


def test_a_rule_with_no_period_has_no_reminders():
    c = open_clock(
        clock_id="x-1",
        kind=ClockKind.DEVELOPMENT_RESPONSE,
        rule_key=RuleKey.REVALIDATION_REMINDERS,
        started_on=date(2025, 3, 1),
        started_by="test",
        time_zone=NY,
        consequence="nothing",
    )
    assert c.last_day == date(2025, 3, 1)
    assert c.reminders == ()


def test_open_clock_from_presumed_receipt():
    notice = date(2025, 1, 10)
    c = open_clock(
        clock_id="reconsideration_request-7",
        kind=ClockKind.RECONSIDERATION_REQUEST,
        rule_key=RuleKey.RECONSIDERATION_REQUEST,
        started_on=notice,
        started_by="the denial notice",
        time_zone=NY,
        consequence="the denial becomes final",
        period_start=presumed_receipt(notice),
    )
    assert c.started_on == notice
    assert c.last_day == notice + timedelta(days=65)
    assert "presumed receipt on 2025-01-15" in c.period
    assert c.period.startswith("60 calendar days")
    assert [r.days_before for r in c.reminders] == [14, 7, 1]


def test_period_start_equal_to_start_is_not_called_presumed_receipt():
    c = _dev_clock(period_start=date(2025, 3, 3))
    assert c.period == "30 calendar days"
    assert c.last_day == date(2025, 4, 2)


def test_open_clock_uses_the_rule_version_in_force_on_the_start_date(monkeypatch):
    seen: list[tuple[RuleKey, date]] = []
    real = cal.rule

    def spy(key, on):
        seen.append((key, on))
        return real(key, on)

    monkeypatch.setattr(cal, "rule", spy)
    _dev_clock(start=date(2025, 3, 3), period_start=date(2025, 3, 8))
    assert seen == [(RuleKey.DEVELOPMENT_RESPONSE, date(2025, 3, 3))]


def test_explanation_names_rule_citation_last_day_and_consequence():
    c = _dev_clock()
    r = rule(RuleKey.DEVELOPMENT_RESPONSE, date(2025, 3, 3))
    text = c.explanation
    assert r.name in text
    assert r.citation in text
    assert f"v{r.version}" in text
    assert str(RuleKey.DEVELOPMENT_RESPONSE) in text
    assert "due 2025-04-02" in text
    assert "dated 2025-03-03" in text
    assert "the MAC's development request" in text
    assert "30 calendar days" in text
    assert "the application is rejected" in text
    assert "2025-04-03" in text  # when the consequence takes effect
    assert NY in text


def test_clock_is_frozen():
    c = _dev_clock()
    with pytest.raises(ValidationError):
        c.last_day = date(2030, 1, 1)
