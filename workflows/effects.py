"""Side effects of the record workflows, kept out of the update path.

An operator event is an update: it is validated, applied to the state and answered. What it
makes happen in the world (the read-model projection, notices, the pre-submission checks, a
link to another record) goes on this queue, which the workflow's drain task works outside any
lock. A database outage therefore delays the read model and the notices, never the operator's
answer or a regulatory clock (the lock-across-retries defect of samples-python's
safe_message_handlers, temporal.md §5 pitfall 13).

A side effect that keeps failing never fails or rewinds the record: it becomes an Incident
(visible in the record, in GET /v1/incidents, and as the EnrollOpenIncidents search attribute),
is retried on a bounded schedule, and an operator can re-run it at any time. The projection is
coalesced (only the latest state is written); notices keep their order and their keys, which
the outbox uses to deliver each exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.exceptions import TimeoutError as TimeoutFailure

with workflow.unsafe.imports_passed_through():
    from models.contracts import (
        NON_RETRYABLE_EFFECT_ERRORS,
        CarriedEffects,
        Incident,
        NotificationRequest,
    )
    from models.notices import Notice
    from models.read_model import RECORD_EFFECTS, EffectsOutcome, EffectsRound
    from models.records import EventRefused

# One round of a side effect: a few quick attempts (a passing blip never becomes an incident),
# bounded in time; the workflow's own durable timers space the rounds. Short rounds matter: while
# an activity is outstanding nothing else of the record's side effects moves.
ROUND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=4),
    maximum_attempts=3,
    non_retryable_error_types=list(NON_RETRYABLE_EFFECT_ERRORS),
)
ROUND_TIMEOUT = timedelta(seconds=30)  # schedule-to-close of one round, attempts included
ATTEMPT_TIMEOUT = timedelta(seconds=10)  # start-to-close of one attempt (a hung connection)
# After a failed round: wait, then try again, never more often than this and never giving up
# on an outage (the last interval repeats).
RETRY_SCHEDULE = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
# A write the database refuses (a poison value) cannot succeed by retrying: a few rounds in case
# the refusal was a passing state, then it waits for an operator.
REJECTED_ROUNDS = 3

PROJECTION = "projection"
CHECKS = "checks"
# From this patch on, a round's projection and notices are one activity (activities/effects.py)
# instead of one each; runs recorded before it keep one activity per effect.
ROUND_PATCH = "effects-round"
ROUND = "round"  # the job of that one activity in a round (not an effect of its own)


def notice_key(notice: Notice) -> str:
    return f"notice:{notice.key}"


def refusal(exc: EventRefused) -> ApplicationError:
    """The only exception an update may raise: it fails the update, not the workflow task."""
    return ApplicationError(exc.message, exc.details(), type=exc.code, non_retryable=True)


async def wait_for_change_or(
    wake: datetime | None, changed: Callable[[], bool], summary: str
) -> None:
    """Sleep until the next clock or reminder is due, or until something changes."""
    try:
        await workflow.wait_condition(
            changed,
            timeout=None if wake is None else wake - workflow.now(),
            timeout_summary=summary,
        )
    except TimeoutError:
        pass


Link = Callable[[], Awaitable[None]]


@dataclass
class Round:
    """What one round of the drain does: the effects due now, taken off the queue."""

    notices: list[Notice] = field(default_factory=list)
    project: bool = False
    checks: bool = False
    links: list[tuple[str, Link]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.notices or self.project or self.checks or self.links)


def round_effects(round_: Round) -> dict[str, str]:
    """The projection and notices of a round: queue key -> the effect in words."""
    effects = {notice_key(n): f"notice {n.key}" for n in round_.notices}
    if round_.project:
        effects[PROJECTION] = "read model"
    return effects


def round_summary(round_: Round) -> str:
    """The round activity's summary (shown in the Web UI, unencrypted): keys only, no values."""
    parts = ["read model"] if round_.project else []
    parts += [f"notice {n.key}" for n in round_.notices]
    return ", ".join(parts)


def execute_round(
    round_: Round,
    record_kind: str,
    projection: BaseModel | None,
    notices: list[NotificationRequest],
) -> Any:
    """The round's projection and notices as one activity (activities/effects.py). It answers
    which of them failed, so each still becomes its own incident (EffectQueue.settle_round)."""
    effects = EffectsRound(
        notices=notices,
        attempts=ROUND_RETRY.maximum_attempts or 1,
        **({record_kind: projection} if projection is not None else {}),
    )
    return workflow.execute_activity(
        RECORD_EFFECTS,
        effects,
        result_type=EffectsOutcome,
        schedule_to_close_timeout=ROUND_TIMEOUT,
        start_to_close_timeout=ATTEMPT_TIMEOUT,
        retry_policy=ROUND_RETRY,
        summary=round_summary(round_),
    )


class EffectQueue:
    """The side effects a record still owes the world, and the incidents of those that failed.

    Pure bookkeeping (no awaits): handlers queue, the drain task takes rounds and reports each
    effect done or failed."""

    def __init__(self, carried: CarriedEffects | None = None) -> None:
        self._notices: dict[str, Notice] = {}
        self._project = False
        self._checks = False
        self._links: list[tuple[str, Link]] = []
        self._in_flight: dict[str, Notice | None] = {}
        self.incidents: dict[str, Incident] = {}
        if carried is not None:
            self.queue_notices(carried.notices)
            self.incidents = {i.key: i for i in carried.incidents}

    # --- queueing (from handlers and the run loop) -------------------------------------------

    def queue_notices(self, notices: list[Notice]) -> None:
        for n in notices:
            self._notices.setdefault(notice_key(n), n)

    def queue_projection(self) -> None:
        self._project = True

    def queue_checks(self) -> None:
        self._checks = True

    def queue_link(self, key: str, link: Link) -> None:
        self._links.append((key, link))

    # --- what is due -------------------------------------------------------------------------

    def _waiting(self) -> list[str]:
        keys = list(self._notices)
        if self._project:
            keys.append(PROJECTION)
        if self._checks:
            keys.append(CHECKS)
        keys += [k for k, _ in self._links]
        return keys

    def _ready(self, key: str, now: datetime) -> bool:
        if key in self._in_flight:
            return False
        incident = self.incidents.get(key)
        if incident is None:
            return True
        return incident.next_retry_at is not None and incident.next_retry_at <= now

    def due(self, now: datetime) -> bool:
        return any(self._ready(k, now) for k in self._waiting())

    def next_retry(self) -> datetime | None:
        """When the earliest parked effect may be tried again (None: nothing parked)."""
        waiting = set(self._waiting())
        times = [
            i.next_retry_at
            for k, i in self.incidents.items()
            if k in waiting and i.next_retry_at is not None
        ]
        return min(times) if times else None

    @property
    def settled(self) -> bool:
        """Nothing queued, parked or in flight."""
        return not self._waiting() and not self._in_flight

    @property
    def idle(self) -> bool:
        """No round in flight."""
        return not self._in_flight

    @property
    def pending(self) -> int:
        """How many side effects are queued, parked or in flight."""
        return len(set(self._waiting()) | set(self._in_flight))

    def take(self, now: datetime) -> Round:
        taken = Round()
        for key, notice in list(self._notices.items()):
            if self._ready(key, now):
                taken.notices.append(self._notices.pop(key))
                self._in_flight[key] = notice
        if self._project and self._ready(PROJECTION, now):
            self._project, taken.project = False, True
            self._in_flight[PROJECTION] = None
        if self._checks and self._ready(CHECKS, now):
            self._checks, taken.checks = False, True
            self._in_flight[CHECKS] = None
        links, self._links = self._links, []
        for key, link in links:
            if self._ready(key, now):
                taken.links.append((key, link))
                self._in_flight[key] = None
            else:
                self._links.append((key, link))
        return taken

    # --- outcomes (from the drain task) ------------------------------------------------------

    def done(self, key: str) -> None:
        self._in_flight.pop(key, None)
        self.incidents.pop(key, None)

    def failed(self, key: str, effect: str, error: BaseException, now: datetime) -> Incident:
        """Put the effect back on the queue and record (or update) its incident."""
        return self.failed_as(key, effect, *describe_failure(error), now)

    def failed_as(
        self, key: str, effect: str, error_type: str, message: str, rejected: bool, now: datetime
    ) -> Incident:
        """`failed`, with the failure already told apart (an effect of a round activity that
        answered which of its effects failed)."""
        notice = self._in_flight.pop(key, None)
        if notice is not None:
            self._notices[key] = notice
        elif key == PROJECTION:
            self._project = True
        elif key == CHECKS:
            self._checks = True
        previous = self.incidents.get(key)
        rounds = previous.rounds + 1 if previous else 1
        if rejected and rounds >= REJECTED_ROUNDS:
            retry_at = None
        else:
            retry_at = now + RETRY_SCHEDULE[min(rounds, len(RETRY_SCHEDULE)) - 1]
        incident = Incident(
            key=key,
            effect=effect,
            error_type=error_type,
            message=message,
            first_failed_at=previous.first_failed_at if previous else now,
            last_failed_at=now,
            rounds=rounds,
            next_retry_at=retry_at,
        )
        self.incidents[key] = incident
        return incident

    def settle_round(
        self, round_: Round, result: EffectsOutcome | BaseException, now: datetime
    ) -> list[Incident]:
        """Each effect of a round activity done or failed: all of them when the activity itself
        failed (its last attempt timed out, or no worker ran it), else those its answer names.
        Returns the incidents recorded."""
        effects = round_effects(round_)
        if isinstance(result, BaseException):
            failures = {key: describe_failure(result) for key in effects}
        else:
            failures = {
                f.key: (f.error_type, f.message, f.error_type in NON_RETRYABLE_EFFECT_ERRORS)
                for f in result.failures
                if f.key in effects
            }
        incidents = []
        for key, effect in effects.items():
            failure = failures.get(key)
            if failure is None:
                self.done(key)
            else:
                incidents.append(self.failed_as(key, effect, *failure, now))
        return incidents

    def retry_now(self, now: datetime) -> int:
        """An operator re-runs every failed effect now. Returns how many were parked."""
        for key, incident in self.incidents.items():
            self.incidents[key] = incident.model_copy(update={"next_retry_at": now})
        return len(self.incidents)

    def carried(self) -> CarriedEffects:
        """What the next run must still do (continue-as-new): every notice queued, parked or
        in flight (the outbox key makes a notice already delivered a no-op), and the incidents."""
        in_flight = [n for n in self._in_flight.values() if n is not None]
        return CarriedEffects(
            notices=[*in_flight, *self._notices.values()],
            incidents=list(self.incidents.values()),
        )


def describe_failure(error: BaseException) -> tuple[str, str, bool]:
    """(error type, message, rejected) of a failed effect. Activity failures carry the
    activity's own message, which the activities keep free of values; a timeout says so."""
    cause: BaseException | None = error
    if isinstance(error, ActivityError) and error.cause is not None:
        cause = error.cause
    if isinstance(cause, ApplicationError):
        kind = cause.type or "ApplicationError"
        return kind, cause.message, kind in NON_RETRYABLE_EFFECT_ERRORS
    if isinstance(cause, TimeoutFailure):
        return (
            "Timeout",
            f"no answer within {int(ROUND_TIMEOUT.total_seconds())} s, attempts included",
            False,
        )
    if isinstance(cause, FailureError):
        return type(cause).__name__, cause.message, False
    return type(error).__name__, "the side effect failed", False
