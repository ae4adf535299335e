"""ApplicationWorkflow: one CMS-855/20134/588 application from draft to its outcome.

Thin orchestration over the pure domain in models/application.py: an update per operator event
(validated before anything enters history), a durable timer for the next clock or reminder, and
activities for the side effects (checks, notifications, the read-model projection). The workflow
completes when the application has a final outcome and no clock is left open (a denial stays
open while its reconsideration window runs).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.application import (
        ApplicationCreate,
        ApplicationEventRequest,
        ApplicationState,
        EventRefused,
        UpdateDraft,
        apply_event,
        check_event,
        fire_due_clocks,
        new_application,
    )
    from models.checks import Finding
    from models.contracts import (
        CHECK_APPLICATION,
        PROJECT_APPLICATION,
        RECORD_NOTIFICATION,
        CheckRequest,
        NotificationRequest,
    )
    from models.notices import Notice
    from models.read_model import application_projection

# Side effects must eventually happen; a database outage delays them, it does not lose them.
EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["InvalidData"],
)
EFFECT_TIMEOUT = timedelta(seconds=30)


def _refusal(exc: EventRefused) -> ApplicationError:
    return ApplicationError(exc.message, exc.details(), type=exc.code, non_retryable=True)


@workflow.defn(name="ApplicationWorkflow")
class ApplicationWorkflow:
    @workflow.init
    def __init__(self, create: ApplicationCreate) -> None:
        self._state: ApplicationState = new_application(create, workflow.now())
        # Added after histories were recorded: an engine consequence (rejection, denial, closed
        # reconsideration window) now opens a late-recording grace timer. Workflows that began
        # without it keep their recorded behaviour (tests/workflow/test_replay.py).
        self._state.late_recording_grace = workflow.patched("late-recording-grace")
        # Handlers await activities; the lock keeps an event and a firing clock from interleaving.
        self._lock = asyncio.Lock()
        self._changed = False

    @workflow.run
    async def run(self, create: ApplicationCreate) -> ApplicationState:
        async with self._lock:
            await self._effects([], run_checks=True)
        while True:
            async with self._lock:
                settled = fire_due_clocks(self._state, workflow.now())
                if settled.notices:
                    self._state = settled.state
                    await self._effects(settled.notices)
            if self._state.is_closed:
                break
            wake = self._state.next_wake()
            if wake is not None and wake <= workflow.now():
                continue
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed,
                    timeout=None if wake is None else wake - workflow.now(),
                    timeout_summary=self._timer_summary(),
                )
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @workflow.query
    def state(self) -> ApplicationState:
        return self._state

    @workflow.update
    async def record_event(self, request: ApplicationEventRequest) -> ApplicationState:
        async with self._lock:
            now = workflow.now()
            try:
                # Re-checked under the lock: a clock may have fired since the validator ran.
                check_event(self._state, request, now)
            except EventRefused as exc:
                raise _refusal(exc) from None
            outcome = apply_event(self._state, request, now)
            self._state = outcome.state
            self._changed = True
            await self._effects(outcome.notices, run_checks=isinstance(request, UpdateDraft))
            return self._state

    @record_event.validator
    def validate_event(self, request: ApplicationEventRequest) -> None:
        try:
            check_event(self._state, request, workflow.now())
        except EventRefused as exc:
            raise _refusal(exc) from None

    def _timer_summary(self) -> str:
        # Shown in the Web UI and stored unencrypted: clock ids and dates only, never PII.
        soonest = min(self._state.clocks, key=lambda c: c.fires_at, default=None)
        if soonest is None:
            return "waiting for the next event"
        return f"{soonest.clock_id} due {soonest.last_day.isoformat()}"

    async def _effects(self, notices: list[Notice], *, run_checks: bool = False) -> None:
        state = self._state
        if run_checks:
            findings = await workflow.execute_activity(
                CHECK_APPLICATION,
                CheckRequest(
                    workflow_id=state.workflow_id,
                    facts=state.details.facts(state.form, state.purpose),
                    as_of=state.today(workflow.now()),
                ),
                result_type=list[Finding],
                start_to_close_timeout=EFFECT_TIMEOUT,
                retry_policy=EFFECT_RETRY,
                summary="pre-submission checks",
            )
            self._state.findings = findings
        tasks = [
            workflow.execute_activity(
                RECORD_NOTIFICATION,
                NotificationRequest(
                    workflow_id=state.workflow_id,
                    record_kind="application",
                    record_id=state.application_id,
                    organization_id=state.organization_id,
                    npi=state.details.npi,
                    notice=notice,
                ),
                result_type=bool,
                start_to_close_timeout=EFFECT_TIMEOUT,
                retry_policy=EFFECT_RETRY,
                summary=f"notice {notice.key}",
            )
            for notice in notices
        ]
        tasks.append(
            workflow.execute_activity(
                PROJECT_APPLICATION,
                application_projection(self._state),
                start_to_close_timeout=EFFECT_TIMEOUT,
                retry_policy=EFFECT_RETRY,
                summary="read model",
            )
        )
        await asyncio.gather(*tasks)
