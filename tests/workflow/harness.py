"""Drive ApplicationWorkflow as an operator would, on a real Temporal server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from models.application import (
    ApplicationCreate,
    ApplicationEventRequest,
    ApplicationState,
    application_workflow_id,
)
from models.calendar import local_date, start_of_day
from models.read_model import ApplicationRow, NotificationRow
from worker import build_worker
from workflows.application import ApplicationWorkflow

EVENTS: TypeAdapter[Any] = TypeAdapter(ApplicationEventRequest)
ZONE = "America/New_York"

INDIVIDUAL = {
    "legal_name": "Jane Q. Doe",
    "npi": "1234567893",
    "ssn": "123-45-6789",
    "state": "FL",
}


def event_data(event: str, today: date, variant: str | None = None) -> dict[str, Any]:
    """Plausible data for each operator event, dated today."""
    d = today.isoformat()
    return {
        "update_draft": {"changes": {"provider_type": "Internal medicine"}},
        "submit": (
            {"web_tracking_id": "WT-2026-000123", "signed_on": d}
            if variant == "signed"
            else {"web_tracking_id": "WT-2026-000123"}
        ),
        "signatures_completed": {},
        "fee_requested": {"letter_date": d},
        "fee_paid": {},
        "fee_hardship_requested": {"requested_on": d},
        "fee_hardship_approved": {"decision_date": d},
        "fee_hardship_denied": {"decision_date": d},
        "cap_submitted": {"filed_on": d},
        "cap_decided": (
            {"decision_date": d, "outcome": "accepted", "ptan": "PT777"}
            if variant == "accepted"
            else {"decision_date": d, "outcome": "not_accepted"}
        ),
        "received_by_mac": {"case_number": "JN-CASE-42", "receipt_date": d},
        "development_requested": {"request_date": d, "items": ["Copy of state license"]},
        "development_responded": {},
        "site_visit_completed": {"visit_date": d},
        "fingerprints_requested": {"letter_date": d},
        "fingerprints_received": {},
        "approved": {"ptan": "PT123456", "approval_date": d},
        "denied": {"notice_date": d, "grounds": "424.530(a)(1) license not verified"},
        "reconsideration_requested": {},
        "reconsideration_decided": (
            {"decision_date": d, "outcome": "reversed", "ptan": "PT999"}
            if variant == "reversed"
            else {"decision_date": d, "outcome": "upheld"}
        ),
        "rejected": {"grounds": "incomplete application"},
        "returned": {"grounds": "sent to the wrong contractor"},
        "withdrawn": {},
    }[event]


async def settled(handle: WorkflowHandle[Any, Any], query: Any, within: float = 30.0) -> Any:
    """Poll `query` until the workflow owes no side effect; fail after `within` seconds (a
    bound on waiting, not a timing assertion: effects finish in milliseconds when all is up)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            state = await handle.query(query, rpc_timeout=timedelta(seconds=5))
        except RPCError as exc:
            # The Java test server drops a query that reaches a run as it continues as new (the
            # next query reaches the new run); any other failure is the test's.
            if exc.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
            continue
        if state.side_effects_pending == 0:
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"{handle.id}: {state.side_effects_pending} side effects still pending; "
                f"incidents: {[i.model_dump() for i in state.incidents]}"
            )
        await asyncio.sleep(0.02)


# The events of an approval with one development request answered, in order.
APPROVAL_THROUGH_DEVELOPMENT = (
    "update_draft",
    "submit",
    "signatures_completed",
    "received_by_mac",
    "development_requested",
    "development_responded",
    "approved",
)


class ApplicationDriver:
    def __init__(self, env: WorkflowEnvironment, task_queue: str, engine: Engine) -> None:
        self.env = env
        self.client: Client = env.client
        self.task_queue = task_queue
        self.engine = engine

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def today(self) -> date:
        return local_date(await self.now(), ZONE)

    async def create(
        self,
        *,
        form: str = "CMS-855I",
        purpose: str = "initial",
        details: dict[str, Any] | None = None,
        application_id: str | None = None,
        generation: int = 0,
    ) -> WorkflowHandle[ApplicationWorkflow, ApplicationState]:
        app_id = application_id or f"t-{uuid.uuid4().hex[:12]}"
        create = ApplicationCreate(
            application_id=app_id,
            organization_id="test-org",
            form=form,  # type: ignore[arg-type]
            purpose=purpose,  # type: ignore[arg-type]
            time_zone=ZONE,
            details=details if details is not None else INDIVIDUAL,  # type: ignore[arg-type]
            actor="tester@example.org",
            generation=generation,
        )
        return await self.client.start_workflow(
            ApplicationWorkflow.run,
            create,
            id=application_workflow_id(app_id),
            task_queue=self.task_queue,
        )

    async def send(
        self, handle: WorkflowHandle[Any, Any], event: str, **data: Any
    ) -> ApplicationState:
        request = EVENTS.validate_python(
            {"event": event, "actor": "ops@example.org", "reason": f"test {event}", **data}
        )
        return await handle.execute_update(ApplicationWorkflow.record_event, request)

    async def record(
        self, handle: WorkflowHandle[Any, Any], event: str, variant: str | None = None
    ) -> ApplicationState:
        return await self.send(handle, event, **event_data(event, await self.today(), variant))

    async def approved_through_development(self) -> ApplicationState:
        """A new application driven from draft to approval, with one development request
        answered, its run (and the enrollment it starts) left to finish; its last state."""
        handle = await self.create()
        for event in APPROVAL_THROUGH_DEVELOPMENT:
            state = await self.record(handle, event)
        await handle.result()
        return state

    async def refused(
        self, handle: WorkflowHandle[Any, Any], event: str, **data: Any
    ) -> ApplicationError:
        try:
            await self.send(handle, event, **data)
        except WorkflowUpdateFailedError as exc:
            assert isinstance(exc.cause, ApplicationError)
            return exc.cause
        raise AssertionError(f"{event} was accepted")

    async def state(self, handle: WorkflowHandle[Any, Any]) -> ApplicationState:
        """The state once the side effects of everything recorded so far are done (the read
        model projected, notices recorded, linked records told): they follow the answer."""
        return await settled(handle, ApplicationWorkflow.state)

    async def sleep_until_local(self, day: date, hour: int) -> None:
        """Advance the server clock to `hour`:00 on `day` in the organisation's zone."""
        target = start_of_day(day, ZONE) + timedelta(hours=hour)
        delta = target - await self.now()
        assert delta > timedelta(0), f"{target} is already past"
        await self.env.sleep(delta)

    def notifications(self, workflow_id: str) -> list[NotificationRow]:
        with Session(self.engine) as s:
            return list(
                s.exec(
                    select(NotificationRow)
                    .where(NotificationRow.workflow_id == workflow_id)
                    .order_by(NotificationRow.id)  # type: ignore[arg-type]
                )
            )

    def row(self, application_id: str) -> ApplicationRow | None:
        with Session(self.engine) as s:
            return s.get(ApplicationRow, application_id)


@asynccontextmanager
async def driving(env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[ApplicationDriver]:
    """An ApplicationDriver with the engine's worker running on its own task queue."""
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(env.client, engine, task_queue=task_queue):
        yield ApplicationDriver(env, task_queue, engine)
