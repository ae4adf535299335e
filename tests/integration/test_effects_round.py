"""A drain round's projection and notices in one activity (activities/effects.py), on SQLite and
PostgreSQL: every effect done in two transactions, each notice delivered once across attempts,
and a failing effect reported on its own (its own incident), never as its neighbours'."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.effects import EffectsActivities
from activities.notifications import Delivery, NotificationActivities
from activities.projection import ProjectionActivities
from models.contracts import READ_MODEL_DATA_REJECTED
from models.notification import MacCallFacts
from models.read_model import EffectsOutcome, EffectsRound, OutboxState
from tests.integration.test_outbox import RecordingChannel, _rows
from tests.integration.test_read_model import _notification, _projection, engine, history
from tests.integration.test_read_model import _rows as _projected

__all__ = ["engine", "history"]  # fixtures, used by name

ATTEMPTS = 3


def _round(history: dict[int, Any], *, project: bool = True) -> EffectsRound:
    return EffectsRound(
        application=_projection(history, 5) if project else None,
        notices=[_notification(history, 2), _notification(history, 5)],
        attempts=ATTEMPTS,
    )


def _activities(engine: Engine, channel: RecordingChannel) -> EffectsActivities:
    return EffectsActivities(ProjectionActivities(engine), NotificationActivities(engine, channel))


def _attempt(
    n: int, heartbeats: list[Any], details: list[Any] | None = None
) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, activity_id="round-1", attempt=n, heartbeat_details=details or []
    )
    env.on_heartbeat = lambda *d: heartbeats.append(list(d))
    return env


async def test_a_round_projects_and_delivers_each_notice_once(
    engine: Engine, history: dict[int, Any]
) -> None:
    channel = RecordingChannel()
    act = _activities(engine, channel)
    round_ = _round(history)

    outcome: EffectsOutcome = await _attempt(1, []).run(act.record_effects, round_)

    assert outcome.failures == []
    assert outcome.delivered == [n.notice.key for n in round_.notices]
    apps, deadlines = _projected(engine)
    assert [(a.status, a.projected_seq) for a in apps] == [("development_requested", 5)]
    assert len(deadlines) == 1
    rows = _rows(engine)
    assert [r.state for r in rows] == [OutboxState.SENT.value] * 2
    assert sorted(channel.received.values()) == [1, 1]
    # The same round again (a replayed or carried round): done already, nothing goes out.
    again = await _attempt(1, []).run(act.record_effects, round_)
    assert (again.failures, again.delivered) == ([], [])
    assert sorted(channel.received.values()) == [1, 1]


async def test_a_failing_channel_is_retried_then_fails_only_its_notice(
    engine: Engine, history: dict[int, Any]
) -> None:
    channel = RecordingChannel()
    round_ = _round(history)
    failing = round_.notices[1].idempotency_key
    deliver = channel.deliver

    def refuse_one(delivery: Any) -> None:
        if delivery.id == failing:
            raise ConnectionError("smtp down")
        deliver(delivery)

    channel.deliver = refuse_one  # type: ignore[method-assign]
    act = _activities(engine, channel)
    heartbeats: list[Any] = []

    # An attempt before the last fails on a passing failure: the round's quick retry.
    with pytest.raises(ApplicationError) as raised:
        await _attempt(1, heartbeats).run(act.record_effects, round_)
    assert raised.value.type == "NoticeNotDelivered" and not raised.value.non_retryable
    assert heartbeats, "the delivered notice is recorded before the attempt fails"

    # The last attempt (with the first one's heartbeat) answers which effect failed.
    outcome = await _attempt(ATTEMPTS, [], heartbeats[-1]).run(act.record_effects, round_)
    assert [(f.key, f.error_type) for f in outcome.failures] == [
        (f"notice:{round_.notices[1].notice.key}", "NoticeNotDelivered")
    ]
    assert outcome.delivered == [round_.notices[0].notice.key]
    assert channel.received[round_.notices[0].idempotency_key] == 1  # not sent again
    states = {r.idempotency_key: r.state for r in _rows(engine)}
    assert states == {
        round_.notices[0].idempotency_key: OutboxState.SENT.value,
        failing: OutboxState.PENDING.value,
    }
    assert _projected(engine)[0][0].projected_seq == 5


async def test_a_refused_projection_fails_only_itself(
    engine: Engine, history: dict[int, Any]
) -> None:
    # The database refuses this record's row, as it would a value it cannot store.
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_row BEFORE INSERT ON application "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            conn.execute(
                text("ALTER TABLE application ADD CONSTRAINT refuse_row CHECK (false) NOT VALID")
            )
    channel = RecordingChannel()
    round_ = _round(history)

    # Not retryable: even the first attempt answers instead of failing.
    outcome = await _attempt(1, []).run(_activities(engine, channel).record_effects, round_)

    assert [(f.key, f.error_type) for f in outcome.failures] == [
        ("projection", READ_MODEL_DATA_REJECTED)
    ]
    assert "Jane Doe" not in outcome.failures[0].message  # no value in what history keeps
    assert outcome.delivered == [n.notice.key for n in round_.notices]
    assert sorted(channel.received.values()) == [1, 1]
    assert _projected(engine) == ([], [])


class KeepingChannel(RecordingChannel):
    """Also keeps what it received, to read the messages."""

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[Delivery] = []

    def deliver(self, delivery: Delivery) -> None:
        super().deliver(delivery)
        self.deliveries.append(delivery)


async def test_a_notice_carries_the_phone_facts_of_the_row_its_round_wrote(
    engine: Engine, history: dict[int, Any]
) -> None:
    channel = KeepingChannel()
    round_ = _round(history)

    outcome = await _attempt(1, []).run(_activities(engine, channel).record_effects, round_)

    assert outcome.failures == []
    facts = {d.notification.mac_call for d in channel.deliveries}
    # Both notices are the same application's: the row the round's projection (seq 5) wrote.
    assert facts == {
        MacCallFacts(
            npi="1234567893",
            web_tracking_id="WT-1",
            case_number="C-1",
            key_dates=(
                ("Submitted", date(2025, 2, 20)),
                ("Received by the MAC", date(2025, 2, 24)),
            ),
        )
    }


async def test_a_notice_of_a_record_not_projected_yet_has_only_its_npi(
    engine: Engine, history: dict[int, Any]
) -> None:
    channel = KeepingChannel()
    round_ = _round(history, project=False)

    outcome = await _attempt(1, []).run(_activities(engine, channel).record_effects, round_)

    assert outcome.failures == []
    assert {d.notification.mac_call for d in channel.deliveries} == {MacCallFacts(npi="1234567893")}


async def test_a_round_takes_the_facts_from_the_row_it_wrote_without_reading_it_back(
    engine: Engine, history: dict[int, Any]
) -> None:
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.lower().split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        channel = KeepingChannel()
        outcome = await _attempt(1, []).run(
            _activities(engine, channel).record_effects, _round(history)
        )
    finally:
        event.remove(engine, "before_cursor_execute", note)

    assert outcome.failures == []
    assert len(channel.deliveries) == 2
    assert [s for s in statements if s.startswith("insert into application ")], statements
    assert not [s for s in statements if s.startswith("select") and "from application " in s]


async def test_a_round_whose_projection_is_older_takes_the_facts_of_the_newer_row(
    engine: Engine, history: dict[int, Any]
) -> None:
    # A later round (seq 5: received by the MAC, case C-1) was projected first; this round's
    # projection (seq 2) does not apply, so its notice reads the stored, newer row.
    ProjectionActivities(engine).project(_projection(history, 5))
    channel = KeepingChannel()
    round_ = EffectsRound(
        application=_projection(history, 2), notices=[_notification(history, 2)], attempts=1
    )

    outcome = await _attempt(1, []).run(_activities(engine, channel).record_effects, round_)

    assert outcome.failures == []
    assert [a.projected_seq for a in _projected(engine)[0]] == [5]
    (delivery,) = channel.deliveries
    assert delivery.notification.mac_call.case_number == "C-1"
    assert ("Received by the MAC", date(2025, 2, 24)) in delivery.notification.mac_call.key_dates
