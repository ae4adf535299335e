"""ApplicationWorkflow: one CMS-855/20134/588 application from draft to its outcome.

Thin orchestration over the pure domain in models/application/ (shared machinery in
workflows/record.py): an update per operator event, validated before anything enters history;
a durable timer for the next clock or reminder; side effects (checks, notifications, the
read-model projection, the link to the enrollment) queued outside the update path. The workflow
completes when the application has a final outcome, no clock is left open (a denial stays open
while its reconsideration window runs) and its side effects are done.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.effects import Link, refusal
from workflows.patches import CURRENT_GENERATION, taken
from workflows.record import RecordWorkflow

with workflow.unsafe.imports_passed_through():
    from models.application import (
        ApplicationCreate,
        ApplicationEventRequest,
        ApplicationState,
        ApplicationStatus,
        UpdateDraft,
        apply_event,
        check_event,
        fire_due_clocks,
        new_application,
        reopened_application,
    )
    from models.application.dispositions import (
        FindingDispositionRequest,
        apply_disposition,
        check_disposition,
    )
    from models.checks import Finding
    from models.contracts import (
        CHECK_APPLICATION,
        PROJECT_APPLICATION,
        ApplicationProgress,
        CheckRequest,
        NotificationRequest,
        ProgressStage,
        RetryEffects,
    )
    from models.created import CREATE_REQUEST, ApplicationCreated
    from models.data_checks import NOTIFIED_FINDINGS, finding_notice
    from models.enrollment import EnrollmentStart, enrollment_workflow_id
    from models.forms import Purpose
    from models.notices import Notice
    from models.read_model import application_projection
    from models.records import EventRefused, OperatorEvent, Outcome
    from workflows.search_attributes import application_attributes


@workflow.defn(name="ApplicationWorkflow")
class ApplicationWorkflow(RecordWorkflow[ApplicationState]):
    record_kind = "application"

    @workflow.init
    def __init__(self, create: ApplicationCreate) -> None:
        if create.reopen is not None:
            # An admin's audited correction of a closed application: it goes on from its last
            # state (which kept its own late-recording setting).
            self._start(
                reopened_application(create, workflow.now()),
                requests=create.reopen.recent_requests,
                generation=create.generation,
            )
            return
        state = new_application(create, workflow.now())
        # Added after histories were recorded: an engine consequence (rejection, denial, closed
        # reconsideration window) now opens a late-recording grace timer. Workflows that began
        # without it keep their recorded behaviour (tests/workflow/test_replay.py).
        state.late_recording_grace = taken("late-recording-grace", create.generation)
        self._start(state, generation=create.generation)

    @workflow.run
    async def run(self, create: ApplicationCreate) -> ApplicationState:
        return await self._run_record(checks=True)

    @workflow.query
    def state(self) -> ApplicationState:
        return self._view()

    @workflow.query
    def recent_requests(self) -> dict[str, str]:
        """The update ids this run applied or was handed, with their day: a run reopened for a
        correction takes them over from the closed one (a query, so nothing enters history)."""
        return self._requests.carried()

    @workflow.update
    async def record_event(self, request: ApplicationEventRequest) -> ApplicationState:
        return await self._record_event(request, checks=isinstance(request, UpdateDraft))

    @record_event.validator
    def validate_event(self, request: ApplicationEventRequest) -> None:
        self._validate_event(request)

    @workflow.update
    async def record_finding_disposition(
        self, request: FindingDispositionRequest
    ) -> ApplicationState:
        """An operator's decision on a suspected exclusion match (cleared or confirmed, with
        the reason): a line of the log, and the checks run again with it."""
        async with self._lock:
            try:
                check_disposition(self._state, request)
            except EventRefused as exc:
                raise refusal(exc) from None
            self._state = apply_disposition(self._state, request, workflow.now())
            self._changed = True
            await self._after_change([], checks=True)
            return self._view()

    @record_finding_disposition.validator
    def validate_finding_disposition(self, request: FindingDispositionRequest) -> None:
        try:
            check_disposition(self._state, request)
        except EventRefused as exc:
            raise refusal(exc) from None

    @workflow.signal
    async def recheck(self) -> None:
        """Run the data checks again (a reference file was reloaded, or the monthly run): an
        exclusion listed since, or a credential now close to its expiry, is found and told."""
        if self._queued and not self._state.is_final:
            self._effects.queue_checks()
            self._changed = True

    @workflow.update
    def created(self) -> ApplicationCreated:
        """The answer to a create that came with the start (update-with-start): one round trip
        instead of a start and a query. `started`: the start that carried this update's id in
        its memo started this run; a later create of the same id is told apart (200 or 409)."""
        info = workflow.current_update_info()
        carried = workflow.memo_value(CREATE_REQUEST, None, type_hint=str)
        started = info is not None and carried is not None and info.id == carried
        return ApplicationCreated(state=self._view(), started=started)

    @workflow.update
    async def retry_side_effects(self, request: RetryEffects) -> int:
        """Re-run the failed side effects now; answers how many there were."""
        return self._retry_side_effects()

    # --- hooks of RecordWorkflow -------------------------------------------------------------

    def _fire_due(self, now: datetime) -> Outcome[ApplicationState]:
        return fire_due_clocks(self._state, now)

    def _check(self, request: OperatorEvent, now: datetime) -> None:
        check_event(self._state, request, now)

    def _apply(self, request: OperatorEvent, now: datetime) -> Outcome[ApplicationState]:
        return apply_event(self._state, request, now)

    def _finished(self) -> bool:
        return self._state.is_closed

    def _projection(self) -> tuple[str, BaseModel]:
        return PROJECT_APPLICATION, application_projection(self._state)

    def _notification(self, notice: Notice) -> NotificationRequest:
        state = self._state
        return NotificationRequest(
            workflow_id=state.workflow_id,
            record_kind="application",
            record_id=state.application_id,
            organization_id=state.organization_id,
            npi=state.details.npi,
            notice=notice,
        )

    def _attributes(self) -> list[SearchAttributeUpdate[Any]] | None:
        # Added after histories were recorded; search attributes bypass the codec, so only the
        # non-sensitive keys of workflows/search_attributes.py go there.
        if not self._patched("search-attributes"):
            return None
        return application_attributes(self._state)

    async def _run_checks(self) -> None:
        state = self._state
        facts = state.facts()
        findings: list[Finding] = await self._execute_checks(
            CHECK_APPLICATION,
            CheckRequest(
                workflow_id=state.workflow_id,
                facts=facts,
                as_of=state.today(workflow.now()),
                dispositions=tuple(state.dispositions),
            ),
            list[Finding],
        )
        # Checked facts that changed meanwhile are checked again by the next round.
        if self._state.facts() == facts:
            self._state.findings = findings
            told = set(self._state.findings_told)
            news = [f for f in findings if f.code in NOTIFIED_FINDINGS and f.fact not in told]
            # Added after histories were recorded: a new exclusion match or an expiring
            # credential is told once (the notice key is the fact's digest).
            if news and self._queued and self._patched("finding-notices"):
                self._effects.queue_notices(
                    [
                        finding_notice(f, f"Application {state.application_id}", state.status)
                        for f in news
                    ]
                )
                self._state.findings_told = [*self._state.findings_told, *(f.fact for f in news)]
                self._changed = True

    def _links(self, before: ApplicationState, request: OperatorEvent) -> list[tuple[str, Link]]:
        """An approved initial application starts its enrollment (under a provisional id when
        the approval gave none); a revalidation or reactivation application tells its
        enrollment when it is filed, approved, or not approved."""
        state = self._state
        if state.status == before.status:
            return []
        enrollment_id = state.enrollment_id or state.details.enrollment_id
        if enrollment_id is None:
            return []
        # Added after histories were recorded: older workflows never linked to enrollments.
        if not self._patched("enrollment-links"):
            return []
        actor, role = request.actor, request.role
        key = f"link:{len(state.events)}"
        if state.purpose == Purpose.INITIAL and state.status == ApplicationStatus.APPROVED:
            # Added after histories were recorded: an approval without an enrollment ID
            # started nothing.
            if state.enrollment_id_provisional and not self._patched("provisional-enrollment"):
                return []
            return [(key, lambda: self._start_enrollment(enrollment_id, actor, role))]
        if state.purpose not in (Purpose.REVALIDATION, Purpose.REACTIVATION):
            return []
        stage, on = self._progress_stage(before)
        if stage is None or on is None:
            return []
        progress = ApplicationProgress(
            application_id=state.application_id,
            purpose=state.purpose.value,
            stage=stage,
            on=on,
            filed_on=state.filing_date,
            actor=actor,
            role=role,
            reason=f"{state.form} {state.purpose.value} {stage}",
        )
        return [(key, lambda: self._tell_enrollment(enrollment_id, progress))]

    def _progress_stage(self, before: ApplicationState) -> tuple[ProgressStage | None, date | None]:
        """What a status change of a revalidation or reactivation tells its enrollment, and
        the date it counts from: (None, None) when it tells nothing."""
        state = self._state
        _A = ApplicationStatus
        if state.status == _A.SUBMITTED:
            return "submitted", state.filing_date
        if state.status == _A.APPROVED:
            return "approved", state.approval_date
        filed = any(e.to_status == _A.SUBMITTED for e in state.events)
        # Added after histories were recorded: only filings and approvals were told.
        if not filed or not self._patched("enrollment-outcomes"):
            return None, None
        decision = state.decision
        if state.status in (_A.REJECTED, _A.RETURNED, _A.WITHDRAWN, _A.DENIED) and decision:
            if before.status == _A.RECONSIDERATION_REQUESTED:
                return None, None  # upheld: the enrollment heard of the denial already
            return decision.kind, decision.on
        if before.is_final and not state.is_final:
            # The engine's rejection or denial was withdrawn by an on-time event recorded
            # late: the filing counts again.
            return "submitted", state.filing_date
        return None, None

    # --- links ---------------------------------------------------------------------------------

    async def _tell_enrollment(self, enrollment_id: str, progress: ApplicationProgress) -> None:
        try:
            await workflow.get_external_workflow_handle(
                enrollment_workflow_id(enrollment_id)
            ).signal("application_progress", progress)  # EnrollmentWorkflow's signal
        except FailureError as exc:  # an enrollment not tracked here: the application goes on
            workflow.logger.warning(
                "enrollment not signalled",
                extra={"enrollment_id": enrollment_id, "error": type(exc).__name__},
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
            legal_name=state.details.legal_name,
            provider_type=state.details.provider_type,
            state=state.details.state,
            effective_date=state.effective_date,
            time_zone=state.time_zone,
            actor=actor,
            reason=f"approved application {state.application_id}",
            source="application",
            generation=CURRENT_GENERATION,
        )
        try:
            # Abandoned, not terminated, when this application completes: the enrollment lives
            # for decades after it. By its type's name, as the enrollment starts applications:
            # importing workflows.enrollment here would execute it in the sandbox for every
            # application instance as well (issue 22).
            await workflow.start_child_workflow(
                "EnrollmentWorkflow",
                start,
                id=enrollment_workflow_id(enrollment_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:  # already tracked (e.g. imported)
            workflow.logger.info(
                "enrollment already tracked", extra={"enrollment_id": enrollment_id}
            )
