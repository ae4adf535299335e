"""Drive EnrollmentWorkflow as an operator would, on a real Temporal server."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from models.calendar import local_date, start_of_day
from models.contracts import RECORD_NOTIFICATION, NotificationRequest
from models.enrollment import (
    EnrollmentEventRequest,
    EnrollmentStart,
    EnrollmentState,
    enrollment_workflow_id,
)
from models.read_model import RECORD_EFFECTS, EffectsRound, EnrollmentRow, NotificationRow
from tests.workflow.harness import settled
from workflows.enrollment import EnrollmentWorkflow

EVENTS: TypeAdapter[Any] = TypeAdapter(EnrollmentEventRequest)
ZONE = "America/New_York"


class EnrollmentDriver:
    def __init__(self, env: WorkflowEnvironment, task_queue: str, engine: Engine) -> None:
        self.env = env
        self.client = env.client
        self.task_queue = task_queue
        self.engine = engine

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def today(self) -> date:
        return local_date(await self.now(), ZONE)

    async def start(self, **overrides: Any) -> WorkflowHandle[EnrollmentWorkflow, EnrollmentState]:
        today = await self.today()
        fields: dict[str, Any] = {
            "enrollment_id": f"I{today:%Y%m%d}{uuid.uuid4().int % 1_000_000:06d}",
            "organization_id": "test-org",
            "npi": "1234567893",
            "ptan": "PT123456",
            "form": "CMS-855I",
            "state": "FL",
            "effective_date": today.isoformat(),
            "time_zone": ZONE,
            "actor": "tester@example.org",
        }
        fields.update(overrides)
        start = EnrollmentStart.model_validate(fields)
        return await self.client.start_workflow(
            EnrollmentWorkflow.run,
            start,
            id=enrollment_workflow_id(start.enrollment_id),
            task_queue=self.task_queue,
        )

    async def send(
        self, handle: WorkflowHandle[Any, Any], event: str, **data: Any
    ) -> EnrollmentState:
        request = EVENTS.validate_python(
            {"event": event, "actor": "ops@example.org", "reason": f"test {event}", **data}
        )
        return await handle.execute_update(EnrollmentWorkflow.record_event, request)

    async def refused(
        self, handle: WorkflowHandle[Any, Any], event: str, **data: Any
    ) -> ApplicationError:
        try:
            await self.send(handle, event, **data)
        except WorkflowUpdateFailedError as exc:
            assert isinstance(exc.cause, ApplicationError)
            return exc.cause
        raise AssertionError(f"{event} was accepted")

    async def state(self, handle: WorkflowHandle[Any, Any]) -> EnrollmentState:
        """The state once everything recorded so far has had its side effects and any
        continue-as-new it called for has happened (both follow the update's answer)."""
        while True:
            state: EnrollmentState = await settled(handle, EnrollmentWorkflow.state)
            if not state.cycle_completed:
                return state

    async def sleep_until_local(self, day: date, hour: int = 12) -> None:
        target = start_of_day(day, ZONE) + timedelta(hours=hour)
        delta = target - await self.now()
        assert delta > timedelta(0), f"{target} is already past"
        await self.env.sleep(delta)

    def notification_keys(self, workflow_id: str) -> list[str]:
        with Session(self.engine) as s:
            rows = s.exec(select(NotificationRow).where(NotificationRow.workflow_id == workflow_id))
            return [r.idempotency_key.split("/", 1)[1] for r in rows]

    def outbox(self, workflow_id: str) -> list[NotificationRow]:
        with Session(self.engine) as s:
            rows = s.exec(select(NotificationRow).where(NotificationRow.workflow_id == workflow_id))
            return list(rows)

    def row(self, enrollment_id: str) -> EnrollmentRow | None:
        with Session(self.engine) as s:
            return s.get(EnrollmentRow, enrollment_id)

    async def run_histories(self, workflow_id: str, first_run_id: str) -> list[WorkflowHistory]:
        """The history of every run of a workflow, first to latest, following the chain of
        continue-as-new events (the time-skipping server has no visibility listing)."""
        histories: list[WorkflowHistory] = []
        run_id: str | None = first_run_id
        while run_id:
            history = await self.client.get_workflow_handle(
                workflow_id, run_id=run_id
            ).fetch_history()
            histories.append(history)
            last = history.events[-1]
            run_id = (
                last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                if last.HasField("workflow_execution_continued_as_new_event_attributes")
                else None
            )
        return histories

    async def scheduled_notice_keys(self, histories: list[WorkflowHistory]) -> list[str]:
        """The key of every notice the workflow scheduled (one activity each, or in a side-effect
        round), in every run (decoded
        with the client's converter: payloads are encrypted)."""
        keys: list[str] = []
        for history in histories:
            for event in history.events:
                if not event.HasField("activity_task_scheduled_event_attributes"):
                    continue
                attrs = event.activity_task_scheduled_event_attributes
                payloads = list(attrs.input.payloads)
                if attrs.activity_type.name == RECORD_NOTIFICATION:
                    (request,) = await self.client.data_converter.decode(
                        payloads, [NotificationRequest]
                    )
                    keys.append(request.notice.key)
                elif attrs.activity_type.name == RECORD_EFFECTS:  # a round: its notices
                    (round_,) = await self.client.data_converter.decode(payloads, [EffectsRound])
                    keys += [r.notice.key for r in round_.notices]
        return keys
