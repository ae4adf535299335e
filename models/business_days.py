"""Business days for the team's own targets: weekdays that are not US federal holidays
(5 U.S.C. 6103, with the observed-day rule of Executive Order 11582: a holiday on a Saturday is
observed the Friday before, one on a Sunday the Monday after).

Only internal targets count in business days (when to escalate a deadline, when to start work
on it). Regulatory clocks stay in calendar days (docs/regulation.md, "Counting days").
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

__all__ = ["business_days_before", "federal_holidays", "is_business_day"]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday (0 = Monday) of a month; n = -1 for the last."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@cache
def federal_holidays(year: int) -> frozenset[date]:
    """The days federal offices are closed in `year`, as observed (a New Year's Day on a
    Saturday is observed on December 31 of the year before, and counted there)."""
    fixed = [(1, 1), (7, 4), (11, 11), (12, 25)]
    if year >= 2021:
        fixed.append((6, 19))  # Juneteenth National Independence Day Act, Pub. L. 117-17
    days = {_observed(date(year, m, d)) for m, d in fixed}
    days |= {
        _nth_weekday(year, 1, 0, 3),  # Birthday of Martin Luther King, Jr.
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving Day
    }
    next_new_year = _observed(date(year + 1, 1, 1))
    if next_new_year.year == year:
        days.add(next_new_year)
    return frozenset(d for d in days if d.year == year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def business_days_before(day: date, n: int) -> date:
    """The business day `n` business days before `day` (n = 0: `day` itself if it is one,
    else the business day before it)."""
    current = day
    while not is_business_day(current):
        current -= timedelta(days=1)
    for _ in range(n):
        current -= timedelta(days=1)
        while not is_business_day(current):
            current -= timedelta(days=1)
    return current
