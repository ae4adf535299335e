"""EnrollmentWorkflow: one Medicare enrollment, for as long as the provider bills Medicare.

It owns every clock that can cost the provider money (revalidation, stays, change reporting,
non-billing, rebuttal, the re-enrollment bar) as durable timers, over the pure domain in
models/enrollment/ (shared machinery in workflows/record.py). Each revalidation cycle ends in
continue-as-new carrying only what the next cycle needs (and any side effect still owed), so
decades of cycles keep every run's history small; the server's suggestion is honoured too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.effects import Link, refusal
from workflows.patches import CURRENT_GENERATION, taken
from workflows.record import RecordWorkflow
from workflows.requests import REQUESTS_PATCH

with workflow.unsafe.imports_passed_through():
    from models.application import ApplicationCreate, application_workflow_id
    from models.contracts import (
        PROJECT_ENROLLMENT,
        ApplicationProgress,
        EnrollmentFindings,
        NotificationRequest,
        OpenApplication,
        RetryEffects,
    )
    from models.data_checks import FindingDispositionRequest, finding_notice, merge_findings
    from models.enrollment import (
        EnrollmentEventRequest,
        EnrollmentStart,
        EnrollmentState,
        EnrollmentStatus,
        ReenrollmentBar,
        apply_event,
        check_event,
        enrollment_workflow_id,
        fire_due_clocks,
        new_enrollment,
        next_cycle_state,
        progress_events,
        reenrollment_bar,
        replacement_start,
    )
    from models.enrollment.dispositions import (
        apply_enrollment_disposition,
        check_enrollment_disposition,
        with_dispositions,
    )
    from models.enrollment.events import EnrollmentIdAssigned
    from models.forms import Purpose, revalidates
    from models.notices import Notice
    from models.read_model import enrollment_projection
    from models.records import EventRefused, OperatorEvent, Outcome
    from workflows.search_attributes import enrollment_attributes


# Past this many history events a run continues as new at its next quiet moment. One step (an
# event or a clock with its side effects) adds a few dozen at most, so a run stays under 260
# (README), whatever an operator records: a claim a week is as bounded as one a year.
HISTORY_EVENTS_PER_RUN = 200
# A server may give every run a run timeout (the time-skipping server behind the sandbox gives
# 10 years; production servers give none): a run hands over this long before it, so that an
# enrollment with no cycle to complete (deactivated, waiting for reactivation) lives on.
RUN_TIMEOUT_MARGIN = timedelta(days=30)


@workflow.defn(name="EnrollmentWorkflow")
class EnrollmentWorkflow(RecordWorkflow[EnrollmentState]):
    record_kind = "enrollment"

    @workflow.init
    def __init__(self, start: EnrollmentStart) -> None:
        state = new_enrollment(start, workflow.now())
        # Added after histories were recorded (tests/workflow/test_replay.py).
        state.revocation_appeals = taken("revocation-appeals", start.generation)
        self._start(state, start.effects, start.recent_requests, generation=start.generation)

    @workflow.run
    async def run(self, start: EnrollmentStart) -> EnrollmentState:
        return await self._run_record()

    @workflow.query
    def state(self) -> EnrollmentState:
        return self._view()

    @workflow.query
    def reenrollment_bar(self) -> ReenrollmentBar | None:
        return reenrollment_bar(self._state)

    @workflow.update
    async def record_event(self, request: EnrollmentEventRequest) -> EnrollmentState:
        return await self._record_event(request)

    @record_event.validator
    def validate_event(self, request: EnrollmentEventRequest) -> None:
        self._validate_event(request)

    @workflow.update
    async def retry_side_effects(self, request: RetryEffects) -> int:
        """Re-run the failed side effects now; answers how many there were."""
        return self._retry_side_effects()

    @workflow.signal
    async def application_progress(self, progress: ApplicationProgress) -> None:
        """A linked revalidation or reactivation application was filed, approved, or not
        approved (its filing then no longer counts)."""
        for event in progress_events(self._state, progress):
            await self._record_reported(event)

    @workflow.signal
    async def record_findings(self, found: EnrollmentFindings) -> None:
        """What a run of the outward data checks found (after a reference file was reloaded,
        or the monthly run): it replaces the findings of the checks that ran; each new fact is
        told once in a notice (its key is the fact's), however often the run repeats."""
        async with self._lock:
            state = self._state
            incoming = with_dispositions(state, found.findings)
            merged, added = merge_findings(state.findings, incoming, frozenset(found.checks))
            if merged == state.findings:
                return
            self._state = state.model_copy(update={"findings": merged})
            self._changed = True
            notices = [
                finding_notice(f, f"Enrollment {state.enrollment_id}", state.status.value)
                for f in added
            ]
            await self._after_change(notices)

    @workflow.update
    async def record_finding_disposition(
        self, request: FindingDispositionRequest
    ) -> EnrollmentState:
        """An operator's decision on a suspected exclusion match (cleared or confirmed, with the
        reason): a line of the log; later runs of the checks keep it."""
        async with self._lock:
            try:
                check_enrollment_disposition(self._state, request)
            except EventRefused as exc:
                raise refusal(exc) from None
            self._state = apply_enrollment_disposition(self._state, request, workflow.now())
            self._changed = True
            await self._after_change([])
            return self._view()

    @record_finding_disposition.validator
    def validate_finding_disposition(self, request: FindingDispositionRequest) -> None:
        try:
            check_enrollment_disposition(self._state, request)
        except EventRefused as exc:
            raise refusal(exc) from None

    @workflow.update
    async def open_application(self, request: OpenApplication) -> str:
        """Start this enrollment's revalidation or reactivation application as a child workflow
        and return its application id. Idempotent per cycle: asking twice returns the same one.
        The child is abandoned, not terminated, when this run continues as new: it reports its
        filing and approval back with a signal (ApplicationWorkflow._links)."""
        state = self._state
        purpose = Purpose(request.purpose)
        application_id = f"{state.enrollment_id}-{purpose.value}-{state.cycle}"
        # A refiling after one that was not approved is a new application.
        attempts = sum(1 for a in state.applications_not_approved if a.startswith(application_id))
        if attempts:
            application_id = f"{application_id}-{attempts + 1}"
        create = ApplicationCreate(
            application_id=application_id,
            organization_id=state.organization_id,
            form=state.form,
            purpose=purpose,
            time_zone=state.time_zone,
            details={
                "legal_name": state.legal_name,
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
            generation=CURRENT_GENERATION,
        )
        try:
            # Starting a child is one server command, not a retrying activity: it answers fast.
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

    # --- hooks of RecordWorkflow -------------------------------------------------------------

    def _fire_due(self, now: datetime) -> Outcome[EnrollmentState]:
        return fire_due_clocks(self._state, now)

    def _check(self, request: OperatorEvent, now: datetime) -> None:
        check_event(self._state, request, now)

    def _apply(self, request: OperatorEvent, now: datetime) -> Outcome[EnrollmentState]:
        return apply_event(self._state, request, now)

    def _finished(self) -> bool:
        return self._state.is_closed

    def _continues_as_new(self) -> bool:
        info = workflow.info()
        # Added after histories were recorded: a run also ends past our own bound on its
        # history, mid-cycle if need be (the server's suggestion comes only near 4,000 events).
        long_run = info.get_current_history_length() >= HISTORY_EVENTS_PER_RUN and (
            self._patched("history-bound")
        )
        return (
            self._state.cycle_completed
            or info.is_continue_as_new_suggested()
            or long_run
            or self._run_timeout_near()
        )

    def _handover_at(self) -> datetime | None:
        info = workflow.info()
        # A run started by continue-as-new reports no run timeout as 0, not None: without this
        # every continued run handed over at once, again and again (a continue-as-new loop).
        if not info.run_timeout:
            return None
        return info.start_time + info.run_timeout - RUN_TIMEOUT_MARGIN

    def _run_timeout_near(self) -> bool:
        at = self._handover_at()
        # Added after histories were recorded (on the time-skipping server, with its timeout).
        return at is not None and workflow.now() >= at and self._patched("run-timeout-handover")

    def _next_run(self) -> BaseModel:
        # The next run is a new execution of today's code: it takes today's patches at once.
        following = next_cycle_state(self._state).model_copy(
            update={"generation": CURRENT_GENERATION}
        )
        if self._queued:
            following = following.model_copy(update={"effects": self._effects.carried()})
        # Added after histories were recorded: the next run knows the events this one applied,
        # so a retry that arrives after the hand-over is not applied twice (workflows/requests.py).
        if self._patched(REQUESTS_PATCH):
            following = following.model_copy(update={"recent_requests": self._requests.carried()})
        return following

    def _projection(self) -> tuple[str, BaseModel]:
        return PROJECT_ENROLLMENT, enrollment_projection(self._state)

    def _notification(self, notice: Notice) -> NotificationRequest:
        state = self._state
        return NotificationRequest(
            workflow_id=state.workflow_id,
            record_kind="enrollment",
            record_id=state.enrollment_id,
            organization_id=state.organization_id,
            npi=state.npi,
            notice=notice,
        )

    def _attributes(self) -> list[SearchAttributeUpdate[Any]] | None:
        return enrollment_attributes(self._state)

    def _links(self, before: EnrollmentState, request: OperatorEvent) -> list[tuple[str, Link]]:
        """A provisional enrollment whose PECOS enrollment ID was recorded goes on under it."""
        if not isinstance(request, EnrollmentIdAssigned):
            return []
        start = replacement_start(
            before,
            request.enrollment_id,
            request.actor,
            f"enrollment {before.enrollment_id} carried on under its PECOS enrollment ID",
        )
        return [(f"link:{self._state.seq}", lambda: self._carry_on(start))]

    async def _carry_on(self, start: EnrollmentStart) -> None:
        try:
            # Abandoned, not terminated, when this run completes: it replaces this record.
            await workflow.start_child_workflow(
                EnrollmentWorkflow.run,
                start,
                id=enrollment_workflow_id(start.enrollment_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:  # already tracked (e.g. imported meanwhile)
            workflow.logger.warning(
                "PECOS enrollment already tracked", extra={"enrollment_id": start.enrollment_id}
            )
