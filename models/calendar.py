"""The regulatory calendar: pure functions of dates, and the self-explaining clock.

Counting follows docs/regulation.md ("Counting days"): a period of N days from date D has D as
day 0 and ends at the end of day D+N (the last day counts); the consequence takes effect at the
start of day D+N+1 in the organisation's time zone. Calendar days, no roll-forward to business
days. Month periods keep the day of month, clamped to the month's last day.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict

from models.rules import Rule, RuleKey, RuleRef, rule

DEFAULT_TIME_ZONE = "America/New_York"


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def refuse_number_as_date(value: Any) -> Any:
    """A date a request writes (YYYY-MM-DD in JSON, a CSV cell's text): pydantic alone would
    read a number as a Unix time, so `0` would be 1970-01-01."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError("not a date: write it YYYY-MM-DD, e.g. 2026-11-30")
    return value


# A date field of a request model: a written date, never a number.
WrittenDate = Annotated[date, BeforeValidator(refuse_number_as_date)]

# What the OpenAPI document says of a time zone field: a format of its own, since no pattern
# says which names the IANA database holds (validate_time_zone checks them).
TIME_ZONE_FORMAT = "iana-time-zone"
TIME_ZONE_SCHEMA = {
    "format": TIME_ZONE_FORMAT,
    "description": "An IANA time zone name, e.g. America/New_York or America/Chicago.",
    "examples": ["America/New_York"],
}


def validate_time_zone(name: str) -> str:
    """A field validator: the name must be an IANA zone the machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone; use a name like 'America/New_York'"
        ) from None
    return name


def local_date(instant: datetime, time_zone: str) -> date:
    """The calendar date an instant falls on in the organisation's zone."""
    return instant.astimezone(ZoneInfo(time_zone)).date()


def start_of_day(day: date, time_zone: str) -> datetime:
    """The instant a calendar day begins in the zone (as an aware datetime)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(time_zone))


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def last_day_of_month(day: date) -> date:
    return day.replace(day=_stdlib_calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """Same day of month `months` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = _stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def period_last_day(start: date, r: Rule) -> date:
    """Last day of a period that starts on `start` (day 0) and lasts as the rule says."""
    end = start
    if r.years:
        end = add_years(end, r.years)
    if r.months:
        end = add_months(end, r.months)
    if r.days:
        end = add_days(end, r.days)
    return end


def consequence_instant(last_day: date, time_zone: str) -> datetime:
    """When a missed deadline takes effect: the start of the day after its last day."""
    return start_of_day(add_days(last_day, 1), time_zone)


class ClockKind(StrEnum):
    SIGNATURES = "signatures"
    FEE_PAYMENT = "fee_payment"
    FEE_HARDSHIP_DECISION = "fee_hardship_decision"
    DEVELOPMENT_RESPONSE = "development_response"
    FINGERPRINTS = "fingerprints"
    CORRECTIVE_ACTION_PLAN = "corrective_action_plan"
    CORRECTIVE_ACTION_PLAN_DECISION = "corrective_action_plan_decision"
    RECONSIDERATION_REQUEST = "reconsideration_request"
    RECONSIDERATION_DECISION = "reconsideration_decision"
    LATE_RECORDING = "late_recording"


class EnrollmentClockKind(StrEnum):
    """Clocks of an enrollment record (docs/regulation.md, "The enrollment"). A separate enum
    from the application's so each reducer's expiry table covers exactly its own kinds."""

    REVALIDATION_DUE = "revalidation_due"
    REVALIDATION_TARGET = "revalidation_target"
    REVALIDATION_NOTICE = "revalidation_notice"
    STAY = "stay"
    STAY_REBUTTAL = "stay_rebuttal"
    CHANGE_REPORT = "change_report"
    NON_BILLING = "non_billing"
    ORDERING_REFERRING = "ordering_referring"
    DEACTIVATION_REBUTTAL = "deactivation_rebuttal"
    REVOCATION_EFFECTIVE = "revocation_effective"
    REVOCATION_CAP = "revocation_cap"
    REVOCATION_RECONSIDERATION = "revocation_reconsideration"
    REENROLLMENT_BAR = "reenrollment_bar"


AnyClockKind = ClockKind | EnrollmentClockKind


class Reminder(BaseModel):
    model_config = ConfigDict(frozen=True)

    days_before: int
    on: date
    at: datetime


class Clock(BaseModel):
    """An open regulatory clock, carrying everything needed to explain it to a person.

    `last_day` is the last day on which the thing may still be done; `fires_at` is when the
    consequence takes effect (start of the next day in the organisation's zone).
    """

    model_config = ConfigDict(frozen=True)

    clock_id: str
    kind: AnyClockKind
    rule: RuleRef
    started_on: date
    started_by: str
    last_day: date
    fires_at: datetime
    time_zone: str
    period: str
    consequence: str
    reminders: tuple[Reminder, ...] = ()

    @property
    def explanation(self) -> str:
        return (
            f"{self.rule.name}: due {self.last_day.isoformat()} — {self.period} from "
            f"{self.started_by} dated {self.started_on.isoformat()} "
            f"({self.rule.citation}; rule {self.rule.key} v{self.rule.version}). "
            f"If nothing is recorded by the end of that day: {self.consequence} "
            f"(at the start of {add_days(self.last_day, 1).isoformat()}, {self.time_zone})."
        )

    def days_left(self, today: date) -> int:
        return (self.last_day - today).days


def open_clock(
    *,
    clock_id: str,
    kind: AnyClockKind,
    rule_key: RuleKey,
    started_on: date,
    started_by: str,
    time_zone: str,
    consequence: str,
    period_start: date | None = None,
    last_day: date | None = None,
    period: str | None = None,
    reminder_offsets_days: tuple[int, ...] | None = None,
    reminder_days: tuple[date, ...] | None = None,
) -> Clock:
    """Open a clock for a rule; `period_start` differs from `started_on` when a mailed notice
    is presumed received some days after its date. A clock whose last day is not the rule's
    plain period (a due date from the CMS list, a month-end, a bar set in a notice) passes
    `last_day` and `period` (the words that explain it); reminders default to the rule's
    offsets, or come as other offsets (`reminder_offsets_days`) or as dates (`reminder_days`)."""
    r = rule(rule_key, started_on)
    if last_day is None:
        last_day = period_last_day(period_start or started_on, r)
    if period is None:
        period = r.describe_period()
        if period_start and period_start != started_on:
            period = f"{period} from presumed receipt on {period_start.isoformat()}, counted"
    if reminder_days is None:
        offsets = (
            r.reminder_offsets_days if reminder_offsets_days is None else reminder_offsets_days
        )
        reminder_days = tuple(add_days(last_day, -offset) for offset in offsets)
    reminders = tuple(
        Reminder(days_before=(last_day - on).days, on=on, at=start_of_day(on, time_zone))
        for on in reminder_days
        if started_on < on <= last_day
    )
    return Clock(
        clock_id=clock_id,
        kind=kind,
        rule=r.ref,
        started_on=started_on,
        started_by=started_by,
        last_day=last_day,
        fires_at=consequence_instant(last_day, time_zone),
        time_zone=time_zone,
        period=period,
        consequence=consequence,
        reminders=reminders,
    )


def presumed_receipt(notice_date: date) -> date:
    """Mailed notices are presumed received 5 days after their date (42 CFR 498.22(b)(3))."""
    return period_last_day(notice_date, rule(RuleKey.MAIL_RECEIPT_PRESUMPTION, notice_date))


def effective_date(filing_date: date, first_service_date: date | None) -> date:
    """42 CFR 424.520(d): the later of the filing date of the application processed to approval
    and the date services were first furnished at the location."""
    if first_service_date is None:
        return filing_date
    return max(filing_date, first_service_date)


def retrospective_billing_start(effective: date, *, declared_disaster: bool = False) -> date:
    """42 CFR 424.521(a): earliest date of service billable before the effective date."""
    key = (
        RuleKey.RETROSPECTIVE_BILLING_DISASTER
        if declared_disaster
        else RuleKey.RETROSPECTIVE_BILLING
    )
    return add_days(effective, -(rule(key, effective).days or 0))


def revalidation_due_date(anchor: date, *, dmepos: bool) -> date:
    """Next revalidation due date: a month end, 5 years on (3 for DMEPOS) (42 CFR 424.515,
    424.57(e); due dates are month ends per the CMS 'Revalidations' page)."""
    key = RuleKey.REVALIDATION_CYCLE_DMEPOS if dmepos else RuleKey.REVALIDATION_CYCLE
    return last_day_of_month(period_last_day(anchor, rule(key, anchor)))


def revalidation_window_opens(due: date, on: date | None = None) -> date:
    """First day a revalidation may be received without being returned as unsolicited."""
    r = rule(RuleKey.EARLY_SUBMISSION_REVALIDATION, on or due)
    return add_months(due, -(r.months or 0))


def first_month_without_claim(last_claim: date) -> date:
    """First day of the month after the month of the latest claim (42 CFR 424.540(a)(1))."""
    return add_months(last_claim.replace(day=1), 1)


def consecutive_months_last_day(first_month: date, months: int) -> date:
    """Last day of the `months`-th consecutive calendar month starting with `first_month`:
    "12 consecutive calendar months" run from the first day of the first month through the
    last day of the twelfth (42 CFR 424.540(a)(1))."""
    return last_day_of_month(add_months(first_month.replace(day=1), months - 1))
