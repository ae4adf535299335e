"""What the application and the enrollment workflows share: a pure reducer driven by updates
and durable timers, with the side effects around it worked outside the update path.

An update is validated (before anything enters history), applied, and answered; its side
effects go on the record's EffectQueue (workflows/effects.py), which a drain task works
alongside the run loop. The run loop only settles clocks and sleeps until the next one, so a
regulatory consequence never waits for a database, and a failing side effect becomes an
incident instead of failing or rewinding a record that must live for decades.

Workflows that began before the queue (no `effects-queue` marker in their history) keep the
inline behaviour they were recorded with (workflows/legacy_effects.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

from workflows.effects import (
    ATTEMPT_TIMEOUT,
    CHECKS,
    PROJECTION,
    ROUND,
    ROUND_PATCH,
    ROUND_RETRY,
    ROUND_TIMEOUT,
    EffectQueue,
    Link,
    Round,
    execute_round,
    notice_key,
    refusal,
    wait_for_change_or,
)

with workflow.unsafe.imports_passed_through():
    from models.calendar import Clock
    from models.contracts import (
        RECORD_NOTIFICATION,
        CarriedEffects,
        Incident,
        NotificationRequest,
        RecordKind,
    )
    from models.notices import Notice
    from models.records import EventRefused, OperatorEvent, Outcome
    from workflows.search_attributes import OPEN_INCIDENTS

from workflows import legacy_effects
from workflows.patches import taken
from workflows.requests import RecentRequests

EFFECTS_PATCH = "effects-queue"
KEY_REUSED = "IdempotencyKeyReused"


def _update_id() -> str | None:
    info = workflow.current_update_info()
    return info.id if info is not None else None


class RecordState(Protocol):
    clocks: list[Clock]
    side_effects_pending: int
    incidents: list[Incident]

    def next_wake(self) -> datetime | None: ...

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


StateT = TypeVar("StateT", bound=RecordState)


class RecordWorkflow(Generic[StateT]):
    """Base of ApplicationWorkflow and EnrollmentWorkflow. Not a workflow itself (Temporal wants
    @workflow.run and the handlers on the workflow class): the subclasses declare their run,
    update, query and signal methods with their own payload types and delegate here."""

    record_kind: ClassVar[RecordKind]
    _state: StateT

    # --- hooks -------------------------------------------------------------------------------

    def _fire_due(self, now: datetime) -> Outcome[StateT]:
        raise NotImplementedError

    def _check(self, request: OperatorEvent, now: datetime) -> None:
        raise NotImplementedError

    def _apply(self, request: OperatorEvent, now: datetime) -> Outcome[StateT]:
        raise NotImplementedError

    def _attributes(self) -> list[SearchAttributeUpdate[Any]] | None:
        """The record's search attributes (None: the record publishes none)."""
        raise NotImplementedError

    def _projection(self) -> tuple[str, BaseModel]:
        """The projection activity's name and its payload for the current state."""
        raise NotImplementedError

    def _notification(self, notice: Notice) -> NotificationRequest:
        raise NotImplementedError

    def _finished(self) -> bool:
        """Nothing more can happen to the record: the run completes."""
        raise NotImplementedError

    def _continues_as_new(self) -> bool:
        """Whether this run should hand over to a new one (continue-as-new) now."""
        return False

    def _handover_at(self) -> datetime | None:
        """When this run must hand over whatever happens (before a server's run timeout)."""
        return None

    def _next_run(self) -> BaseModel:
        """The input of the next run (called once `_continues_as_new` says so)."""
        raise NotImplementedError

    def _links(self, before: StateT, request: OperatorEvent) -> list[tuple[str, Link]]:
        """Links to other records an event calls for (e.g. an approval starts an enrollment)."""
        return []

    async def _run_checks(self) -> None:
        """Run the record's data checks and keep their findings (records that have checks)."""

    def _timer_summary(self) -> str:
        # Shown in the Web UI and stored unencrypted: clock ids and dates only, never PII.
        soonest = min(self._state.clocks, key=lambda c: c.fires_at, default=None)
        if soonest is None:
            return "waiting for the next event"
        return f"{soonest.clock_id} due {soonest.last_day.isoformat()}"

    # --- set-up ------------------------------------------------------------------------------

    def _start(
        self,
        state: StateT,
        carried: CarriedEffects | None = None,
        requests: dict[str, str] | None = None,
        *,
        generation: int,
    ) -> None:
        self._generation = generation
        self._state = state
        self._requests = RecentRequests(requests)
        self._lock = asyncio.Lock()  # only the inline (legacy) effects await under it
        self._changed = False
        self._visible: list[object] | None = None
        self._queued = self._patched(EFFECTS_PATCH)
        self._effects = EffectQueue(carried)
        self._closing = False  # the record is done: drain what is owed, then stop
        self._handing_over = False  # continuing as new: start no new round

    def _patched(self, patch_id: str) -> bool:
        """Whether this run takes the patch (workflows/patches.py: at once for one its
        generation lists, else through workflow.patched and its marker)."""
        return taken(patch_id, self._generation)

    def _view(self) -> StateT:
        """The state as queries and updates answer it: with its side effects' progress."""
        pending, incidents = self._effects.pending, self._effects.incidents
        if not pending and not incidents:
            return self._state
        copy: StateT = self._state.model_copy(
            update={"side_effects_pending": pending, "incidents": list(incidents.values())}
        )
        return copy

    # --- the run loop ------------------------------------------------------------------------

    async def _run_record(self, *, checks: bool = False) -> StateT:
        drain = asyncio.create_task(self._drain()) if self._queued else None
        async with self._lock:
            await self._after_change([], checks=checks)
        while True:
            async with self._lock:
                settled = self._fire_due(workflow.now())
                if settled.state is not self._state:
                    self._state = settled.state
                    await self._after_change(settled.notices)
            if self._finished():
                break
            if self._continues_as_new():
                # Hand over to the next run with no side effect half done: a round in flight
                # finishes (each is bounded), what is still queued travels with the input.
                self._handing_over = True
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() and self._effects.idle
                )
                workflow.continue_as_new(self._next_run())
            wake = self._state.next_wake()
            handover = self._handover_at()
            if (
                handover is not None
                and (wake is None or handover < wake)
                and self._patched("run-timeout-handover")
            ):
                wake = handover  # wake up to hand over before the run times out
            if wake is not None and wake <= workflow.now():
                continue
            self._changed = False
            await wait_for_change_or(wake, lambda: self._changed, self._timer_summary())
        await workflow.wait_condition(workflow.all_handlers_finished)
        if drain is not None:
            # The record is done; what it owes the world is not: finish it first.
            self._closing = True
            await drain
        return self._state

    async def _record_event(self, request: OperatorEvent, *, checks: bool = False) -> StateT:
        """The update path: refuse, apply, queue the side effects, answer. A retry of an event
        an earlier run applied (its update id remembered) is answered, not applied again."""
        update_id = _update_id()
        if update_id in self._requests:
            return self._view()
        async with self._lock:
            now = workflow.now()
            self._refuse_reused_key(update_id)
            try:
                # Re-checked: a clock may have fired since the validator ran.
                self._check(request, now)
            except EventRefused as exc:
                raise refusal(exc) from None
            before = self._state
            outcome = self._apply(request, now)
            self._state = outcome.state
            self._changed = True
            if update_id is not None:
                self._requests.remember(update_id, now.date())
            await self._after_change(outcome.notices, checks=checks)
            self._hand_over_if_due()
            for key, link in self._links(before, request):
                if self._queued:
                    self._effects.queue_link(key, link)
                else:
                    await link()
            return self._view()

    async def _record_reported(self, request: OperatorEvent) -> None:
        """An event another workflow reports by signal, which cannot be refused to its sender:
        one the lifecycle does not allow is logged and left in history for the team."""
        async with self._lock:
            now = workflow.now()
            try:
                self._check(request, now)
            except EventRefused as exc:
                workflow.logger.warning(
                    "reported event not applied", extra={"event": request.event, "reason": exc.code}
                )
                return
            outcome = self._apply(request, now)
            self._state = outcome.state
            self._changed = True
            await self._after_change(outcome.notices)
            self._hand_over_if_due()

    def _hand_over_if_due(self) -> None:
        """An event that ends the run (a completed cycle) starts no round of its own: its side
        effects travel to the next run, which the run loop starts in this same workflow task. A
        round started now would keep the run open between the answer and the hand-over, where
        the Java test server loses queries and with them its time skipping."""
        if self._queued and self._continues_as_new():
            self._handing_over = True

    def _validate_event(self, request: OperatorEvent) -> None:
        update_id = _update_id()
        if update_id in self._requests:
            return  # a retry of an event already applied: answered with the record as it is
        self._refuse_reused_key(update_id)
        try:
            self._check(request, workflow.now())
        except EventRefused as exc:
            raise refusal(exc) from None

    def _refuse_reused_key(self, update_id: str | None) -> None:
        if update_id is not None and self._requests.reuses_key(update_id):
            raise ApplicationError(
                "This Idempotency-Key was already used for another request on this record.",
                {"field": "Idempotency-Key"},
                type=KEY_REUSED,
                non_retryable=True,
            )

    def _retry_side_effects(self) -> int:
        count = self._effects.retry_now(workflow.now())
        self._changed = True
        return count

    # --- side effects ------------------------------------------------------------------------

    async def _after_change(self, notices: list[Notice], *, checks: bool = False) -> None:
        """What follows every change of state: visibility, then the side effects (queued; inline
        for a workflow that began before the queue)."""
        self._publish_visibility()
        if self._queued:
            self._effects.queue_notices(notices)
            self._effects.queue_projection()
            if checks:
                self._effects.queue_checks()
            return
        if checks:
            await self._run_checks()
        await legacy_effects.run_inline(
            [self._notification(n) for n in notices], projection=self._projection()
        )

    def _publish_visibility(self) -> None:
        # Search attributes bypass the codec: only the non-sensitive keys of
        # workflows/search_attributes.py go there.
        updates = self._attributes()
        if updates is None:
            return
        if self._queued:
            updates.append(OPEN_INCIDENTS.value_set(len(self._effects.incidents)))
        values = [u.value for u in updates]
        if values != self._visible:
            workflow.upsert_search_attributes(updates)
            self._visible = values

    async def _drain(self) -> None:
        """Work the effect queue until the record is done and owes nothing more."""

        def workable() -> bool:
            return not self._handing_over and self._effects.due(workflow.now())

        def finished() -> bool:
            return self._closing and self._effects.settled

        while True:
            if workable():
                await self._run_round(self._effects.take(workflow.now()))
                continue
            if finished():
                return
            retry = None if self._handing_over else self._effects.next_retry()
            await wait_for_change_or(
                retry, lambda: workable() or finished(), "side effects: next retry"
            )

    async def _run_round(self, round_: Round) -> None:
        jobs: list[tuple[str, str, Any]] = []
        together = (round_.notices or round_.project) and self._patched(ROUND_PATCH)
        if together:
            # One activity for the projection and the notices (activities/effects.py): it
            # answers which of them failed, each its own incident.
            jobs.append((ROUND, "", self._execute_together(round_)))
        else:
            jobs += [
                (
                    notice_key(n),
                    f"notice {n.key}",
                    self._execute(RECORD_NOTIFICATION, self._notification(n), f"notice {n.key}"),
                )
                for n in round_.notices
            ]
        if round_.project and not together:
            activity, payload = self._projection()
            jobs.append((PROJECTION, "read model", self._execute(activity, payload, "read model")))
        if round_.checks:
            jobs.append((CHECKS, "pre-submission checks", self._run_checks()))
        jobs += [(key, "link to another record", link()) for key, link in round_.links]
        results = await asyncio.gather(*(job for _, _, job in jobs), return_exceptions=True)
        now = workflow.now()
        for (key, effect, _), result in zip(jobs, results, strict=True):
            if key == ROUND:
                self._settle_together(round_, result, now)
            elif isinstance(result, BaseException):
                self._log_failure(self._effects.failed(key, effect, result, now))
            else:
                self._effects.done(key)
        self._publish_visibility()

    def _execute_together(self, round_: Round) -> Any:
        _, projection = self._projection() if round_.project else (None, None)
        notices = [self._notification(n) for n in round_.notices]
        return execute_round(round_, self.record_kind, projection, notices)

    def _settle_together(self, round_: Round, result: Any, now: datetime) -> None:
        for incident in self._effects.settle_round(round_, result, now):
            self._log_failure(incident)

    @staticmethod
    def _log_failure(incident: Incident) -> None:
        workflow.logger.warning(
            "side effect failed",
            extra={
                "effect": incident.effect,
                "error_type": incident.error_type,
                "rounds": incident.rounds,
                "next_retry_at": incident.next_retry_at,
            },
        )

    @staticmethod
    def _execute(activity: str, arg: BaseModel, summary: str) -> Any:
        return workflow.execute_activity(
            activity,
            arg,
            schedule_to_close_timeout=ROUND_TIMEOUT,
            start_to_close_timeout=ATTEMPT_TIMEOUT,
            retry_policy=ROUND_RETRY,
            summary=summary,
        )

    def _execute_checks(self, activity: str, arg: BaseModel, result_type: Any) -> Any:
        """The checks activity: queued rounds, or the recorded inline shape for legacy runs."""
        if not self._queued:
            return legacy_effects.execute(activity, arg, "pre-submission checks", result_type)
        return workflow.execute_activity(
            activity,
            arg,
            result_type=result_type,
            schedule_to_close_timeout=ROUND_TIMEOUT,
            start_to_close_timeout=ATTEMPT_TIMEOUT,
            retry_policy=ROUND_RETRY,
            summary="pre-submission checks",
        )
