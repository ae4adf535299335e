"""Notification messages (models/notification.py): what happened, what is due, by when, why
(the rule and its citation) and the MAC phone facts, in plain text and HTML; never an SSN, a TIN
or a date of birth, over every notice kind the reducers produce (application and enrollment)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.notifications import mac_call_facts
from models.application import (
    APPLICATION_LIFECYCLE,
    ApplicationCreate,
    ApplicationState,
    EventRefused,
    apply_event,
    check_event,
    fire_due_clocks,
    new_application,
)
from models.calendar import start_of_day
from models.contracts import NotificationRequest
from models.enrollment import EnrollmentStart, new_enrollment
from models.enrollment import fire_due_clocks as fire_enrollment_clocks
from models.notices import Notice, NoticeKind
from models.notification import (
    Notification,
    Severity,
    notification_for,
    render_html,
    render_text,
)
from models.read_model import application_projection, enrollment_projection
from tests.unit.test_reducer_properties import _event

SSN = "512-34-6789"
EIN = "31-4159265"
DOB = date(1971, 4, 12)
# Every way the three could be written in a message.
FORBIDDEN = [
    SSN,
    SSN.replace("-", ""),
    EIN,
    EIN.replace("-", ""),
    DOB.isoformat(),
    DOB.strftime("%m/%d/%Y"),
    DOB.strftime("%B %-d, %Y"),
]
TZ = "America/New_York"
BASE = "https://enroll.example.org"
L = APPLICATION_LIFECYCLE


def _created(now: datetime) -> ApplicationState:
    return new_application(
        ApplicationCreate(
            application_id="app-1",
            organization_id="org-1",
            form="CMS-855I",
            purpose="initial",
            time_zone=TZ,
            details={
                "legal_name": "Jane Q Doe",
                "npi": "1234567893",
                "ssn": SSN,
                "ein": EIN,
                "date_of_birth": DOB.isoformat(),
                "state": "NY",
            },
            actor="ops@example.org",
        ),
        now,
    )


def _message(state: ApplicationState, notice: Notice, today: date) -> Notification:
    request = NotificationRequest(
        workflow_id=state.workflow_id,
        record_kind="application",
        record_id=state.application_id,
        organization_id=state.organization_id,
        npi=state.details.npi,
        notice=notice,
    )
    facts = mac_call_facts(application_projection(state).row)
    return notification_for(request, today=today, base_url=BASE, facts=facts)


def _assert_clean(n: Notification) -> None:
    for rendered in (render_text(n), render_html(n), n.model_dump_json()):
        leaked = [value for value in FORBIDDEN if value in rendered]
        assert leaked == [], (n.kind, leaked)


def _walk(events: list[dict[str, Any]], start: datetime) -> list[tuple[Notification, Notice]]:
    state = _created(start)
    now = start
    out: list[tuple[Notification, Notice]] = []
    for event in events:
        if "advance_days" in event:
            now += timedelta(days=event["advance_days"])
            outcome = fire_due_clocks(state, now)
        else:
            request = _event(event["event"], state.today(now), state.today(now), event["draw"])
            check_event(state, request, now)
            outcome = apply_event(state, request, now)
        state = outcome.state
        out += [(_message(state, n, state.today(now)), n) for n in outcome.notices]
    return out


START = start_of_day(date(2026, 3, 2), TZ).astimezone(UTC) + timedelta(hours=15)
DEVELOPED = [
    {"event": "submit", "draw": lambda s: None},
    {"event": "signatures_completed", "draw": lambda s: None},
    {"event": "received_by_mac", "draw": lambda s: None},
    {"event": "development_requested", "draw": lambda s: None},
    {"advance_days": 25},  # a reminder of the 30-day development response
    {"advance_days": 10},  # the clock ran out: the consequence
]


def test_a_message_says_what_happened_what_is_due_by_when_why_and_the_phone_facts() -> None:
    messages = _walk(DEVELOPED, START)
    assert {n.kind for _, n in messages} == {
        NoticeKind.EVENT,
        NoticeKind.REMINDER,
        NoticeKind.CONSEQUENCE,
    }
    [(reminder, notice)] = [(m, n) for m, n in messages if n.kind == NoticeKind.REMINDER]
    assert notice.rule is not None and reminder.rule == notice.rule
    text = render_text(reminder)
    assert reminder.severity == Severity.URGENT  # five days left
    assert f"What is due: {notice.rule.name}" in text
    assert f"By when: {notice.due_date} (end of that day)" in text
    assert f"Why: {notice.rule.name} ({notice.rule.citation}; rule " in text
    for fact in ("NPI: 1234567893", "Web Tracking ID: WTID-1", "Case number: CASE-1"):
        assert f"  {fact}" in text
    assert "Submitted: 2026-03-02" in text
    assert f"Link: {BASE}/v1/applications/app-1" in text
    assert f"Delivery id: {reminder.delivery_id}" in text
    page = render_html(reminder)
    assert f"<a href='{BASE}/v1/applications/app-1'>" in page
    assert "<li>Web Tracking ID: WTID-1</li>" in page
    [(consequence, _)] = [(m, n) for m, n in messages if n.kind == NoticeKind.CONSEQUENCE]
    assert consequence.severity == Severity.URGENT and consequence.why is not None
    for message, _ in messages:
        _assert_clean(message)


def test_html_escapes_what_people_typed() -> None:
    [(event, _)] = [(m, n) for m, n in _walk(DEVELOPED[:1], START)]
    hostile = event.model_copy(update={"happened": "<script>alert(1)</script>"})
    assert "<script>" not in render_html(hostile)
    assert "&lt;script&gt;" in render_html(hostile)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_message_carries_an_ssn_tin_or_date_of_birth(data: Any) -> None:
    """Random runs through the lifecycle table: every notice of every kind, rendered."""
    draw = data.draw
    now = START
    state = _created(now)
    for _ in range(draw(st.integers(1, 30), label="steps")):
        if draw(st.integers(0, 2)) == 0:
            now += timedelta(days=draw(st.integers(0, 40)))
            outcome = fire_due_clocks(state, now)
        else:
            allowed = list(L.allowed_events(state.status))
            if not allowed:
                break
            today = state.today(now)
            request = _event(draw(st.sampled_from(allowed)), today, today, draw)
            try:
                check_event(state, request, now)
            except EventRefused:
                continue
            outcome = apply_event(state, request, now)
        state = outcome.state
        for notice in outcome.notices:
            _assert_clean(_message(state, notice, state.today(now)))


def test_enrollment_messages_carry_the_ptan_and_its_dates() -> None:
    start = EnrollmentStart(
        enrollment_id="I20240110000001",
        organization_id="org-1",
        npi="1234567893",
        ptan="PT12345",
        form="CMS-855I",
        state="NY",
        effective_date=date(2024, 1, 10),
        time_zone=TZ,
        actor="alice",
        reason="approved",
    )
    state = new_enrollment(start, datetime(2024, 1, 10, 17, tzinfo=UTC))
    outcome = fire_enrollment_clocks(state, datetime(2029, 1, 1, 17, tzinfo=UTC))
    assert {n.kind for n in outcome.notices} >= {NoticeKind.REMINDER}
    row = enrollment_projection(outcome.state).row
    for notice in outcome.notices:
        request = NotificationRequest(
            workflow_id=state.workflow_id,
            record_kind="enrollment",
            record_id=state.enrollment_id,
            organization_id="org-1",
            npi=state.npi,
            notice=notice,
        )
        n = notification_for(
            request, today=date(2029, 1, 1), base_url=BASE, facts=mac_call_facts(row)
        )
        text = render_text(n)
        assert "  PTAN: PT12345" in text and "  Effective date: 2024-01-10" in text
        assert f"Link: {BASE}/v1/enrollments/I20240110000001" in text
