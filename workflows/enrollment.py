"""EnrollmentWorkflow: one Medicare enrollment, for as long as the provider bills Medicare.

It owns every clock that can cost the provider money (revalidation, stays, change reporting,
non-billing, rebuttal, the re-enrollment bar) as durable timers, over the pure domain in
models/enrollment.py. Each revalidation cycle ends in continue-as-new carrying only what the
next cycle needs, so decades of cycles keep every run's history small; the server's
continue-as-new suggestion is honoured too.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.effects import (
    EFFECT_RETRY,
    EFFECT_TIMEOUT,
    notifications,
    refusal,
    wait_for_change_or,
)

with workflow.unsafe.imports_passed_through():
    from models.application import ApplicationCreate, application_workflow_id
    from models.contracts import PROJECT_ENROLLMENT, ApplicationProgress, OpenApplication
    from models.enrollment import (
        EnrollmentEventRequest,
        EnrollmentStart,
        EnrollmentState,
        EnrollmentStatus,
        ReenrollmentBar,
        apply_event,
        check_event,
        fire_due_clocks,
        new_enrollment,
        next_cycle_state,
        progress_event,
        reenrollment_bar,
    )
    from models.forms import Purpose, revalidates
    from models.notices import Notice
    from models.read_model import enrollment_projection
    from models.records import EventRefused
    from workflows.search_attributes import enrollment_attributes


@workflow.defn(name="EnrollmentWorkflow")
class EnrollmentWorkflow:
    @workflow.init
    def __init__(self, start: EnrollmentStart) -> None:
        self._state: EnrollmentState = new_enrollment(start, workflow.now())
        self._lock = asyncio.Lock()
        self._changed = False
        self._visible: list[object] | None = None

    @workflow.run
    async def run(self, start: EnrollmentStart) -> EnrollmentState:
        async with self._lock:
            await self._effects([])
        while True:
            async with self._lock:
                settled = fire_due_clocks(self._state, workflow.now())
                if settled.notices or settled.state.seq != self._state.seq:
                    self._state = settled.state
                    await self._effects(settled.notices)
            if self._state.is_final and not self._state.clocks:
                break
            if self._state.cycle_completed or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(next_cycle_state(self._state))
            wake = self._state.next_wake()
            if wake is not None and wake <= workflow.now():
                continue
            self._changed = False
            await wait_for_change_or(wake, lambda: self._changed, self._timer_summary())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @workflow.query
    def state(self) -> EnrollmentState:
        return self._state

    @workflow.query
    def reenrollment_bar(self) -> ReenrollmentBar | None:
        return reenrollment_bar(self._state)

    @workflow.update
    async def record_event(self, request: EnrollmentEventRequest) -> EnrollmentState:
        async with self._lock:
            now = workflow.now()
            try:
                check_event(self._state, request, now)
            except EventRefused as exc:
                raise refusal(exc) from None
            outcome = apply_event(self._state, request, now)
            self._state = outcome.state
            self._changed = True
            await self._effects(outcome.notices)
            return self._state

    @workflow.update
    async def open_application(self, request: OpenApplication) -> str:
        """Start this enrollment's revalidation or reactivation application as a child workflow
        and return its application id. Idempotent per cycle: asking twice returns the same one.
        The child is abandoned, not terminated, when this run continues as new: it reports its
        filing and approval back with a signal (ApplicationWorkflow._tell_enrollment)."""
        state = self._state
        purpose = Purpose(request.purpose)
        application_id = f"{state.enrollment_id}-{purpose.value}-{state.cycle}"
        create = ApplicationCreate(
            application_id=application_id,
            organization_id=state.organization_id,
            form=state.form,
            purpose=purpose,
            time_zone=state.time_zone,
            details={
                "npi": state.npi,
                "state": state.state,
                "provider_type": state.provider_type,
                "enrollment_id": state.enrollment_id,
                "existing_ptan": state.ptan,
                "revalidation_due_date": state.revalidation_due_date
                if purpose == Purpose.REVALIDATION
                else None,
            },
            actor=request.actor,
            role=request.role,
            reason=request.reason,
        )
        try:
            await workflow.start_child_workflow(
                "ApplicationWorkflow",
                create,
                id=application_workflow_id(application_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # opened before in this cycle: the same application
        return application_id

    @open_application.validator
    def validate_open_application(self, request: OpenApplication) -> None:
        state = self._state
        if request.purpose == "revalidation":
            if not revalidates(state.form):
                raise ApplicationError(
                    f"A {state.form} enrollment does not revalidate (42 CFR 424.515).",
                    type="IllegalTransition",
                )
            if state.status not in (EnrollmentStatus.ACTIVE, EnrollmentStatus.STAYED):
                raise ApplicationError(
                    f"A revalidation is opened while the enrollment is active or stayed; it is "
                    f"'{state.status.value}'.",
                    type="IllegalTransition",
                )
        elif state.status != EnrollmentStatus.DEACTIVATED:
            raise ApplicationError(
                f"A reactivation is opened for a deactivated enrollment; it is "
                f"'{state.status.value}'.",
                type="IllegalTransition",
            )

    @workflow.signal
    async def application_progress(self, progress: ApplicationProgress) -> None:
        """A linked revalidation or reactivation application was filed or approved. A signal
        cannot be refused to its sender, so a progress the lifecycle does not allow is logged
        and left in history for the team to resolve with an event of their own."""
        request = progress_event(progress)
        async with self._lock:
            now = workflow.now()
            try:
                check_event(self._state, request, now)
            except EventRefused as exc:
                workflow.logger.warning(
                    "application progress not applied",
                    extra={"application_id": progress.application_id, "reason": exc.message},
                )
                return
            outcome = apply_event(self._state, request, now)
            self._state = outcome.state
            self._changed = True
            await self._effects(outcome.notices)

    @record_event.validator
    def validate_event(self, request: EnrollmentEventRequest) -> None:
        try:
            check_event(self._state, request, workflow.now())
        except EventRefused as exc:
            raise refusal(exc) from None

    def _timer_summary(self) -> str:
        # Stored unencrypted: clock ids and dates only.
        soonest = min(self._state.clocks, key=lambda c: c.fires_at, default=None)
        if soonest is None:
            return "waiting for the next event"
        return f"{soonest.clock_id} due {soonest.last_day.isoformat()}"

    async def _effects(self, notices: list[Notice]) -> None:
        updates = enrollment_attributes(self._state)
        values = [u.value for u in updates]
        if values != self._visible:  # search attributes: non-sensitive keys only
            workflow.upsert_search_attributes(updates)
            self._visible = values
        state = self._state
        tasks = notifications(
            notices,
            workflow_id=state.workflow_id,
            record_kind="enrollment",
            record_id=state.enrollment_id,
            organization_id=state.organization_id,
            npi=state.npi,
        )
        tasks.append(
            workflow.execute_activity(
                PROJECT_ENROLLMENT,
                enrollment_projection(state),
                start_to_close_timeout=EFFECT_TIMEOUT,
                retry_policy=EFFECT_RETRY,
                summary="read model",
            )
        )
        await asyncio.gather(*tasks)
