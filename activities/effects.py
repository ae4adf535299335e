"""One drain round of a record's side effects in one activity (workflows/record.py, from the
`effects-round` patch on): the read-model projection and the round's notices.

Before it, every effect was an activity of its own with its own transactions (a projection, and
claim, facts, mark per notice): most of a record's activities and database round trips. Here a
round takes two transactions whatever its size:

1. the projection, every notice's outbox claim and the record's phone facts, in one transaction;
2. the deliveries, outside any transaction (a channel may be slow);
3. every delivered notice marked sent, in one statement.

The outbox keeps each notice exactly-once as activities/notifications.py describes: the claim is
the same statement, a delivery is recorded in the heartbeat before the mark, and a retry finds
it and only marks. When the shared transaction fails, each effect is tried again on its own
(its own transaction), so one refused value fails its own effect and not its neighbours'.

Failures: an attempt before the round's last raises on any passing failure (the round's quick
retries absorb a blip; what is done stays done, see above); the last attempt answers which
effects failed, so each becomes its own incident, never the round's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.database import read_model_errors, session
from activities.notifications import NotificationActivities, mac_call_facts
from activities.projection import ProjectionActivities
from models.contracts import NON_RETRYABLE_EFFECT_ERRORS, NotificationRequest
from models.notification import MacCallFacts
from models.read_model import (
    RECORD_EFFECTS,
    ApplicationProjection,
    EffectFailure,
    EffectsOutcome,
    EffectsRound,
    EnrollmentProjection,
)

PROJECTION_KEY = "projection"  # as workflows/effects.py PROJECTION


def notice_key(req: NotificationRequest) -> str:
    return f"notice:{req.notice.key}"  # as workflows/effects.py notice_key


@dataclass
class _Progress:
    """What an attempt of the round has done so far; `delivered` travels in the heartbeat, so a
    retry after a failed mark does not deliver again."""

    delivered: set[str] = field(default_factory=set)  # outbox keys
    # Notices refused for good by an earlier attempt (their rows are failed): not sent again.
    refused: dict[str, EffectFailure] = field(default_factory=dict)
    claimed: list[NotificationRequest] = field(default_factory=list)  # to deliver now
    facts: dict[tuple[str, str], MacCallFacts] = field(default_factory=dict)
    failures: dict[str, EffectFailure] = field(default_factory=dict)

    def fail(self, key: str, error: ApplicationError) -> None:
        self.failures[key] = EffectFailure(
            key=key, error_type=error.type or "ApplicationError", message=error.message
        )


class EffectsActivities:
    def __init__(
        self, projection: ProjectionActivities, notifications: NotificationActivities
    ) -> None:
        self._projection = projection
        self._notifications = notifications
        self._engine = projection.engine

    @activity.defn(name=RECORD_EFFECTS)
    async def record_effects(self, round_: EffectsRound) -> EffectsOutcome:
        info = activity.info()
        claimant = f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
        progress = _progress_before(info.heartbeat_details)
        await asyncio.to_thread(self._project_and_claim, round_, claimant, progress)
        delivered = (
            await asyncio.to_thread(self._deliver, progress, claimant) if progress.claimed else []
        )
        progress.delivered.update(delivered)
        refused = {
            k: f
            for k, f in progress.failures.items()
            if k != PROJECTION_KEY and f.error_type in NON_RETRYABLE_EFFECT_ERRORS
        }
        if delivered or refused.keys() - progress.refused.keys():
            progress.refused.update(refused)
            activity.heartbeat(
                sorted(progress.delivered), [f.model_dump() for f in progress.refused.values()]
            )
        to_mark = [r.idempotency_key for r in progress.claimed]
        if to_mark:
            try:
                await asyncio.to_thread(self._notifications.mark_all, to_mark, claimant)
            except ApplicationError as exc:
                for req in progress.claimed:
                    if notice_key(req) not in progress.failures:
                        progress.fail(notice_key(req), exc)
        return _outcome(round_, progress, last=info.attempt >= round_.attempts)

    # --- step 1: one transaction, or each effect on its own if that fails -------------------

    def _project_and_claim(self, round_: EffectsRound, claimant: str, progress: _Progress) -> None:
        projection = round_.application or round_.enrollment
        now = datetime.now(UTC)
        notices = [r for r in round_.notices if notice_key(r) not in progress.refused]
        progress.failures.update(progress.refused)
        try:
            with session(self._engine) as s:
                if projection is not None and self._projection.project_in(s, projection):
                    # The row just written is what a SELECT in this transaction would read:
                    # its notices' phone facts come from it (one statement less per round).
                    progress.facts[(projection.record_kind, projection.record_id)] = mac_call_facts(
                        projection.row
                    )
                claims = [self._claim(s, req, claimant, now, progress) for req in notices]
                progress.claimed = [r for r, won in zip(notices, claims, strict=True) if won]
                for req in progress.claimed:
                    self._read_facts(s, req, progress)
                s.commit()
            return
        except SQLAlchemyError:
            # Which effect the database refused (or whether it is down) is told by trying each
            # on its own: rare, and it keeps one poison value from failing the others.
            progress.failures = dict(progress.refused)
            progress.claimed.clear()
            progress.facts.clear()
        self._one_by_one(notices, projection, claimant, now, progress)

    def _claim(
        self,
        s: Any,
        req: NotificationRequest,
        claimant: str,
        now: datetime,
        progress: _Progress,
    ) -> bool:
        try:
            return self._notifications.claim_in(s, req, claimant, now)
        except ApplicationError as exc:  # held by another attempt: this notice waits
            progress.fail(notice_key(req), exc)
            return False

    def _read_facts(self, s: Any, req: NotificationRequest, progress: _Progress) -> None:
        record = (req.record_kind, req.record_id)
        if record not in progress.facts:
            progress.facts[record] = self._notifications.facts_in(s, req)

    def _one_by_one(
        self,
        notices: list[NotificationRequest],
        projection: ApplicationProjection | EnrollmentProjection | None,
        claimant: str,
        now: datetime,
        progress: _Progress,
    ) -> None:
        if projection is not None:
            try:
                self._projection.project(projection)
            except ApplicationError as exc:
                progress.fail(PROJECTION_KEY, exc)
        for req in notices:
            what = f"notice {req.notice.key}"
            try:
                with read_model_errors(what), session(self._engine) as s:
                    won = self._notifications.claim_in(s, req, claimant, now)
                    if won:
                        self._read_facts(s, req, progress)
                    s.commit()
            except ApplicationError as exc:
                progress.fail(notice_key(req), exc)
                continue
            if won:
                progress.claimed.append(req)

    # --- step 2: deliveries, outside any transaction -----------------------------------------

    def _deliver(self, progress: _Progress, claimant: str) -> list[str]:
        """Deliver each claimed notice not delivered by an earlier attempt; the keys delivered.
        A notice whose channel fails is put back by `send` and left out of the marking."""
        delivered: list[str] = []
        kept: list[NotificationRequest] = []
        for req in progress.claimed:
            key = req.idempotency_key
            if key in progress.delivered:
                kept.append(req)
                continue
            recipients = self._notifications.recipients(req)
            facts = progress.facts.get((req.record_kind, req.record_id))
            delivery = self._notifications.delivery(req, recipients, facts)
            try:
                self._notifications.send(delivery, claimant, f"notice {req.notice.key}")
            except ApplicationError as exc:
                progress.fail(notice_key(req), exc)
                continue
            delivered.append(key)
            kept.append(req)
        progress.claimed = kept
        return delivered


def _progress_before(details: Sequence[Any]) -> _Progress:
    """What earlier attempts of this round recorded in their heartbeat: the notices delivered
    and those refused for good."""
    progress = _Progress()
    if len(details) >= 2 and isinstance(details[0], list) and isinstance(details[1], list):
        progress.delivered = {str(k) for k in details[0]}
        for f in details[1]:
            failure = EffectFailure.model_validate(f)
            progress.refused[failure.key] = failure
    return progress


def _outcome(round_: EffectsRound, progress: _Progress, *, last: bool) -> EffectsOutcome:
    """The round's answer; before the last attempt, a passing failure fails the attempt (the
    round's quick retry) instead."""
    passing = [
        f for f in progress.failures.values() if f.error_type not in NON_RETRYABLE_EFFECT_ERRORS
    ]
    if passing and not last:
        first = passing[0]
        raise ApplicationError(
            f"{len(passing)} side effect(s) of the round failed, first: {first.message}",
            type=first.error_type,
        )
    return EffectsOutcome(
        failures=list(progress.failures.values()),
        # By this attempt or an earlier one of the round (its heartbeat).
        delivered=[
            r.notice.key
            for r in round_.notices
            if r.idempotency_key in progress.delivered and notice_key(r) not in progress.failures
        ],
    )
