"""ApplicationWorkflow: one CMS-855/20134/588 application from draft to its outcome.

Thin orchestration over the pure domain in models/application.py: an update per operator event
(validated before anything enters history), a durable timer for the next clock or reminder, and
activities for the side effects (checks, notifications, the read-model projection). The workflow
completes when the application has a final outcome and no clock is left open (a denial stays
open while its reconsideration window runs).
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.effects import (
    EFFECT_RETRY,
    EFFECT_TIMEOUT,
    notifications,
    refusal,
    wait_for_change_or,
)
from workflows.enrollment import EnrollmentWorkflow

with workflow.unsafe.imports_passed_through():
    from models.application import (
        ApplicationCreate,
        ApplicationEventRequest,
        ApplicationState,
        ApplicationStatus,
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
        ApplicationProgress,
        CheckRequest,
    )
    from models.enrollment import EnrollmentStart, enrollment_workflow_id
    from models.forms import Purpose
    from models.notices import Notice
    from models.read_model import application_projection
    from workflows.search_attributes import application_attributes


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
        self._visible: list[object] | None = None

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
            await wait_for_change_or(wake, lambda: self._changed, self._timer_summary())
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
                raise refusal(exc) from None
            before = self._state.status
            outcome = apply_event(self._state, request, now)
            self._state = outcome.state
            self._changed = True
            await self._effects(outcome.notices, run_checks=isinstance(request, UpdateDraft))
            if self._state.status != before:
                await self._tell_enrollment(request.actor, request.role)
            return self._state

    @record_event.validator
    def validate_event(self, request: ApplicationEventRequest) -> None:
        try:
            check_event(self._state, request, workflow.now())
        except EventRefused as exc:
            raise refusal(exc) from None

    async def _tell_enrollment(self, actor: str, role: str | None) -> None:
        """An approved initial application starts its enrollment; a revalidation or
        reactivation application tells its enrollment when it is filed and when approved."""
        state = self._state
        enrollment_id = state.enrollment_id or state.details.enrollment_id
        if enrollment_id is None:
            return
        # Added after histories were recorded: older workflows never linked to enrollments.
        if not workflow.patched("enrollment-links"):
            return
        if state.purpose == Purpose.INITIAL and state.status == ApplicationStatus.APPROVED:
            await self._start_enrollment(enrollment_id, actor, role)
            return
        stage = {
            ApplicationStatus.SUBMITTED: "submitted",
            ApplicationStatus.APPROVED: "approved",
        }.get(state.status)
        if stage is None or state.purpose not in (Purpose.REVALIDATION, Purpose.REACTIVATION):
            return
        on = state.filing_date if stage == "submitted" else state.approval_date
        if on is None:
            return
        progress = ApplicationProgress(
            application_id=state.application_id,
            purpose=state.purpose.value,
            stage=stage,
            on=on,
            actor=actor,
            role=role,
            reason=f"{state.form} {state.purpose.value} {stage}",
        )
        try:
            await workflow.get_external_workflow_handle(
                enrollment_workflow_id(enrollment_id)
            ).signal(EnrollmentWorkflow.application_progress, progress)
        except FailureError as exc:  # an enrollment not tracked here: the application goes on
            workflow.logger.warning(
                "enrollment not signalled",
                extra={"enrollment_id": enrollment_id, "error": str(exc)},
            )

    async def _start_enrollment(self, enrollment_id: str, actor: str, role: str | None) -> None:
        state = self._state
        if not (state.details.npi and state.details.state and state.ptan and state.effective_date):
            return
        start = EnrollmentStart(
            enrollment_id=enrollment_id,
            organization_id=state.organization_id,
            npi=state.details.npi,
            ptan=state.ptan,
            form=state.form,
            provider_type=state.details.provider_type,
            state=state.details.state,
            effective_date=state.effective_date,
            time_zone=state.time_zone,
            actor=actor,
            reason=f"approved application {state.application_id}",
            source="application",
        )
        try:
            # Abandoned, not terminated, when this application completes: the enrollment lives
            # for decades after it.
            await workflow.start_child_workflow(
                EnrollmentWorkflow.run,
                start,
                id=enrollment_workflow_id(enrollment_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError as exc:  # already tracked (e.g. imported)
            workflow.logger.info(
                "enrollment not started", extra={"enrollment_id": enrollment_id, "error": str(exc)}
            )

    def _timer_summary(self) -> str:
        # Shown in the Web UI and stored unencrypted: clock ids and dates only, never PII.
        soonest = min(self._state.clocks, key=lambda c: c.fires_at, default=None)
        if soonest is None:
            return "waiting for the next event"
        return f"{soonest.clock_id} due {soonest.last_day.isoformat()}"

    def _publish_visibility(self) -> None:
        # Added after histories were recorded; search attributes bypass the codec, so only the
        # non-sensitive keys of workflows/search_attributes.py go there.
        if not workflow.patched("search-attributes"):
            return
        updates = application_attributes(self._state)
        values = [u.value for u in updates]
        if values != self._visible:
            workflow.upsert_search_attributes(updates)
            self._visible = values

    async def _effects(self, notices: list[Notice], *, run_checks: bool = False) -> None:
        self._publish_visibility()
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
        tasks = notifications(
            notices,
            workflow_id=state.workflow_id,
            record_kind="application",
            record_id=state.application_id,
            organization_id=state.organization_id,
            npi=state.details.npi,
        )
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
