"""Business days for internal targets (models/business_days.py): US federal holidays as
observed; regulatory clocks are not touched (they stay in calendar days)."""

from datetime import date

from models.business_days import business_days_before, federal_holidays, is_business_day


def test_the_federal_holidays_of_2026_as_opm_lists_them() -> None:
    assert sorted(federal_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 1, 19),
        date(2026, 2, 16),
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 3),  # July 4 is a Saturday: observed Friday
        date(2026, 9, 7),
        date(2026, 10, 12),
        date(2026, 11, 11),
        date(2026, 11, 26),
        date(2026, 12, 25),
    ]


def test_a_new_years_day_on_a_saturday_is_observed_the_friday_before() -> None:
    assert date(2021, 12, 31) in federal_holidays(2021)  # January 1, 2022 was a Saturday
    assert date(2022, 1, 1) not in federal_holidays(2022)
    assert date(2021, 6, 18) in federal_holidays(2021)  # Juneteenth 2021, a Saturday
    assert not any(d.month == 6 and d.day in (18, 19) for d in federal_holidays(2020))


def test_counting_back_skips_weekends_and_holidays() -> None:
    # Thanksgiving week 2026: Monday 30 Nov, 5 business days back skips the 26th and a weekend.
    assert business_days_before(date(2026, 11, 30), 5) == date(2026, 11, 20)
    assert business_days_before(date(2026, 11, 29), 0) == date(2026, 11, 27)  # a Sunday
    assert business_days_before(date(2026, 12, 28), 1) == date(2026, 12, 24)
    assert not is_business_day(date(2026, 12, 25)) and is_business_day(date(2026, 12, 24))
