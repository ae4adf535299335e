"""The effect queue's bookkeeping (workflows/effects.py): coalesced projections, notices kept
once and in order, incidents with a bounded retry schedule, and what continue-as-new carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from models.contracts import NOTICE_REFUSED, READ_MODEL_DATA_REJECTED, READ_MODEL_UNAVAILABLE
from models.notices import Notice, NoticeKind
from models.read_model import EffectFailure, EffectsOutcome
from workflows.effects import (
    PROJECTION,
    REJECTED_ROUNDS,
    RETRY_SCHEDULE,
    EffectQueue,
    notice_key,
)

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def notice(key: str) -> Notice:
    return Notice(key=key, kind=NoticeKind.EVENT, subject=key, body="", status="draft")


def activity_failure(kind: str, message: str, non_retryable: bool = False) -> ActivityError:
    error = ActivityError(
        "activity failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="project_application",
        activity_id="1",
        retry_state=RetryState.MAXIMUM_ATTEMPTS_REACHED,
    )
    error.__cause__ = ApplicationError(message, type=kind, non_retryable=non_retryable)
    return error


def test_projections_coalesce_and_a_change_in_flight_projects_again() -> None:
    q = EffectQueue()
    q.queue_projection()
    q.queue_projection()
    first = q.take(NOW)
    assert first.project and not first.notices
    assert not q.due(NOW)  # the one in flight is not taken twice
    q.queue_projection()  # the state changed while it was written
    assert not q.due(NOW)
    q.done(PROJECTION)
    assert q.due(NOW) and q.take(NOW).project  # the latest state is written next
    q.done(PROJECTION)
    assert q.settled and q.pending == 0


def test_notices_are_queued_once_and_keep_their_order() -> None:
    q = EffectQueue()
    q.queue_notices([notice("event-2"), notice("event-3")])
    q.queue_notices([notice("event-2"), notice("event-4")])
    taken = q.take(NOW)
    assert [n.key for n in taken.notices] == ["event-2", "event-3", "event-4"]
    assert q.pending == 3


def test_a_failed_effect_is_parked_with_an_incident_and_retried_on_schedule() -> None:
    q = EffectQueue()
    q.queue_projection()
    q.take(NOW)
    failure = activity_failure(READ_MODEL_UNAVAILABLE, "the read model is unavailable")
    incident = q.failed(PROJECTION, "read model", failure, NOW)
    assert incident.error_type == READ_MODEL_UNAVAILABLE
    assert incident.rounds == 1 and incident.next_retry_at == NOW + RETRY_SCHEDULE[0]
    assert not q.due(NOW) and q.next_retry() == NOW + RETRY_SCHEDULE[0]
    assert q.pending == 1 and not q.settled
    # Round after round the wait grows, then stays at the last interval: never gives up.
    at = NOW
    for rounds in range(2, len(RETRY_SCHEDULE) + 4):
        at = q.next_retry() or at
        assert q.due(at) and q.take(at).project
        incident = q.failed(PROJECTION, "read model", failure, at)
        step = RETRY_SCHEDULE[min(rounds, len(RETRY_SCHEDULE)) - 1]
        assert incident.rounds == rounds and incident.next_retry_at == at + step
    assert incident.first_failed_at == NOW
    q.take(q.next_retry() or at)
    q.done(PROJECTION)
    assert q.incidents == {} and q.settled


@pytest.mark.parametrize("refusal", [READ_MODEL_DATA_REJECTED, NOTICE_REFUSED])
def test_a_refused_write_waits_for_an_operator_after_a_few_rounds(refusal: str) -> None:
    q = EffectQueue()
    q.queue_projection()
    rejected = activity_failure(refusal, "refused", non_retryable=True)
    at = NOW
    for rounds in range(1, REJECTED_ROUNDS + 1):
        q.take(at)
        incident = q.failed(PROJECTION, "read model", rejected, at)
        assert incident.rounds == rounds
        if incident.next_retry_at is not None:
            at = incident.next_retry_at
    assert incident.next_retry_at is None
    assert not q.due(at + timedelta(days=365)) and q.next_retry() is None
    assert q.retry_now(at) == 1  # the operator's re-run
    assert q.due(at) and q.take(at).project


def test_continue_as_new_carries_every_notice_not_done_and_the_incidents() -> None:
    q = EffectQueue()
    q.queue_notices([notice("event-7"), notice("event-8")])
    q.take(NOW)
    q.failed(notice_key(notice("event-7")), "notice", activity_failure("X", "m"), NOW)
    q.queue_notices([notice("event-9")])
    carried = q.carried()
    assert [n.key for n in carried.notices] == ["event-8", "event-7", "event-9"]
    assert [i.key for i in carried.incidents] == [notice_key(notice("event-7"))]
    resumed = EffectQueue(carried)
    assert resumed.pending == 3
    # The failed one stays parked until its retry; the others go at once.
    assert [n.key for n in resumed.take(NOW).notices] == ["event-8", "event-9"]


def test_the_retry_schedule_is_the_one_the_readme_promises() -> None:
    # README, "Side effects and incidents".
    assert [int(d.total_seconds()) for d in RETRY_SCHEDULE] == [10, 30, 120, 600, 3600, 21600]
    assert REJECTED_ROUNDS == 3


def test_a_round_activity_fails_only_the_effects_it_names() -> None:
    """One activity for a round's projection and notices (the effects-round patch): each effect
    it names as failed gets its own incident; the others are done."""
    q = EffectQueue()
    q.queue_projection()
    q.queue_notices([notice("event-1"), notice("event-2")])
    round_ = q.take(NOW)
    outcome = EffectsOutcome(
        failures=[
            EffectFailure(
                key=notice_key(notice("event-2")), error_type=NOTICE_REFUSED, message="bounced"
            )
        ],
        delivered=["event-1"],
    )
    [incident] = q.settle_round(round_, outcome, NOW)
    assert (incident.key, incident.effect, incident.error_type) == (
        "notice:event-2",
        "notice event-2",
        NOTICE_REFUSED,
    )
    assert set(q.incidents) == {"notice:event-2"} and q.pending == 1
    assert not q.due(NOW) and q.idle


def test_a_round_activity_that_failed_as_a_whole_fails_each_of_its_effects() -> None:
    q = EffectQueue()
    q.queue_projection()
    q.queue_notices([notice("event-1")])
    round_ = q.take(NOW)
    failed = q.settle_round(round_, activity_failure(READ_MODEL_UNAVAILABLE, "down"), NOW)
    assert sorted(i.key for i in failed) == ["notice:event-1", PROJECTION]
    assert all(i.next_retry_at == NOW + RETRY_SCHEDULE[0] for i in failed)
    assert q.pending == 2
