"""The enrollment record reducer (models/enrollment/, ENROLLMENT_LIFECYCLE; docs/regulation.md,
"The enrollment"). Days count as docs/regulation.md says ("Counting days"): the last day counts,
the consequence takes effect at the start of the next day in the organisation's zone
(America/New_York here)."""

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
        enrollment_id=kw.pop("enrollment_id", "I20240110000001"),
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


# --- Revalidation due dates (42 CFR 424.515, 424.57(e)) ---


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


def test_a_run_ending_mid_cycle_carries_the_stays_that_ended():
    s = fire(_near_due(), day_start(date(2029, 2, 1)))
    s = do(s, "revalidation_submitted", noon(date(2029, 3, 2)), receipt_date="2029-03-02")
    assert not s.cycle_completed  # a run bounded by its history, not by a new cycle
    nxt = new_enrollment(next_cycle_state(s), noon(date(2029, 3, 3)))
    assert [(x.clock_id, x.outcome) for x in nxt.stays] == [(s.stays[0].clock_id, "cured")]


def test_a_run_ending_mid_cycle_carries_the_changes_reported_in_it():
    s = enrolled(now=noon(date(2024, 3, 1)))
    s = do(s, "change_occurred", noon(date(2024, 3, 1)), kind="other", change_date="2024-03-01")
    s = do(s, "change_reported", noon(date(2024, 3, 5)), reported_on="2024-03-05")
    assert not s.cycle_completed
    nxt = new_enrollment(next_cycle_state(s), noon(date(2024, 3, 6)))
    assert [c.reported_on for c in nxt.changes] == [date(2024, 3, 5)]


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
    # Back-dated letter whose window already ended, but the due date (2029-01-31) is later:
    # the revalidation is missed only then (issue 15, item 1).
    assert s.status == S.ACTIVE and s.stays == []
    assert clock(s, K.REVALIDATION_DUE).last_day == date(2029, 1, 31)


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
    # Pending until it takes effect 30 days after the notice (issue 15, item 14).
    assert s.status == S.REVOCATION_PENDING
    assert s.revocation and s.revocation.effective_date == date(2020, 7, 18)  # DAB CR6105
    assert {c.kind for c in s.clocks} == {
        K.REVOCATION_EFFECTIVE,
        K.REVOCATION_RECONSIDERATION,
        K.REENROLLMENT_BAR,
    }
    s = fire(s, day_start(date(2020, 7, 18)))
    assert s.status == S.REVOKED
    s = fire(s, day_start(date(2020, 8, 23)))  # the reconsideration window (65 days) ended
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


# --- Issue 15: the adverse paths (both sides of every date) ---------------------------------
# Each test names the item of issue 15 it covers.


def _due_june_2026(**kw) -> EnrollmentState:
    """Imported with CMS's posted due date 2026-06-30, billing regularly."""
    s = enrolled(
        effective=date(2021, 6, 1),
        source="import",
        now=noon(date(2026, 1, 5)),
        revalidation_due_date=date(2026, 6, 30),
        **kw,
    )
    return billed(s, date(2026, 1, 5))


def test_item1_notice_window_ending_before_the_due_date_stays_nothing():
    # The issue's example: notice 2026-03-01 (+60 = 2026-04-30), due 2026-06-30.
    s = do(
        _due_june_2026(),
        "revalidation_notice_received",
        noon(date(2026, 3, 1)),
        letter_date="2026-03-01",
    )
    assert clock(s, K.REVALIDATION_NOTICE).last_day == date(2026, 4, 30)
    assert fire(s, just_before(date(2026, 5, 1))).status == S.ACTIVE
    s = fire(s, day_start(date(2026, 5, 1)))
    assert s.status == S.ACTIVE and s.stays == [] and s.deactivation is None
    assert "2026-06-30" in s.events[-1].notes[-1]  # the due date governs
    assert clock(s, K.REVALIDATION_DUE).last_day == date(2026, 6, 30)
    # The due date: its last day counts, the stay begins the next day.
    assert fire(s, just_before(date(2026, 7, 1))).status == S.ACTIVE
    s = fire(s, day_start(date(2026, 7, 1)))
    assert s.status == S.STAYED
    assert clock(s, K.STAY).last_day == date(2026, 7, 30)
    assert fire(s, just_before(date(2026, 7, 31))).status == S.STAYED
    s = fire(s, day_start(date(2026, 7, 31)))
    assert s.status == S.DEACTIVATED and s.deactivation
    assert s.deactivation.effective_date == date(2026, 6, 30)  # retroactive to the due date


def test_item1_notice_window_ending_after_the_due_date_sets_the_missed_date():
    # A late (or off-cycle) letter: 2026-06-15 + 60 = 2026-08-14, after the due date.
    s = do(
        _due_june_2026(),
        "revalidation_notice_received",
        noon(date(2026, 6, 15)),
        letter_date="2026-06-15",
    )
    s = fire(s, day_start(date(2026, 7, 1)))
    assert s.status == S.ACTIVE  # the due date passed, the notice's 60 days have not
    assert fire(s, just_before(date(2026, 8, 15))).status == S.ACTIVE
    s = fire(s, day_start(date(2026, 8, 15)))
    assert s.status == S.STAYED
    assert clock(s, K.STAY).last_day == date(2026, 9, 13)  # 30 days from 2026-08-14
    s = fire(s, day_start(date(2026, 9, 14)))
    assert s.status == S.DEACTIVATED and s.deactivation
    assert s.deactivation.effective_date == date(2026, 6, 30)


def _filed(on: date) -> EnrollmentState:
    s = _due_june_2026()
    return do(
        s,
        "revalidation_submitted",
        noon(on),
        receipt_date=on.isoformat(),
        application_id="I20210601000001-revalidation-1",
    )


def test_item2_rejected_before_the_due_date_reopens_the_original_due_date():
    s = _filed(date(2026, 4, 1))
    assert not s.clocks_of(K.REVALIDATION_DUE)
    s = do(
        s,
        "revalidation_not_approved",
        noon(date(2026, 6, 1)),
        notice_date="2026-06-01",
        outcome="rejected",
        application_id="I20210601000001-revalidation-1",
    )
    assert s.status == S.ACTIVE and s.revalidation_submitted_on is None
    assert clock(s, K.REVALIDATION_DUE).last_day == date(2026, 6, 30)
    assert fire(s, just_before(date(2026, 7, 1))).status == S.ACTIVE
    assert fire(s, day_start(date(2026, 7, 1))).status == S.STAYED


def test_item2_rejected_after_the_due_date_stays_then_deactivates_to_the_due_date():
    s = _filed(date(2026, 6, 1))
    s = fire(s, day_start(date(2026, 7, 1)))
    assert s.status == S.ACTIVE  # filed in time
    s = do(
        s,
        "revalidation_not_approved",
        noon(date(2026, 7, 10)),
        notice_date="2026-07-10",
        outcome="rejected",
    )
    assert s.status == S.STAYED  # the filing does not count: missed on 2026-06-30
    assert clock(s, K.STAY).last_day == date(2026, 7, 30)
    assert fire(s, just_before(date(2026, 7, 31))).status == S.STAYED
    s = fire(s, day_start(date(2026, 7, 31)))
    assert s.status == S.DEACTIVATED and s.deactivation
    assert s.deactivation.effective_date == date(2026, 6, 30)


def test_item2_rejected_long_after_the_due_date_deactivates_at_once():
    s = fire(_filed(date(2026, 6, 1)), day_start(date(2026, 8, 1)))
    s = do(
        s,
        "revalidation_not_approved",
        noon(date(2026, 8, 1)),
        notice_date="2026-08-01",
        outcome="returned",
    )
    assert s.status == S.DEACTIVATED and s.deactivation
    assert s.deactivation.effective_date == date(2026, 6, 30)


def test_item2_refusals_name_what_is_on_record():
    s = _due_june_2026()
    e = refused(
        s,
        "revalidation_not_approved",
        noon(date(2026, 6, 1)),
        notice_date="2026-06-01",
        outcome="rejected",
    )
    assert "nothing for this outcome to undo" in e.message
    s = _filed(date(2026, 4, 1))
    e = refused(
        s,
        "revalidation_not_approved",
        noon(date(2026, 6, 1)),
        notice_date="2026-06-01",
        outcome="rejected",
        application_id="other-app",
    )
    assert e.field == "application_id" and "I20210601000001-revalidation-1" in e.message


def test_item2_a_rejected_reactivation_keeps_the_gap_running():
    s = fire(_due_june_2026(), day_start(date(2026, 7, 31)))
    assert s.status == S.DEACTIVATED
    s = do(s, "reactivation_submitted", noon(date(2026, 8, 3)), receipt_date="2026-08-03")
    s = do(
        s,
        "reactivation_not_approved",
        noon(date(2026, 9, 1)),
        notice_date="2026-09-01",
        outcome="rejected",
    )
    assert s.status == S.DEACTIVATED and s.deactivation
    assert s.deactivation.reactivation_receipt_date is None
    e = refused(s, "reactivation_approved", noon(date(2026, 9, 2)), approval_date="2026-09-02")
    assert "reactivation_submitted" in e.message
    s = do(s, "reactivation_submitted", noon(date(2026, 9, 10)), receipt_date="2026-09-10")
    s = do(s, "reactivation_approved", noon(date(2026, 10, 1)), approval_date="2026-10-01")
    gap = s.gaps[-1]
    assert (gap.deactivated_from, gap.through) == (date(2026, 6, 30), date(2026, 9, 9))


def test_item2_progress_of_a_linked_application_becomes_enrollment_events():
    from models.contracts import ApplicationProgress
    from models.enrollment import progress_events

    s = _filed(date(2026, 4, 1))

    def progress(stage: str, on: date) -> ApplicationProgress:
        return ApplicationProgress(
            application_id="app-r",
            purpose="revalidation",
            stage=stage,  # type: ignore[arg-type]
            on=on,
            filed_on=date(2026, 4, 1),
            actor="ops",
            reason="r",
        )

    (event,) = progress_events(s, progress("denied", date(2026, 5, 1)))
    assert event.event == "revalidation_not_approved" and event.outcome == "denied"
    (event,) = progress_events(s, progress("approved", date(2026, 5, 1)))
    assert event.event == "revalidation_approved"
    # Approved on reconsideration after the enrollment let the filing go: filed again first.
    lost = do(
        s,
        "revalidation_not_approved",
        noon(date(2026, 5, 1)),
        notice_date="2026-05-01",
        outcome="denied",
    )
    names = [e.event for e in progress_events(lost, progress("approved", date(2026, 6, 1)))]
    assert names == ["revalidation_submitted", "revalidation_approved"]


def test_item3_a_provisional_enrollment_goes_on_under_its_pecos_id():
    from models.enrollment import replacement_start
    from models.identifiers import provisional_enrollment_id

    provisional = provisional_enrollment_id("org-1", "app-1")
    assert provisional.startswith("P") and len(provisional) == 15
    s = enrolled(enrollment_id=provisional, legal_name="Jane Q Doe")
    assert s.provisional and s.legal_name == "Jane Q Doe"
    s = billed(s, date(2024, 3, 1))
    new_id = "I20240110000099"
    replaced = do(s, "enrollment_id_assigned", noon(date(2024, 3, 2)), enrollment_id=new_id)
    assert replaced.status == S.REPLACED and replaced.replaced_by == new_id
    assert replaced.is_closed  # its clocks go on in the new record
    start = replacement_start(s, new_id, "ops", "PECOS ID recorded")
    carried = new_enrollment(start, noon(date(2024, 3, 2)))
    assert carried.enrollment_id == new_id and carried.replaces == provisional
    assert carried.legal_name == "Jane Q Doe" and not carried.provisional
    assert {c.clock_id for c in carried.clocks} == {c.clock_id for c in s.clocks}
    e = refused(carried, "enrollment_id_assigned", noon(date(2024, 3, 3)), enrollment_id=new_id)
    assert "already has its PECOS enrollment ID" in e.message


def test_item6_no_bar_for_not_answering_a_revalidation_request():
    s = _revoked(ground="revalidation_nonresponse")
    assert s.revocation and s.revocation.barred_through is None
    assert not s.clocks_of(K.REENROLLMENT_BAR)
    refuse_if_barred(s, date(2020, 6, 19))
    for bad in ({"bar_years": 1}, {"bar_years": 5}):
        with pytest.raises(ValidationError, match=r"424\.535\(c\)\(1\)\(ii\)"):
            ev(
                "revoked",
                notice_date="2020-06-18",
                grounds="x",
                ground="revalidation_nonresponse",
                **bad,
            )
    with pytest.raises(ValidationError, match="bar_years is required"):
        ev("revoked", notice_date="2020-06-18", grounds="x", ground="felony")


def test_item6_bar_limits_10_20_and_3_more_for_another_identity():
    s = _revoked(bar_years=10, identity_extension_years=3)
    bar = reenrollment_bar(s)
    assert bar and bar.barred_through == date(2033, 7, 17)  # 13 years from 2020-07-18
    with pytest.raises(EventRefused):
        refuse_if_barred(s, date(2033, 7, 17))
    refuse_if_barred(s, date(2033, 7, 18))
    for bad in (
        {"bar_years": 11},
        {"bar_years": 21, "repeat": True},
        {"bar_years": 5, "identity_extension_years": 4},
    ):
        with pytest.raises(ValidationError):
            ev("revoked", notice_date="2020-06-18", grounds="x", **bad)
    assert reenrollment_bar(_revoked(bar_years=20, repeat=True))


def test_item6_cap_window_for_noncompliance_35_days_from_the_notice():
    s = _revoked(bar_years=3, ground="noncompliance")
    cap = clock(s, K.REVOCATION_CAP)
    assert cap.last_day == date(2020, 7, 23)  # 30 days from presumed receipt (notice + 5)
    late = refused(s, "cap_submitted", noon(date(2020, 7, 24)), filed_on="2020-07-24")
    assert late.field == "filed_on" and "2020-07-23" in late.message
    filed = do(s, "cap_submitted", noon(date(2020, 7, 23)), filed_on="2020-07-23")
    assert not filed.clocks_of(K.REVOCATION_CAP)
    back = do(
        filed,
        "cap_decided",
        noon(date(2020, 8, 20)),
        decision_date="2020-08-20",
        outcome="accepted",
    )
    assert back.status == S.ACTIVE and reenrollment_bar(back) is None
    assert back.clocks_of(K.REVALIDATION_DUE) and back.clocks_of(K.NON_BILLING)
    kept = do(
        filed,
        "cap_decided",
        noon(date(2020, 8, 20)),
        decision_date="2020-08-20",
        outcome="not_accepted",
    )
    assert kept.status == S.REVOKED


def test_item6_reconsideration_window_65_days_and_a_reversal():
    s = _revoked(bar_years=3, ground="felony")
    assert not s.clocks_of(K.REVOCATION_CAP)  # a felony cannot be corrected
    e = refused(s, "cap_submitted", noon(date(2020, 6, 20)), filed_on="2020-06-20")
    assert "405.809" in e.message
    assert clock(s, K.REVOCATION_RECONSIDERATION).last_day == date(2020, 8, 22)
    s = fire(s, day_start(date(2020, 8, 20)))
    late = refused(s, "reconsideration_requested", noon(date(2020, 8, 23)), filed_on="2020-08-23")
    assert late.field == "filed_on"
    s = do(s, "reconsideration_requested", noon(date(2020, 8, 22)), filed_on="2020-08-22")
    upheld = do(
        s,
        "reconsideration_decided",
        noon(date(2020, 10, 1)),
        decision_date="2020-10-01",
        outcome="upheld",
    )
    assert upheld.status == S.REVOKED
    reversed_ = do(
        s,
        "reconsideration_decided",
        noon(date(2020, 10, 1)),
        decision_date="2020-10-01",
        outcome="reversed",
    )
    assert reversed_.status == S.ACTIVE and not reversed_.clocks_of(K.REENROLLMENT_BAR)


def test_item14_revocation_pending_until_its_effective_date():
    s = _revoked(bar_years=3)
    assert s.status == S.REVOCATION_PENDING
    from models.enrollment import status_text

    assert status_text(s) == "revocation pending, effective 2020-07-18"
    # The provider may bill until the effective date.
    s = do(s, "claim_activity", noon(date(2020, 7, 17)), latest_claim_date="2020-07-17")
    assert fire(s, just_before(date(2020, 7, 18))).status == S.REVOCATION_PENDING
    s = fire(s, day_start(date(2020, 7, 18)))
    assert s.status == S.REVOKED and status_text(s) == "revoked effective 2020-07-18"
    e = refused(s, "claim_activity", noon(date(2020, 7, 19)), latest_claim_date="2020-07-18")
    assert e.code == "IllegalTransition"
    # Retroactive: in effect at once.
    now_revoked = _revoked(bar_years=5, effective_date="2020-06-12")
    assert now_revoked.status == S.REVOKED


def test_item8_authorized_official_change_30_days():
    s = enrolled(now=noon(date(2024, 3, 1)))
    s = do(
        s,
        "change_occurred",
        noon(date(2024, 3, 1)),
        kind="authorized_official",
        change_date="2024-03-01",
    )
    c = clock(s, K.CHANGE_REPORT)
    assert c.last_day == date(2024, 3, 31) and "424.516(e)(1)" in c.explanation
    assert do(s, "change_reported", noon(date(2024, 3, 31)), reported_on="2024-03-31").stays == []
    assert fire(s, just_before(date(2024, 4, 1))).status == S.ACTIVE
    assert fire(s, day_start(date(2024, 4, 1))).status == S.STAYED


def _mac_stay(**data) -> EnrollmentState:
    s = billed(enrolled(now=noon(date(2026, 3, 2))), date(2026, 3, 2))
    return do(
        s,
        "stay_imposed",
        noon(date(2026, 3, 2)),
        letter_date="2026-03-02",
        cause="other",
        grounds="IDTF standard",
        **data,
    )


def test_item10_a_mac_stay_lasts_at_most_60_days_from_its_letter():
    s = _mac_stay()
    assert s.status == S.STAYED and s.stays[0].imposed_by == "mac"
    assert clock(s, K.STAY).last_day == date(2026, 5, 1)  # 60 days from 2026-03-02
    assert fire(s, just_before(date(2026, 5, 2))).status == S.STAYED
    gone = fire(s, day_start(date(2026, 5, 2)))
    assert gone.status == S.DEACTIVATED
    lifted = do(s, "stay_lifted", noon(date(2026, 5, 1)), lifted_on="2026-05-01")
    assert lifted.status == S.ACTIVE and lifted.stays[0].outcome == "lifted"
    assert not lifted.clocks_of(K.STAY_REBUTTAL)
    ok = _mac_stay(ends_on="2026-05-01")
    assert clock(ok, K.STAY).last_day == date(2026, 5, 1)
    base = billed(enrolled(now=noon(date(2026, 3, 2))), date(2026, 3, 2))
    e = refused(
        base,
        "stay_imposed",
        noon(date(2026, 3, 2)),
        letter_date="2026-03-02",
        cause="other",
        ends_on="2026-05-02",
    )
    assert e.field == "ends_on" and "424.541" in e.message
    old = enrolled(now=noon(date(2023, 12, 1)), effective=date(2023, 1, 2))
    e = refused(
        old, "stay_imposed", noon(date(2023, 12, 1)), letter_date="2023-12-01", cause="other"
    )
    assert e.field == "letter_date"


def test_item10_a_stay_rebuttal_within_15_days_of_the_letter():
    s = _mac_stay()
    assert clock(s, K.STAY_REBUTTAL).last_day == date(2026, 3, 17)
    late = refused(s, "rebuttal_submitted", noon(date(2026, 3, 18)), filed_on="2026-03-18")
    assert late.field == "filed_on"
    ok = do(s, "rebuttal_submitted", noon(date(2026, 3, 17)), filed_on="2026-03-17")
    assert ok.status == S.STAYED and ok.stays[0].rebuttal_filed_on == date(2026, 3, 17)
    assert fire(s, day_start(date(2026, 3, 18))).events[-1].event == "stay_rebuttal_window_expired"


def test_item10_the_macs_stay_replaces_the_engines_inferred_one():
    s = fire(_due_june_2026(), day_start(date(2026, 7, 1)))
    assert s.status == S.STAYED and s.stays[0].imposed_by == "engine"
    s = do(
        s,
        "stay_imposed",
        noon(date(2026, 7, 6)),
        letter_date="2026-07-06",
        cause="revalidation",
    )
    engine, mac = s.stays
    assert engine.outcome == "superseded" and mac.imposed_by == "mac"
    assert clock(s, K.STAY).last_day == date(2026, 9, 4)  # 60 days from the letter
    s = fire(s, day_start(date(2026, 9, 5)))
    assert s.deactivation and s.deactivation.effective_date == date(2026, 6, 30)
    cured = do(
        fire(_due_june_2026(), day_start(date(2026, 7, 1))),
        "stay_imposed",
        noon(date(2026, 7, 6)),
        letter_date="2026-07-06",
        cause="revalidation",
    )
    cured = do(cured, "revalidation_submitted", noon(date(2026, 7, 8)), receipt_date="2026-07-08")
    assert cured.status == S.ACTIVE


def test_item4_where_a_stayed_or_deactivated_enrollment_stands():
    from models.enrollment import standing

    assert standing(_due_june_2026()) is None
    stayed = fire(_due_june_2026(), day_start(date(2026, 7, 1)))
    found = standing(stayed)
    assert found and found.since == date(2026, 7, 1)
    assert "file the revalidation by 2026-07-30" in found.action
    assert "deactivated effective 2026-06-30" in found.action
    gone = fire(stayed, day_start(date(2026, 7, 31)))
    found = standing(gone)
    assert found and found.summary == "deactivated effective 2026-06-30"
    assert "file a reactivation" in found.action


def test_names_travel_with_the_enrollment():
    s = enrolled(legal_name="Jane Q Doe")
    assert s.legal_name == "Jane Q Doe"
    assert next_cycle_state(s).legal_name == "Jane Q Doe"


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
    # A notice whose 60 days end after the due date: missed on its last day.
    old2 = enrolled(
        effective=date(2016, 5, 2),
        source="import",
        now=noon(date(2020, 12, 1)),
        revalidation_due_date=date(2021, 1, 31),
    )
    old2 = do(
        old2, "revalidation_notice_received", noon(date(2020, 12, 15)), letter_date="2020-12-15"
    )
    old2 = fire(old2, day_start(date(2021, 2, 1)))
    assert old2.status == S.ACTIVE
    old2 = fire(old2, day_start(date(2021, 2, 14)))
    assert old2.status == S.DEACTIVATED and old2.deactivation
    assert old2.deactivation.effective_date == date(2021, 1, 31)
    # From deactivated.
    d = _cr5613()
    do(d, "revoked", noon(date(2018, 8, 1)), notice_date="2018-08-01", bar_years=2, grounds="x")
    do(d, "voluntarily_terminated", noon(date(2018, 8, 1)), effective_date="2018-08-01")


def _walk_issue_15_rows() -> None:
    """Rows of issue 15 its scenarios above do not reach."""
    from models.identifiers import provisional_enrollment_id

    now = noon(date(2026, 3, 2))
    pid = provisional_enrollment_id("org-1", "walk")
    provisional = billed(enrolled(enrollment_id=pid, now=now), date(2026, 3, 2))
    stayed = do(provisional, "stay_imposed", now, letter_date="2026-03-02", cause="other")
    deactivated = do(provisional, "deactivated", now, letter_date="2026-03-02")
    revoking = do(provisional, "revoked", now, notice_date="2026-03-02", bar_years=1, grounds="x")
    for s in (stayed, deactivated, revoking, fire(revoking, day_start(date(2026, 4, 1)))):
        assert do(s, "enrollment_id_assigned", now, enrollment_id="I20260302000001").is_closed
    # Revoked from stayed or deactivated, effective at once.
    for s in (stayed, deactivated):
        retro = {"effective_date": "2026-03-01"}
        assert do(s, "revoked", now, notice_date="2026-03-02", bar_years=1, grounds="x", **retro)
    # Two MAC stays: lifting one leaves the enrollment stayed.
    two = do(stayed, "stay_imposed", now, letter_date="2026-03-02", cause="other")
    assert do(two, "stay_lifted", now, lifted_on="2026-03-02", stay_id=two.stays[0].clock_id)
    # A revalidation not approved while stayed (for a change) or deactivated.
    filed = _filed(date(2026, 4, 1))
    changed = do(
        filed, "change_occurred", noon(date(2026, 4, 2)), kind="other", change_date="2026-04-02"
    )
    changed = do(
        changed,
        "stay_imposed",
        noon(date(2026, 4, 3)),
        letter_date="2026-04-03",
        cause="unreported_change",
    )
    no = {"notice_date": "2026-04-05", "outcome": "rejected"}
    assert do(changed, "revalidation_not_approved", noon(date(2026, 4, 5)), **no)
    off = do(filed, "deactivated", noon(date(2026, 4, 3)), letter_date="2026-04-03")
    assert do(off, "revalidation_not_approved", noon(date(2026, 4, 5)), **no)
    # While a revocation is pending (effective far ahead): appeals, windows, termination.
    far = do(
        billed(enrolled(now=now), date(2026, 3, 2)),
        "revoked",
        now,
        notice_date="2026-03-02",
        effective_date="2026-09-01",
        ground="noncompliance",
        bar_years=1,
        grounds="x",
    )
    assert far.status == S.REVOCATION_PENDING
    expired = fire(far, day_start(date(2026, 5, 7)))  # CAP and reconsideration windows end
    assert expired.status == S.REVOCATION_PENDING
    cap = do(far, "cap_submitted", noon(date(2026, 3, 5)), filed_on="2026-03-05")
    for outcome in ("accepted", "not_accepted"):
        do(cap, "cap_decided", noon(date(2026, 3, 6)), decision_date="2026-03-06", outcome=outcome)
    rec = do(far, "reconsideration_requested", noon(date(2026, 3, 5)), filed_on="2026-03-05")
    for outcome in ("upheld", "reversed"):
        do(
            rec,
            "reconsideration_decided",
            noon(date(2026, 3, 6)),
            decision_date="2026-03-06",
            outcome=outcome,
        )
    do(far, "voluntarily_terminated", noon(date(2026, 3, 6)), effective_date="2026-03-06")
    # A CAP window that ends after the revocation took effect.
    late_cap = _revoked(bar_years=3, ground="noncompliance")
    assert fire(late_cap, day_start(date(2020, 7, 24))).status == S.REVOKED


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
    _walk_issue_15_rows()
    table = {(t.source.value, t.event, t.target.value) for t in ENROLLMENT_LIFECYCLE.transitions}
    assert table - SEEN == set()
    assert SEEN - table == set()
