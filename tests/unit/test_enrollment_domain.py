"""The enrollment record reducer (models/enrollment.py, ENROLLMENT_LIFECYCLE; domain.md 4, 7.0,
7.2). Days count as domain.md 7.0 says: the last day counts, the consequence takes effect at the
start of the next day in the organisation's zone (America/New_York here)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from models.calendar import EnrollmentClockKind as K
from models.calendar import start_of_day
from models.enrollment import (
    ENROLLMENT_EVENT_MODELS,
    ENROLLMENT_LIFECYCLE,
    EnrollmentEventRequest,
    EnrollmentStart,
    EnrollmentState,
    EnrollmentStatus,
    apply_event,
    check_event,
    fire_due_clocks,
    new_enrollment,
    next_cycle_state,
    reenrollment_bar,
    refuse_if_barred,
)
from models.forms import Form
from models.notices import NoticeKind
from models.records import EventRefused
from tests.event_names import EnrollmentEvent

S = EnrollmentStatus
TZ = "America/New_York"
_ADAPTER: TypeAdapter = TypeAdapter(EnrollmentEventRequest)
SEEN: set[tuple[str, str, str]] = set()


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 17, tzinfo=UTC)  # midday in New York


def day_start(d: date) -> datetime:
    return start_of_day(d, TZ).astimezone(UTC)


def just_before(d: date) -> datetime:
    return day_start(d) - timedelta(microseconds=1)


def enrolled(
    form: Form = Form.CMS_855I,
    effective: date | None = None,
    now: datetime | None = None,
    **kw,
) -> EnrollmentState:
    if effective is None:
        effective = now.date() if now else date(2024, 1, 10)
    start = EnrollmentStart(
        enrollment_id="I20240110000001",
        organization_id="org-1",
        npi="1234567893",
        ptan="PT12345",
        form=form,
        state="NY",
        effective_date=effective,
        time_zone=TZ,
        actor="alice",
        reason="approved",
        **kw,
    )
    return new_enrollment(start, now or noon(effective))


def ev(name: str, **data):
    return _ADAPTER.validate_python({"event": name, "actor": "alice", "reason": "recorded", **data})


def _seen(state: EnrollmentState) -> EnrollmentState:
    for r in state.events:
        if r.from_status is not None and r.event not in ("created", "continued"):
            SEEN.add((r.from_status.value, r.event, r.to_status.value))
    return state


def fire(state: EnrollmentState, now: datetime) -> EnrollmentState:
    return _seen(fire_due_clocks(state, now).state)


def do(state: EnrollmentState, name: str, now: datetime, **data) -> EnrollmentState:
    """What the workflow does: timers due by now fire first, then the update is validated and
    applied."""
    state = fire(state, now)
    request = ev(name, **data)
    check_event(state, request, now)
    return _seen(apply_event(state, request, now).state)


def refused(state: EnrollmentState, name: str, now: datetime, **data) -> EventRefused:
    with pytest.raises(EventRefused) as info:
        check_event(state, ev(name, **data), now)
    return info.value


def clock(state: EnrollmentState, kind: K):
    found = state.clocks_of(kind)
    assert len(found) == 1, (kind, state.clocks)
    return found[0]


def billed(state: EnrollmentState, on: date) -> EnrollmentState:
    return do(state, "claim_activity", noon(on), latest_claim_date=on.isoformat())


# --- Revalidation due dates (42 CFR 424.515, 424.57(e); domain.md 4.3) ---


def test_due_date_five_years_month_end():
    s = enrolled()
    assert s.status == S.ACTIVE and s.cycle == 1
    assert s.revalidation_due_date == date(2029, 1, 31)
    c = clock(s, K.REVALIDATION_DUE)
    assert c.last_day == date(2029, 1, 31)
    assert c.fires_at == day_start(date(2029, 2, 1))
    assert "424.515" in c.explanation
    assert s.revalidation_window_opens == date(2028, 6, 30)
    assert [r.days_before for r in c.reminders] == [180, 120, 90, 60, 30, 14, 7, 1]
    assert clock(s, K.REVALIDATION_TARGET).last_day == date(2029, 1, 1)


def test_due_date_three_years_for_dmepos():
    s = enrolled(Form.CMS_855S)
    assert s.revalidation_due_date == date(2027, 1, 31)
    assert "424.57(e)" in clock(s, K.REVALIDATION_DUE).explanation


def test_no_revalidation_for_855o():
    s = enrolled(Form.CMS_855O)
    assert s.revalidation_due_date is None
    assert not s.clocks_of(K.REVALIDATION_DUE)
    assert clock(s, K.ORDERING_REFERRING)
    e = refused(s, "revalidation_submitted", noon(date(2024, 2, 1)), receipt_date="2024-02-01")
    assert e.code == "InvalidEventData" and "do not revalidate" in e.message
    with pytest.raises(ValidationError, match="do not revalidate"):
        enrolled(Form.CMS_855O, revalidation_due_date=date(2026, 6, 30))


def test_due_date_from_cms_list():
    s = enrolled(
        revalidation_due_date=date(2026, 6, 30), source="import", now=noon(date(2026, 1, 5))
    )
    c = clock(s, K.REVALIDATION_DUE)
    assert c.last_day == date(2026, 6, 30)
    assert "CMS Revalidation Due Date List" in c.explanation
    with pytest.raises(ValidationError, match="month end"):
        enrolled(revalidation_due_date=date(2026, 6, 15))


def test_import_without_list_date_rolls_the_cycle_forward():
    s = enrolled(effective=date(2012, 3, 15), source="import", now=noon(date(2024, 5, 1)))
    assert s.revalidation_due_date == date(2027, 3, 31)
    assert clock(s, K.NON_BILLING).last_day == date(2025, 5, 31)


def test_configurable_reminder_offsets():
    s = enrolled(reminder_offsets_days=(60, 10))
    assert [r.days_before for r in clock(s, K.REVALIDATION_DUE).reminders] == [60, 10]
    with pytest.raises(ValidationError):
        enrolled(reminder_offsets_days=(0,))


# --- Missed revalidation: stay then deactivation retroactive to the due date ---


def _near_due() -> EnrollmentState:
    s = enrolled(
        effective=date(2019, 5, 2),
        source="import",
        now=noon(date(2028, 12, 1)),
        revalidation_due_date=date(2029, 1, 31),
    )
    return billed(s, date(2028, 12, 1))


def test_due_date_boundary_and_stay():
    s = _near_due()
    assert fire(s, just_before(date(2029, 2, 1))).status == S.ACTIVE
    s = fire(s, day_start(date(2029, 2, 1)))
    assert s.status == S.STAYED
    stay = clock(s, K.STAY)
    assert stay.last_day == date(2029, 3, 2)  # 30 days, day 0 = the due date
    assert not s.clocks_of(K.REVALIDATION_DUE)
    assert s.stays[0].deactivation_effective == date(2029, 1, 31)


def test_stay_cured_on_its_last_day():
    s = fire(_near_due(), day_start(date(2029, 2, 1)))
    s = do(s, "revalidation_submitted", noon(date(2029, 3, 2)), receipt_date="2029-03-02")
    assert s.status == S.ACTIVE
    assert s.stays[0].outcome == "cured" and not s.clocks_of(K.STAY)


def test_stay_uncured_deactivates_retroactively_to_due_date():
    s = fire(_near_due(), day_start(date(2029, 2, 1)))
    assert fire(s, just_before(date(2029, 3, 3))).status == S.STAYED
    s = fire(s, day_start(date(2029, 3, 3)))
    assert s.status == S.DEACTIVATED
    assert s.deactivation and s.deactivation.effective_date == date(2029, 1, 31)
    assert s.deactivation.reason == "missed_revalidation"
    assert clock(s, K.DEACTIVATION_REBUTTAL).last_day == date(2029, 3, 18)
    e = refused(s, "revalidation_submitted", noon(date(2029, 3, 4)), receipt_date="2029-03-04")
    assert e.code == "IllegalTransition"
    assert "reactivation_submitted" in e.allowed_events


def test_submitted_on_due_date_closes_the_cycle_clocks():
    s = do(
        _near_due(), "revalidation_submitted", noon(date(2029, 1, 31)), receipt_date="2029-01-31"
    )
    assert not any(c.kind in (K.REVALIDATION_DUE, K.REVALIDATION_TARGET) for c in s.clocks)
    assert fire(s, day_start(date(2029, 3, 1))).status == S.ACTIVE


def test_internal_target_passes_without_state_change():
    s = _near_due()
    assert s.clocks_of(K.REVALIDATION_TARGET)
    s = fire(s, day_start(date(2029, 1, 2)))
    assert s.status == S.ACTIVE and s.events[-1].event == "revalidation_target_passed"


def test_revalidation_notice_60_days():
    s = _near_due()
    s = do(s, "revalidation_notice_received", noon(date(2028, 12, 1)), letter_date="2028-10-01")
    (c,) = [x for x in s.closed_clocks if x.clock.kind == K.REVALIDATION_NOTICE]
    assert c.clock.last_day == date(2028, 11, 30) and c.outcome == "expired"
    # Back-dated letter whose window already ended: stayed at once, retroactive to its last day.
    assert s.status == S.STAYED
    assert s.stays[0].deactivation_effective == date(2028, 11, 30)


def test_revalidation_notice_answered_in_time():
    s = enrolled(
        effective=date(2019, 5, 2),
        source="import",
        now=noon(date(2028, 9, 1)),
        revalidation_due_date=date(2029, 1, 31),
    )
    s = do(s, "revalidation_notice_received", noon(date(2028, 9, 1)), letter_date="2028-09-01")
    assert clock(s, K.REVALIDATION_NOTICE).last_day == date(2028, 10, 31)
    assert fire(s, just_before(date(2028, 11, 1))).status == S.ACTIVE
    s = do(s, "revalidation_submitted", noon(date(2028, 10, 31)), receipt_date="2028-10-31")
    assert s.status == S.ACTIVE and not s.clocks_of(K.REVALIDATION_NOTICE)


def test_notice_can_move_the_due_date_off_cycle():
    s = enrolled(now=noon(date(2025, 3, 1)))
    s = do(
        s,
        "revalidation_notice_received",
        noon(date(2025, 3, 1)),
        letter_date="2025-03-01",
        due_date="2025-06-30",
    )
    assert s.revalidation_due_date == date(2025, 6, 30)
    assert clock(s, K.REVALIDATION_DUE).last_day == date(2025, 6, 30)


def test_early_revalidation_is_returned():
    s = _near_due()
    s2 = enrolled(now=noon(date(2028, 6, 1)))
    s2 = billed(s2, date(2024, 6, 1))
    e = refused(s2, "revalidation_submitted", noon(date(2024, 6, 1)), receipt_date="2024-06-01")
    assert e.code == "InvalidEventData" and "unsolicited" in e.message
    assert e.field == "receipt_date"
    s = do(s, "revalidation_submitted", noon(date(2028, 12, 2)), receipt_date="2028-12-02")
    e = refused(s, "revalidation_submitted", noon(date(2028, 12, 3)), receipt_date="2028-12-03")
    assert "already received" in e.message


# --- Reminders: once each ---


def test_revalidation_reminders_sent_exactly_once():
    s = enrolled(
        source="import", now=noon(date(2028, 7, 1)), revalidation_due_date=date(2029, 1, 31)
    )
    due = date(2029, 1, 31)
    at = day_start(due - timedelta(days=180))
    out = fire_due_clocks(s, at)
    rem = [n for n in out.notices if n.kind == NoticeKind.REMINDER]
    assert [n.key for n in rem] == [f"{clock(s, K.REVALIDATION_DUE).clock_id}:reminder:180"]
    again = fire_due_clocks(out.state, at)
    assert not [n for n in again.notices if n.kind == NoticeKind.REMINDER]
    # An outage past three reminder dates sends only the latest of them, once.
    later = fire_due_clocks(again.state, day_start(due - timedelta(days=60)) + timedelta(hours=1))
    rem = [n for n in later.notices if n.kind == NoticeKind.REMINDER]
    assert len(rem) == 1 and rem[0].key.endswith(":reminder:60")
    assert len(later.state.reminders_sent) == len(set(later.state.reminders_sent)) == 4
    assert later.state.next_wake() == day_start(due - timedelta(days=30))


# --- Change of information (424.516, 424.57(c)(2), CY2024 PFS) ---


@pytest.mark.parametrize(
    ("form", "kind", "changed", "last"),
    [
        (Form.CMS_855I, "practice_location", date(2024, 3, 1), date(2024, 3, 31)),
        (Form.CMS_855I, "ownership", date(2024, 3, 1), date(2024, 3, 31)),
        (Form.CMS_855I, "adverse_legal_action", date(2024, 3, 1), date(2024, 3, 31)),
        (Form.CMS_855I, "other", date(2024, 3, 1), date(2024, 5, 30)),
        (Form.CMS_855S, "other", date(2024, 3, 1), date(2024, 3, 31)),
        (Form.CMS_855A, "practice_location", date(2024, 3, 1), date(2024, 3, 31)),
        (Form.CMS_855A, "practice_location", date(2023, 12, 31), date(2024, 3, 30)),
        (Form.CMS_855A, "ownership", date(2023, 6, 1), date(2023, 7, 1)),
    ],
)
def test_change_reporting_windows(form, kind, changed, last):
    s = enrolled(form, now=noon(changed))
    s = do(s, "change_occurred", noon(changed), kind=kind, change_date=changed.isoformat())
    c = clock(s, K.CHANGE_REPORT)
    assert c.last_day == last
    ok = do(s, "change_reported", noon(last), reported_on=last.isoformat())
    assert ok.status == S.ACTIVE and not ok.clocks_of(K.CHANGE_REPORT)
    assert ok.changes[0].reported_on == last


def test_missed_change_report_stays_60_days_then_deactivates():
    s = enrolled(now=noon(date(2024, 3, 1)))
    s = do(
        s,
        "change_occurred",
        noon(date(2024, 3, 1)),
        kind="practice_location",
        change_date="2024-03-01",
    )
    assert fire(s, just_before(date(2024, 4, 1))).status == S.ACTIVE
    stayed = fire(s, day_start(date(2024, 4, 1)))
    assert stayed.status == S.STAYED
    assert clock(stayed, K.STAY).last_day == date(2024, 5, 30)  # 60 days from 2024-03-31
    cured = do(stayed, "change_reported", noon(date(2024, 5, 30)), reported_on="2024-05-30")
    assert cured.status == S.ACTIVE
    assert fire(stayed, just_before(date(2024, 5, 31))).status == S.STAYED
    gone = fire(stayed, day_start(date(2024, 5, 31)))
    assert gone.status == S.DEACTIVATED
    assert gone.deactivation and gone.deactivation.reason == "unreported_change"
    assert gone.deactivation.effective_date == date(2024, 5, 31)


def test_two_stays_need_two_cures():
    s = enrolled(now=noon(date(2024, 3, 1)))
    s = do(s, "change_occurred", noon(date(2024, 3, 1)), kind="ownership", change_date="2024-03-01")
    s = do(s, "change_occurred", noon(date(2024, 3, 2)), kind="ownership", change_date="2024-03-02")
    s = fire(s, day_start(date(2024, 4, 2)))
    assert s.status == S.STAYED and len(s.open_stays()) == 2
    e = refused(s, "change_reported", noon(date(2024, 4, 3)), reported_on="2024-04-03")
    assert e.field == "change_id" and "2 changes" in e.message
    first = s.changes[0].change_id
    s = do(s, "change_reported", noon(date(2024, 4, 3)), reported_on="2024-04-03", change_id=first)
    assert s.status == S.STAYED
    s = do(s, "change_reported", noon(date(2024, 4, 4)), reported_on="2024-04-04")
    assert s.status == S.ACTIVE


def test_missed_change_before_stays_existed_deactivates_at_once():
    s = enrolled(Form.CMS_855A, effective=date(2023, 1, 3), now=noon(date(2023, 6, 1)))
    s = do(s, "change_occurred", noon(date(2023, 6, 1)), kind="other", change_date="2023-06-01")
    assert clock(s, K.CHANGE_REPORT).last_day == date(2023, 8, 30)
    s = billed(s, date(2023, 8, 1))
    s = fire(s, day_start(date(2023, 8, 31)))
    assert s.status == S.DEACTIVATED
    assert s.deactivation and s.deactivation.effective_date == date(2023, 8, 31)


def test_change_report_refusals():
    s = enrolled(now=noon(date(2024, 3, 1)))
    e = refused(s, "change_reported", noon(date(2024, 3, 1)), reported_on="2024-03-01")
    assert "no change is waiting" in e.message
    s = do(s, "change_occurred", noon(date(2024, 3, 1)), kind="other", change_date="2024-02-20")
    e = refused(s, "change_reported", noon(date(2024, 3, 1)), reported_on="2024-02-01")
    assert "before the change" in e.message
    e = refused(
        s,
        "change_reported",
        noon(date(2024, 3, 1)),
        reported_on="2024-03-01",
        change_id="change-99",
    )
    assert "No unreported change" in e.message


# --- 12 months without claims (424.540(a)(1)) and the 855O rule (424.547) ---


def test_non_billing_12_calendar_months():
    s = enrolled()
    c = clock(s, K.NON_BILLING)
    assert c.last_day == date(2025, 1, 31)  # February 2024 through January 2025
    assert [r.on for r in c.reminders] == [date(2024, 11, 1), date(2025, 1, 1)]
    assert fire(s, just_before(date(2025, 2, 1))).status == S.ACTIVE
    d = fire(s, day_start(date(2025, 2, 1)))
    assert d.status == S.DEACTIVATED
    assert d.deactivation and d.deactivation.reason == "non_billing"
    assert d.deactivation.effective_date == date(2025, 2, 1)


def test_non_billing_warnings_at_9_and_11_months():
    s = enrolled()
    out = fire_due_clocks(s, day_start(date(2024, 11, 1)))
    assert [n.key.split(":")[-1] for n in out.notices if n.kind == NoticeKind.REMINDER] == ["91"]
    out = fire_due_clocks(out.state, day_start(date(2025, 1, 1)))
    assert [n.key.split(":")[-1] for n in out.notices if n.kind == NoticeKind.REMINDER] == ["30"]


def test_claim_resets_the_non_billing_clock():
    s = billed(enrolled(), date(2024, 6, 15))
    assert clock(s, K.NON_BILLING).last_day == date(2025, 6, 30)
    assert fire(s, day_start(date(2025, 2, 1))).status == S.ACTIVE
    older = billed(s, date(2024, 5, 1))
    assert clock(older, K.NON_BILLING).last_day == date(2025, 6, 30)
    assert "No change" in older.events[-1].notes[0]


def test_ordering_referring_deactivation_855o():
    s = enrolled(Form.CMS_855O, effective=date(2025, 6, 1))
    c = clock(s, K.ORDERING_REFERRING)
    assert c.last_day == date(2026, 12, 31)  # no month before 2026-01-01 counts
    assert "424.547" in c.explanation
    d = fire(s, day_start(date(2027, 1, 1)))
    assert d.status == S.DEACTIVATED and d.deactivation
    assert d.deactivation.reason == "ordering_referring"
    s = billed(s, date(2026, 5, 10))
    assert clock(s, K.ORDERING_REFERRING).last_day == date(2027, 5, 31)


# --- Deactivation and reactivation (DAB CR5613) ---


def _cr5613() -> EnrollmentState:
    s = enrolled(
        Form.CMS_855B, effective=date(2015, 3, 2), source="import", now=noon(date(2018, 7, 1))
    )
    s = billed(s, date(2018, 7, 1))
    return do(
        s,
        "deactivated",
        noon(date(2018, 7, 18)),
        letter_date="2018-07-18",
        deactivation_reason="non_billing",
    )


def test_reactivation_gap_cr5613():
    s = _cr5613()
    assert s.status == S.DEACTIVATED
    assert clock(s, K.DEACTIVATION_REBUTTAL).last_day == date(2018, 8, 2)
    s = do(s, "reactivation_submitted", noon(date(2018, 11, 30)), receipt_date="2018-11-30")
    s = do(s, "reactivation_approved", noon(date(2019, 1, 15)), approval_date="2019-01-15")
    assert s.status == S.ACTIVE
    gap = s.gaps[-1]
    assert (gap.deactivated_from, gap.through) == (date(2018, 7, 18), date(2018, 11, 29))
    assert gap.days == 135
    assert s.current_effective_date == date(2018, 11, 30)
    assert clock(s, K.NON_BILLING).last_day == date(2019, 11, 30)
    assert clock(s, K.REVALIDATION_DUE).last_day == date(2020, 3, 31)


def test_refiled_reactivation_counts_only_the_approved_receipt():
    s = do(_cr5613(), "reactivation_submitted", noon(date(2018, 8, 10)), receipt_date="2018-08-10")
    s = do(s, "reactivation_submitted", noon(date(2018, 11, 30)), receipt_date="2018-11-30")
    s = do(s, "reactivation_approved", noon(date(2019, 1, 15)), approval_date="2019-01-15")
    assert s.gaps[-1].through == date(2018, 11, 29)


def test_rebuttal_window():
    s = _cr5613()
    late = refused(s, "rebuttal_submitted", noon(date(2018, 8, 3)), filed_on="2018-08-03")
    assert late.code == "InvalidEventData" and "closed" in late.message
    ok = do(s, "rebuttal_submitted", noon(date(2018, 8, 2)), filed_on="2018-08-02")
    assert ok.deactivation and ok.deactivation.rebuttal_filed_on == date(2018, 8, 2)
    assert fire(s, just_before(date(2018, 8, 3))).clocks_of(K.DEACTIVATION_REBUTTAL)
    after = fire(s, day_start(date(2018, 8, 3)))
    assert after.status == S.DEACTIVATED and after.events[-1].event == "rebuttal_window_expired"


def test_reactivation_refusals():
    s = _cr5613()
    e = refused(s, "reactivation_approved", noon(date(2018, 9, 1)), approval_date="2018-09-01")
    assert "reactivation_submitted" in e.message
    s = do(s, "reactivation_submitted", noon(date(2018, 11, 30)), receipt_date="2018-11-30")
    e = refused(s, "reactivation_approved", noon(date(2018, 12, 1)), approval_date="2018-11-01")
    assert "before the receipt date" in e.message


def test_reactivation_after_missed_revalidation_starts_a_new_cycle():
    s = fire(_near_due(), day_start(date(2029, 3, 3)))
    s = do(s, "reactivation_submitted", noon(date(2029, 4, 10)), receipt_date="2029-04-10")
    s = do(s, "reactivation_approved", noon(date(2029, 5, 1)), approval_date="2029-05-01")
    assert s.gaps[-1].deactivated_from == date(2029, 1, 31)
    assert s.gaps[-1].through == date(2029, 4, 9)
    assert s.cycle == 2 and s.revalidation_due_date == date(2034, 4, 30)


# --- Revocation and the re-enrollment bar (424.535) ---


def _revoked(**data) -> EnrollmentState:
    s = billed(enrolled(now=noon(date(2020, 6, 1))), date(2020, 6, 1))
    return do(
        s,
        "revoked",
        noon(date(2020, 6, 18)),
        notice_date="2020-06-18",
        grounds="424.535(a)(12)",
        **data,
    )


def test_revocation_with_a_three_year_bar():
    s = _revoked(bar_years=3)
    assert s.status == S.REVOKED
    assert s.revocation and s.revocation.effective_date == date(2020, 7, 18)  # DAB CR6105
    assert [c.kind for c in s.clocks] == [K.REENROLLMENT_BAR]
    bar = reenrollment_bar(s)
    assert bar and bar.barred_through == date(2023, 7, 17)
    assert bar.may_apply_from == date(2023, 7, 18)
    with pytest.raises(EventRefused) as info:
        refuse_if_barred(s, date(2023, 7, 17))
    assert info.value.code == "ReenrollmentBarred"
    refuse_if_barred(s, date(2023, 7, 18))
    assert fire(s, just_before(date(2023, 7, 18))).clocks
    out = fire_due_clocks(s, day_start(date(2023, 7, 18)))
    assert out.state.status == S.REVOKED and not out.state.clocks
    assert out.state.revocation and out.state.revocation.bar_expired
    (notice,) = [n for n in out.notices if n.kind == NoticeKind.CONSEQUENCE]
    assert "new initial application" in notice.body
    _seen(out.state)


def test_revocation_retroactive_and_bar_limits():
    s = _revoked(bar_years=5, effective_date="2020-06-12")
    assert s.revocation and s.revocation.effective_date == date(2020, 6, 12)
    bar = reenrollment_bar(_revoked(bar_years=20, repeat=True))
    assert bar and bar.barred_through == date(2040, 7, 17)
    for bad in ({"bar_years": 11}, {"bar_years": 0}, {"bar_years": 21, "repeat": True}):
        with pytest.raises(ValidationError):
            ev("revoked", notice_date="2020-06-18", grounds="x", **bad)
    assert refused(
        s, "claim_activity", noon(date(2020, 7, 1)), latest_claim_date="2020-06-30"
    ).code == ("IllegalTransition")


def test_no_bar_without_revocation():
    s = enrolled()
    assert reenrollment_bar(s) is None
    refuse_if_barred(s, date(2024, 2, 1))


# --- Voluntary termination, refusals ---


def test_voluntary_termination_ends_everything():
    s = do(
        enrolled(), "voluntarily_terminated", noon(date(2024, 5, 1)), effective_date="2024-04-30"
    )
    assert s.status == S.VOLUNTARILY_TERMINATED and not s.clocks
    e = refused(s, "claim_activity", noon(date(2024, 5, 2)), latest_claim_date="2024-05-01")
    assert e.code == "IllegalTransition" and "has ended" in e.message and e.allowed_events == []
    assert e.details()["status"] == "voluntarily_terminated"


def test_refusals_name_state_and_allowed_events():
    s = enrolled()
    e = refused(s, "reactivation_submitted", noon(date(2024, 2, 1)), receipt_date="2024-02-01")
    assert e.code == "IllegalTransition" and e.status == "active"
    assert "revalidation_submitted" in e.allowed_events and "stay_expired" not in e.allowed_events
    e = refused(s, "claim_activity", noon(date(2024, 2, 1)), latest_claim_date="2024-02-02")
    assert e.code == "InvalidEventData" and "future" in e.message
    e = refused(s, "revalidation_approved", noon(date(2024, 2, 1)), approval_date="2024-02-01")
    assert "revalidation_submitted" in e.message
    with pytest.raises(ValidationError):
        ev("claim_activity", latest_claim_date="2024-02-01", actor="", reason="x")
    with pytest.raises(ValidationError):
        _ADAPTER.validate_python(
            {"event": "claim_activity", "latest_claim_date": "2024-02-01", "actor": "a"}
        )


def test_event_models_cover_every_operator_event():
    operator = {e for e in EnrollmentEvent if ENROLLMENT_LIFECYCLE.is_operator_event(e)}
    assert set(ENROLLMENT_EVENT_MODELS) == operator


# --- Three revalidation cycles through continue-as-new ---


def test_three_revalidation_cycles():
    s = enrolled()
    due = date(2029, 1, 31)
    seqs: list[int] = []
    for cycle, next_due in ((1, date(2034, 1, 31)), (2, date(2039, 1, 31)), (3, date(2044, 1, 31))):
        assert s.cycle == cycle and s.revalidation_due_date == due
        year = due.year
        for month in range(1, 13, 6):
            for y in range(year - 5, year):
                if s.last_claim_date is None or date(y, month, 1) > s.last_claim_date:
                    s = billed(s, date(y, month, 1))
        submitted = date(due.year - 1, 9, 15)
        s = do(s, "revalidation_submitted", noon(submitted), receipt_date=submitted.isoformat())
        s = do(
            s,
            "revalidation_approved",
            noon(date(due.year - 1, 11, 1)),
            approval_date=f"{due.year - 1}-11-01",
        )
        assert s.cycle_completed and s.revalidation_due_date == next_due
        seqs += [r.seq for r in s.events]
        start = next_cycle_state(s)
        assert start.carry_over and start.carry_over.past_cycles[-1].cycle == cycle
        s = new_enrollment(start, noon(date(due.year - 1, 11, 1)))
        assert s.status == S.ACTIVE and not s.cycle_completed
        assert clock(s, K.REVALIDATION_DUE).last_day == next_due
        due = next_due
    assert s.cycle == 4 and [c.due_date for c in s.past_cycles] == [
        date(2029, 1, 31),
        date(2034, 1, 31),
        date(2039, 1, 31),
    ]
    assert s.events[0].event == "continued" and s.events[0].seq > max(seqs)
    assert len(seqs) == len(set(seqs))
    ids = [c.clock.clock_id for c in s.closed_clocks] + [c.clock_id for c in s.clocks]
    assert len(ids) == len(set(ids))


def test_next_cycle_state_carries_open_clocks_and_sent_reminders():
    s = billed(enrolled(), date(2024, 10, 1))
    s = fire(s, day_start(date(2025, 8, 1)))  # 9-month warning sent
    assert s.reminders_sent
    nxt = new_enrollment(next_cycle_state(s), noon(date(2025, 8, 1)))
    assert nxt.clocks == s.clocks and nxt.reminders_sent == s.reminders_sent
    assert not [
        n
        for n in fire_due_clocks(nxt, day_start(date(2025, 8, 1))).notices
        if n.kind == NoticeKind.REMINDER
    ]


# --- The table, walked ---


def _stayed_near_due() -> EnrollmentState:
    s = enrolled(
        source="import", now=noon(date(2028, 11, 1)), revalidation_due_date=date(2029, 1, 31)
    )
    s = do(
        s, "change_occurred", noon(date(2028, 12, 1)), kind="ownership", change_date="2028-12-01"
    )
    s = fire(s, day_start(date(2029, 1, 1)))
    assert s.status == S.STAYED
    return s


def _walk_remaining_rows() -> None:
    """Rows the scenarios above do not reach."""
    st = _stayed_near_due()
    now = noon(date(2029, 1, 1))
    do(st, "change_occurred", now, kind="other", change_date="2029-01-01")
    do(st, "claim_activity", now, latest_claim_date="2029-01-01")
    do(st, "deactivated", now, letter_date="2029-01-01")
    do(st, "revoked", now, notice_date="2029-01-01", bar_years=1, grounds="x")
    do(st, "voluntarily_terminated", now, effective_date="2029-01-01")
    assert do(st, "revalidation_notice_received", now, letter_date="2029-01-01").status == S.STAYED
    late = do(st, "revalidation_notice_received", now, letter_date="2028-11-01")
    assert late.status == S.STAYED and late.events[-1].event == "revalidation_notice_window_expired"
    assert fire(st, day_start(date(2029, 1, 2))).events[-1].event == "revalidation_target_passed"
    due = fire(st, day_start(date(2029, 2, 1)))
    assert due.status == S.STAYED and due.events[-1].event == "revalidation_due_date_passed"
    sub = do(st, "revalidation_submitted", noon(date(2029, 1, 5)), receipt_date="2029-01-05")
    assert sub.status == S.STAYED  # the change's stay remains
    app = do(sub, "revalidation_approved", noon(date(2029, 1, 10)), approval_date="2029-01-10")
    assert app.status == S.STAYED and app.cycle == 2
    # Non-billing and ordering/referring periods ending during a stay.
    nb = do(
        enrolled(),
        "change_occurred",
        noon(date(2024, 12, 1)),
        kind="ownership",
        change_date="2024-12-01",
    )
    nb = fire(nb, day_start(date(2025, 1, 1)))
    assert nb.status == S.STAYED
    assert fire(nb, day_start(date(2025, 2, 1))).status == S.DEACTIVATED
    o = enrolled(Form.CMS_855O, effective=date(2025, 6, 1))
    o = do(
        o, "change_occurred", noon(date(2026, 11, 15)), kind="ownership", change_date="2026-11-15"
    )
    o = fire(o, day_start(date(2026, 12, 16)))
    assert o.status == S.STAYED
    assert fire(o, day_start(date(2027, 1, 1))).status == S.DEACTIVATED
    # Deadlines missed before stays existed (2024-01-01): deactivated at once.
    old = enrolled(
        effective=date(2016, 5, 2),
        source="import",
        now=noon(date(2020, 12, 1)),
        revalidation_due_date=date(2021, 1, 31),
    )
    old = fire(old, day_start(date(2021, 2, 1)))
    assert old.status == S.DEACTIVATED and old.deactivation
    assert old.deactivation.effective_date == date(2021, 1, 31)
    old2 = enrolled(effective=date(2016, 5, 2), source="import", now=noon(date(2020, 12, 1)))
    old2 = do(
        old2, "revalidation_notice_received", noon(date(2020, 12, 1)), letter_date="2020-09-01"
    )
    assert old2.status == S.DEACTIVATED
    # From deactivated.
    d = _cr5613()
    do(d, "revoked", noon(date(2018, 8, 1)), notice_date="2018-08-01", bar_years=2, grounds="x")
    do(d, "voluntarily_terminated", noon(date(2018, 8, 1)), effective_date="2018-08-01")


def test_every_transition_of_the_table_is_exercised():
    # Run every scenario of this module (order-independent), then the remaining rows.
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and name != "test_every_transition_of_the_table_is_exercised":
            params = getattr(fn, "pytestmark", None)
            if params:
                for args in params[0].args[1]:
                    fn(*args)
            else:
                fn()
    _walk_remaining_rows()
    table = {(t.source.value, t.event, t.target.value) for t in ENROLLMENT_LIFECYCLE.transitions}
    assert table - SEEN == set()
    assert SEEN - table == set()
