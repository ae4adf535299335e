"""Property test of the application reducer against the lifecycle table (models/application.py,
models/lifecycle.py; docs/regulation.md, "Counting days" and "The application").

Random runs of operator events (with plausible, valid-looking data) and time advances of 0-40
days are driven through check_event / apply_event / fire_due_clocks, as the workflow does: the
clocks are settled at every wake-up before the next event is checked. Event dates are never
before the latest record's date, so the late-recording grace never withdraws a consequence here
(test_application_reducer.py covers that path).
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from models.application import (
    APPLICATION_LIFECYCLE,
    EXPIRY_EVENT,
    ApplicationCreate,
    ApplicationEventRequest,
    ApplicationState,
    ApplicationStatus,
    EventRefused,
    Outcome,
    apply_event,
    check_event,
    fire_due_clocks,
    new_application,
)
from models.calendar import ClockKind, start_of_day
from models.notices import NoticeKind
from tests.event_names import ApplicationEvent

L = APPLICATION_LIFECYCLE
S = ApplicationStatus
K = ClockKind
EVENTS = TypeAdapter(ApplicationEventRequest)
# The events of the record's course; bookkeeping (assigned, note_added) moves nothing and is
# tested in tests/unit/test_bookkeeping.py.
OPERATOR_EVENTS = [
    e for e in ApplicationEvent if L.is_operator_event(e) and e not in L.bookkeeping_events
]
ZONES = ["America/New_York", "America/Los_Angeles"]
CLOSING_EVENTS = {"withdrawn", "rejected", "returned"}

# Where each clock may be open (and the states that must have one).
CLOCK_STATES: dict[ClockKind, set[ApplicationStatus]] = {
    K.SIGNATURES: {S.PENDING_SIGNATURE},
    K.FEE_PAYMENT: {S.PENDING_FEE},
    # A hardship request waits for CMS's decision while the application goes on.
    K.FEE_HARDSHIP_DECISION: {
        S.PENDING_SIGNATURE,
        S.PENDING_FEE,
        S.SUBMITTED,
        S.IN_REVIEW,
        S.DEVELOPMENT_REQUESTED,
        S.SCREENING,
    },
    K.DEVELOPMENT_RESPONSE: {S.DEVELOPMENT_REQUESTED},
    # Fingerprints stay owed through a development request (42 CFR 424.518(c)).
    K.FINGERPRINTS: {S.SCREENING, S.DEVELOPMENT_REQUESTED},
    K.CORRECTIVE_ACTION_PLAN: {S.DENIED},
    K.RECONSIDERATION_REQUEST: {S.DENIED},
    K.RECONSIDERATION_DECISION: {S.RECONSIDERATION_REQUESTED},
    K.CORRECTIVE_ACTION_PLAN_DECISION: {S.DENIED, S.RECONSIDERATION_REQUESTED},
    # The grace in which an on-time event recorded late may withdraw an engine consequence.
    K.LATE_RECORDING: {S.REJECTED, S.DENIED},
}
REQUIRED_CLOCK: dict[ApplicationStatus, ClockKind] = {
    S.PENDING_SIGNATURE: K.SIGNATURES,
    S.PENDING_FEE: K.FEE_PAYMENT,
    S.DEVELOPMENT_REQUESTED: K.DEVELOPMENT_RESPONSE,
    S.SCREENING: K.FINGERPRINTS,
}
# Period length in days from the clock's start date (docs/regulation.md).
PERIOD_DAYS: dict[ClockKind, int] = {
    K.SIGNATURES: 20,
    K.FEE_PAYMENT: 30,
    K.FEE_HARDSHIP_DECISION: 60,
    K.CORRECTIVE_ACTION_PLAN_DECISION: 60,
    K.DEVELOPMENT_RESPONSE: 30,
    K.FINGERPRINTS: 30,
    K.RECONSIDERATION_DECISION: 90,
    K.LATE_RECORDING: 14,
}


class Model:
    """What the test itself knows about the run, independent of the reducer's bookkeeping."""

    def __init__(self) -> None:
        self.received = False
        self.fingerprints_owed = False
        self.receipt_date: date | None = None
        self.legal_name = True
        # Receipt date of the denial notice the CAP/reconsideration windows count from.
        self.denial_receipt: date | None = None
        self.reminder_keys: list[str] = []
        self.timeline: list[str] = []
        self.fee_paid = False
        self.hardship_pending = False
        self.cap_filed_on: date | None = None


def _event(name: str, when: date, today: date, draw: Any) -> Any:
    base: dict[str, Any] = {"event": name, "actor": "ops@example.org", "reason": "from a letter"}
    iso = when.isoformat()
    data: dict[str, Any]
    if name == "update_draft":
        data = {"changes": {"legal_name": draw(st.sampled_from([None, "Jane Q Doe"]))}}
    elif name == "submit":
        data = {"web_tracking_id": "WTID-1", "submitted_on": iso}
        signed = draw(
            st.one_of(
                st.none(),
                st.integers(0, (today - when).days).map(lambda d: when + timedelta(days=d)),
            )
        )
        if signed is not None:
            data["signed_on"] = signed.isoformat()
    elif name == "signatures_completed":
        data = {"signed_on": iso}
    elif name == "fee_requested":
        data = {"letter_date": iso}
    elif name == "fee_paid":
        data = {"paid_on": iso}
    elif name == "fee_hardship_requested":
        data = {"requested_on": iso}
    elif name in ("fee_hardship_approved", "fee_hardship_denied"):
        data = {"decision_date": iso}
    elif name == "cap_submitted":
        data = {"filed_on": iso}
    elif name == "cap_decided":
        outcome = draw(st.sampled_from(["accepted", "not_accepted"]))
        data = {"decision_date": iso, "outcome": outcome}
        if outcome == "accepted":
            data["ptan"] = "PTAN3"
    elif name == "received_by_mac":
        data = {"case_number": "CASE-1", "receipt_date": iso}
    elif name == "development_requested":
        data = {"request_date": iso, "items": ["bank letter"]}
    elif name == "development_responded":
        data = {"responded_on": iso}
    elif name == "site_visit_completed":
        data = {"visit_date": iso, "result": draw(st.sampled_from(["passed", "failed"]))}
    elif name == "fingerprints_requested":
        data = {"letter_date": iso}
    elif name == "fingerprints_received":
        data = {"received_on": iso}
    elif name == "approved":
        data = {"ptan": "PTAN1", "approval_date": iso}
    elif name == "denied":
        received = draw(
            st.one_of(
                st.none(),
                st.integers(0, (today - when).days).map(lambda d: when + timedelta(days=d)),
            )
        )
        data = {"notice_date": iso, "grounds": "424.530(a)(1)"}
        if received is not None:
            data["received_on"] = received.isoformat()
    elif name == "reconsideration_requested":
        data = {"filed_on": iso}
    elif name == "reconsideration_decided":
        outcome = draw(st.sampled_from(["upheld", "reversed"]))
        data = {"decision_date": iso, "outcome": outcome}
        if outcome == "reversed":
            data["ptan"] = "PTAN2"
    elif name in ("rejected", "returned"):
        data = {"notice_date": iso, "grounds": "from the MAC"}
    elif name == "withdrawn":
        data = {"requested_on": iso}
    else:  # pragma: no cover - every operator event is listed above
        raise AssertionError(name)
    return EVENTS.validate_python({**base, **data})


def _expected_target(state: ApplicationState, request: Any, model: Model) -> ApplicationStatus:
    event = ApplicationEvent(request.event)

    def holds(guard: str) -> bool:
        return {
            "signatures_outstanding": getattr(request, "signed_on", None) is None,
            "signed_at_submission": getattr(request, "signed_on", None) is not None,
            "fingerprints_outstanding": model.fingerprints_owed,
            "no_fingerprints_outstanding": not model.fingerprints_owed,
            "received_by_mac": model.received,
            "not_received_by_mac": not model.received,
            "denial_reversed": getattr(request, "outcome", None) == "reversed",
            "denial_upheld": getattr(request, "outcome", None) == "upheld",
            "cap_accepted": getattr(request, "outcome", None) == "accepted",
            "cap_not_accepted": getattr(request, "outcome", None) == "not_accepted",
            "denied_by_engine": state.decision is not None and state.decision.by_engine,
        }[guard]

    target = L.resolve(state.status, event, holds)
    assert target is not None
    return target


def _data_valid(state: ApplicationState, request: Any, model: Model) -> bool:
    if request.event == "submit":
        return model.legal_name
    if request.event == "reconsideration_requested":
        windows = [c for c in state.clocks if c.kind == K.RECONSIDERATION_REQUEST]
        return bool(windows) and request.filed_on <= windows[0].last_day
    if request.event == "fee_hardship_requested":
        return not model.fee_paid and not model.hardship_pending
    if request.event in ("fee_hardship_approved", "fee_hardship_denied"):
        return model.hardship_pending
    if request.event == "cap_submitted":
        windows = [c for c in state.clocks if c.kind == K.CORRECTIVE_ACTION_PLAN]
        return bool(windows) and request.filed_on <= windows[0].last_day
    if request.event == "cap_decided":
        return model.cap_filed_on is not None
    return True


def _check_invariants(state: ApplicationState, now: datetime, model: Model) -> None:
    ctx = "\n".join(model.timeline)
    # Seq numbers are 1..n.
    assert [e.seq for e in state.events] == list(range(1, len(state.events) + 1)), ctx
    # Records chain: each starts where the previous one ended.
    for prev, rec in zip(state.events, state.events[1:], strict=False):
        assert rec.from_status == prev.to_status, ctx
    assert state.events[-1].to_status == state.status, ctx
    # No clock stays open past its time.
    assert all(c.fires_at > now for c in state.clocks), ctx
    # Open clocks are consistent with the status.
    kinds = [c.kind for c in state.clocks]
    assert len(kinds) == len(set(kinds)), ctx
    for c in state.clocks:
        assert state.status in CLOCK_STATES[c.kind], (c.kind, state.status, ctx)
    if state.status in REQUIRED_CLOCK:
        # A fee letter's clock stops while CMS decides a hardship request.
        waiting = state.fee_hardship_requested_on is not None and state.fee_hardship_outcome is None
        assert REQUIRED_CLOCK[state.status] in kinds or (
            state.status == S.PENDING_FEE and waiting
        ), ctx
    # The grace clock keeps the state it would restore; that state outlives the grace (a late
    # on-time event withdraws the consequence however late it is recorded).
    if K.LATE_RECORDING in kinds:
        assert state.before_consequence is not None, ctx
    # Every open clock counts as docs/regulation.md says ("Counting days").
    for c in state.clocks:
        if c.kind in PERIOD_DAYS:
            assert c.last_day == c.started_on + timedelta(days=PERIOD_DAYS[c.kind]), ctx
        else:
            assert state.decision is not None and state.decision.kind == "denied", ctx
            days = 30 if c.kind == K.CORRECTIVE_ACTION_PLAN else 60
            if state.decision.by_engine:
                # The MAC still mails the denial: presumed received 5 days after its date.
                receipt = state.decision.on + timedelta(days=5)
            else:
                assert model.denial_receipt is not None, ctx
                receipt = model.denial_receipt
            assert c.started_on == state.decision.on, ctx
            assert c.last_day == receipt + timedelta(days=days), ctx
            if c.kind == K.CORRECTIVE_ACTION_PLAN:
                # Only a denial that may be a noncompliance one can be corrected.
                assert state.decision.ground in (None, "noncompliance"), ctx
        assert c.fires_at == start_of_day(c.last_day + timedelta(days=1), state.time_zone), ctx
    # Reminders are never sent twice.
    assert len(state.reminders_sent) == len(set(state.reminders_sent)), ctx
    assert len(model.reminder_keys) == len(set(model.reminder_keys)), ctx
    # The next wake-up is in the future: every reminder already due has been dealt with.
    wake = state.next_wake()
    if state.clocks:
        assert wake is not None and now < wake <= min(c.fires_at for c in state.clocks), ctx
    else:
        assert wake is None, ctx


def _check_engine_records(out: Outcome, first_seq: int, now: datetime) -> None:
    """Records appended by fire_due_clocks follow the table's timer rows."""
    state = out.state
    for rec in state.events[first_seq - 1 :]:
        event = ApplicationEvent(rec.event)
        assert event in L.timer_events
        assert rec.actor == "engine"
        target = L.resolve(rec.from_status, event, lambda g: False)
        assert rec.to_status == (target if target is not None else rec.from_status)
        closed = [c for c in state.closed_clocks if c.by_event_seq == rec.seq]
        expired = [c for c in closed if c.outcome == "expired"]
        assert len(expired) == 1
        assert EXPIRY_EVENT[expired[0].clock.kind] == event
        assert expired[0].clock.fires_at <= now
        assert rec.event_date == expired[0].clock.last_day + timedelta(days=1)


def _absorb_notices(out: Outcome, now: datetime, model: Model) -> None:
    for n in out.notices:
        if n.kind == NoticeKind.REMINDER:
            model.reminder_keys.append(n.key)
            assert n.due_date is not None and n.clock_id is not None
            assert now < start_of_day(n.due_date + timedelta(days=1), out.state.time_zone)


def _settled_once(out: Outcome, now: datetime) -> ApplicationState:
    """fire_due_clocks leaves nothing due: a second call at the same instant changes nothing."""
    again = fire_due_clocks(out.state, now)
    assert again.notices == []
    assert again.state.model_dump() == out.state.model_dump()
    return out.state


def _fire(state: ApplicationState, now: datetime, model: Model) -> ApplicationState:
    before = state.model_dump()
    out = fire_due_clocks(state, now)
    assert state.model_dump() == before  # not mutated
    _check_engine_records(out, len(state.events) + 1, now)
    _absorb_notices(out, now, model)
    return _settled_once(out, now)


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_reducer_follows_the_lifecycle_table(data):
    draw = data.draw
    tz = draw(st.sampled_from(ZONES), label="zone")
    first_day = draw(st.dates(date(2024, 1, 1), date(2026, 6, 30)), label="created")
    now = start_of_day(first_day, tz).astimezone(UTC) + timedelta(hours=draw(st.integers(0, 23)))
    model = Model()
    state = new_application(
        ApplicationCreate(
            application_id="app-1",
            organization_id="org-1",
            form="CMS-855I",
            purpose="initial",
            time_zone=tz,
            details={
                "legal_name": "Jane Q Doe",
                "npi": "1234567893",
                "ssn": "123-45-6789",
                "state": "NY",
            },
            actor="ops@example.org",
        ),
        now,
    )
    _check_invariants(state, now, model)

    for _ in range(draw(st.integers(1, 40), label="steps")):
        # Time passes more often while a clock runs (so deadlines are met and missed).
        if draw(st.integers(0, 2 if state.clocks else 5)) == 0:
            now = now + timedelta(days=draw(st.integers(0, 40)), hours=draw(st.integers(0, 23)))
            model.timeline.append(f"advance to {now.isoformat()}")
            state = _fire(state, now, model)
            _check_invariants(state, now, model)
            continue

        # Mostly events the table allows that move the application on; sometimes one that
        # ends it; sometimes any operator event at all (to exercise refusals).
        allowed = list(L.allowed_events(state.status))
        onward = [e for e in allowed if e not in CLOSING_EVENTS]
        advancing = [
            e
            for e in onward
            if any(t.target != state.status for t in L.options(state.status, ApplicationEvent(e)))
        ]
        pick = draw(st.integers(0, 9))
        if pick == 0 or not allowed:
            name = draw(st.sampled_from([e.value for e in OPERATOR_EVENTS]))
        elif pick == 1 or not onward:
            name = draw(st.sampled_from(allowed))
        elif pick <= 3 or not advancing:
            name = draw(st.sampled_from(onward))
        else:
            name = draw(st.sampled_from(advancing))
        today = state.today(now)
        floor = max(e.event_date for e in state.events)
        span = (today - floor).days
        # Usually recorded within a few days; sometimes back-dated as far as the record allows.
        back = draw(st.one_of(st.integers(0, min(span, 3)), st.integers(0, span)))
        when = today - timedelta(days=back)
        request = _event(name, when, today, draw)
        model.timeline.append(f"{state.status} + {request!r}")

        status = state.status
        event = ApplicationEvent(name)
        # The table's guard on denied-over-denied: only over a denial the engine inferred.
        guard_ok = not (
            status == S.DENIED
            and event == ApplicationEvent.DENIED
            and not (state.decision is not None and state.decision.by_engine)
        )
        expected = L.allows(status, event) and guard_ok and _data_valid(state, request, model)
        before = state.model_dump()
        try:
            check_event(state, request, now)
            accepted = True
        except EventRefused as err:
            accepted = False
            assert err.status == status.value
            assert set(err.allowed_events) <= set(L.allowed_events(status))
            if not L.allows(status, event) or not guard_ok:
                assert err.code == "IllegalTransition"
            elif name == "submit":
                assert err.code == "PresubmissionChecksFailed"
                assert [f.field for f in err.findings] == ["legal_name"]
            else:
                assert err.code == "InvalidEventData"
        assert state.model_dump() == before  # check_event is pure
        assert accepted == expected, "\n".join(model.timeline)
        if state.is_final and accepted:
            assert status == S.DENIED
            assert event in (
                ApplicationEvent.RECONSIDERATION_REQUESTED,
                ApplicationEvent.CAP_SUBMITTED,
                ApplicationEvent.CAP_DECIDED,
            ) or (
                # The MAC's own notice over a denial the engine inferred.
                event == ApplicationEvent.DENIED
                and state.decision is not None
                and state.decision.by_engine
            )
        if not accepted:
            continue

        target = _expected_target(state, request, model)
        seq = len(state.events) + 1
        out = apply_event(state, request, now)
        assert state.model_dump() == before  # apply_event does not mutate its input
        new = out.state
        rec = new.events[seq - 1]
        assert (rec.seq, rec.event, rec.from_status, rec.to_status) == (seq, name, status, target)
        assert rec.event_date == (request.event_date() or today)
        assert out.notices[0].kind == NoticeKind.EVENT and out.notices[0].key == f"event-{seq}"
        _check_engine_records(out, seq + 1, now)
        _absorb_notices(out, now, model)
        new = _settled_once(out, now)

        if name == "received_by_mac":
            model.received = True
            model.receipt_date = when
        elif name == "fingerprints_requested":
            model.fingerprints_owed = True
        elif name == "fingerprints_received":
            model.fingerprints_owed = False
        elif name == "update_draft":
            model.legal_name = request.changes.legal_name is not None
        elif name == "denied":
            model.denial_receipt = request.received_on or when + timedelta(days=5)
            model.cap_filed_on = None
        elif name == "fee_paid":
            model.fee_paid = True
        elif name == "fee_hardship_requested":
            model.hardship_pending = True
        elif name in ("fee_hardship_approved", "fee_hardship_denied"):
            model.hardship_pending = False
        elif name == "cap_submitted":
            model.cap_filed_on = when
        # A CAP filed stays to be decided when a reconsideration upholds the denial: the two
        # are separate tracks (a new denial notice resets it, above).
        if target == S.APPROVED:
            # 424.520(d): the filing date is the MAC's receipt date (no first service date).
            assert new.ptan is not None
            assert new.effective_date == model.receipt_date
            assert new.retrospective_billing_from == new.effective_date - timedelta(days=30)
        state = new
        _check_invariants(state, now, model)

    # Run the clock out: every clock (90 days at most) settles, none is left behind.
    now = now + timedelta(days=400)
    state = _fire(state, now, model)
    _check_invariants(state, now, model)
    assert state.clocks == []
    assert state.next_wake() is None
