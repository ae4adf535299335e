"""A bare Temporal twin of one engine application: the same history shape, nothing else.

The baseline of bench/throughput.py: what Temporal itself costs for the work one application
makes, so the engine's overhead over it (domain checks, encryption, the read model, logging) is
the ratio. Counted from the histories the engine wrote at commit 0557937 (one application
driven create -> update_draft -> submit -> received_by_mac -> development_requested ->
development_responded -> approved, with the enrollment its approval starts):

- the application: 6 updates, and a 7th since the engine creates in one round trip (a
  read-only `created` update sent with the start: update-with-start), 11 activities (2 checks,
  3 projections, 6 notices) drained by the run loop outside the update, 11 search attribute
  upserts, a development deadline timer started and cancelled, one child started (abandoned),
  then the run completes;
- the enrollment (the child): 3 upserts, 1 activity (its projection), a timer it waits on.

The engine writes a few more events (patch markers; coalescing can merge a projection);
bench/throughput.py counts both histories in every run and prints them side by side. The
activities do nothing, except that the enrollment's projection appends the application id to
a file, so the benchmark sees when an application's side effects are all done as it does on the
engine's read model. Default data converter (no payload codec), default worker options and
sandbox, the same dev server binary and flags: Temporal as a plain user runs it.

This module is the workflows' sandbox import, so it imports only temporalio and the standard
library at the top; the worker and the HTTP app import the rest when they start:

    python -m bench.bare_twin worker --address 127.0.0.1:7233 --task-queue q --done-file f
    python -m bench.bare_twin api --address 127.0.0.1:7233 --task-queue q --port 8001
"""

# No `from __future__ import annotations`: FastAPI resolves the request models of build_app's
# routes, which are local to it, from live annotations.
import argparse
import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.workflow import ParentClosePolicy

# Keys the dev server already has (registered for the engine by dev_server_args()), used here
# under their types only: the twin needs attributes of the same kinds, not their meaning.
STATUS = SearchAttributeKey.for_keyword("EnrollmentRecordStatus")
NPI = SearchAttributeKey.for_keyword("ProviderNpi")
FORM = SearchAttributeKey.for_keyword("EnrollmentForm")
PURPOSE = SearchAttributeKey.for_keyword("ApplicationPurpose")
ORGANIZATION = SearchAttributeKey.for_keyword("EnrollmentOrganization")
DEADLINE = SearchAttributeKey.for_datetime("NextDeadlineAt")

SEQUENCE: tuple[str, ...] = (
    "update_draft",
    "submit",
    "received_by_mac",
    "development_requested",
    "development_responded",
    "approved",
)
START_UPSERTS = 4
START_EFFECTS: tuple[str, ...] = ("project_application", "check_application")


@dataclass(frozen=True)
class Step:
    """What one event does to the twin's history, as the engine's does to its."""

    upserts: int
    effects: tuple[str, ...] = ()


NOTICE = "record_notification"
STEPS: dict[str, Step] = {
    "update_draft": Step(0),
    "submit": Step(1, (NOTICE, NOTICE, "project_application", "check_application")),
    "received_by_mac": Step(1),
    "development_requested": Step(1),  # and the development deadline timer starts
    "development_responded": Step(1, (NOTICE, NOTICE, NOTICE)),  # and it is cancelled
    "approved": Step(3, (NOTICE, "project_application")),  # and the enrollment starts
}
ENROLLMENT_UPSERTS = 3


@dataclass
class BareApplicationInput:
    application_id: str
    npi: str
    form: str = "CMS-855I"
    purpose: str = "initial"
    organization_id: str = "bare-org"


@dataclass
class BareEvent:
    event: str
    data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass
class BareAnswer:
    status: str
    events: int


ACTIVITY_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="BareEnrollment")
class BareEnrollment:
    @workflow.run
    async def run(self, application_id: str) -> None:
        workflow.upsert_search_attributes([STATUS.value_set("enrolled")])
        workflow.upsert_search_attributes([NPI.value_set(application_id[-10:])])
        revalidation = workflow.now() + timedelta(days=5 * 365)
        workflow.upsert_search_attributes([DEADLINE.value_set(revalidation)])
        # The revalidation clock and the projection start in the same task, as the engine's.
        clock = asyncio.ensure_future(workflow.sleep(timedelta(days=274)))
        await workflow.execute_activity(
            "project_enrollment", application_id, start_to_close_timeout=ACTIVITY_TIMEOUT
        )
        await clock


@workflow.defn(name="BareApplication")
class BareApplication:
    def __init__(self) -> None:
        self._status = "draft"
        self._events = 0
        self._queue: list[str] = []
        self._deadline: asyncio.Future[None] | None = None
        self._approved = False

    @workflow.run
    async def run(self, application: BareApplicationInput) -> str:
        workflow.upsert_search_attributes([STATUS.value_set(self._status)])
        workflow.upsert_search_attributes([NPI.value_set(application.npi)])
        workflow.upsert_search_attributes([FORM.value_set(application.form)])
        workflow.upsert_search_attributes([PURPOSE.value_set(application.purpose)])
        self._queue.extend(START_EFFECTS)
        while True:
            # The side effects run here, outside the update, as the engine's queue drains.
            await workflow.wait_condition(lambda: bool(self._queue) or self._approved)
            batch, self._queue = self._queue, []
            work = [
                workflow.execute_activity(
                    name, application.application_id, start_to_close_timeout=ACTIVITY_TIMEOUT
                )
                for name in batch
            ]
            if self._approved and not self._queue:
                await asyncio.gather(*work, self._start_enrollment(application.application_id))
                return self._status
            await asyncio.gather(*work)

    async def _start_enrollment(self, application_id: str) -> None:
        await workflow.start_child_workflow(
            BareEnrollment.run,
            application_id,
            id=f"bare-enrollment-{application_id}",
            parent_close_policy=ParentClosePolicy.ABANDON,
        )

    @workflow.update
    def created(self) -> BareAnswer:
        # The create's answer in the start's own call (update-with-start), as the engine's.
        return BareAnswer(self._status, self._events)

    @workflow.update
    async def record_event(self, event: BareEvent) -> BareAnswer:
        step = STEPS[event.event]
        self._status = event.event
        self._events += 1
        for _ in range(step.upserts):
            workflow.upsert_search_attributes([STATUS.value_set(self._status)])
        if event.event == "development_requested":
            self._deadline = asyncio.ensure_future(workflow.sleep(timedelta(days=30)))
        elif event.event == "development_responded" and self._deadline is not None:
            self._deadline.cancel()
        self._queue.extend(step.effects)
        self._approved = event.event == "approved"
        return BareAnswer(self._status, self._events)

    @record_event.validator
    def _check(self, event: BareEvent) -> None:
        # The one check a bare workflow makes: events come in the lifecycle's order.
        expected = SEQUENCE[self._events] if self._events < len(SEQUENCE) else None
        if event.event != expected:
            raise ValueError(f"event: expected {expected}, got {event.event}")


# --- Activities: nothing but the one that tells the benchmark an application is done ----------
# With --read-model (bench/throughput.py --compare read-model), each also makes the one
# PostgreSQL transaction an engine's read model needs at the least: the checks read the
# application's row, the projections upsert it (and the enrollment's), a notice inserts an
# outbox row. Plain SQL on a pool of connections, rows of about the engine's size: what a read
# model costs before any engine's own work.

DONE_FILE: list[str] = []  # set by the worker's command line
READ_MODEL: list[Any] = []  # [the connection pool], when the worker writes one
ROW = '{"summary": "%s"}' % ("x" * 1500)  # a projected record of about the engine's size
TABLES = (
    "CREATE TABLE IF NOT EXISTS bare_application (application_id text PRIMARY KEY, "
    "status text NOT NULL, body jsonb NOT NULL, updated_at timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bare_enrollment (application_id text PRIMARY KEY, "
    "body jsonb NOT NULL, updated_at timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bare_notice (id bigserial PRIMARY KEY, application_id text NOT "
    "NULL, body jsonb NOT NULL, created_at timestamptz NOT NULL)",
)


async def _in_read_model(statement: str, application_id: str) -> None:
    if not READ_MODEL:
        return
    async with READ_MODEL[0].connection() as conn, conn.transaction():
        await conn.execute(statement, {"id": application_id, "body": ROW})


@activity.defn(name="check_application")
async def check_application(application_id: str) -> None:
    await _in_read_model(
        "SELECT status FROM bare_application WHERE application_id = %(id)s", application_id
    )


@activity.defn(name="project_application")
async def project_application(application_id: str) -> None:
    await _in_read_model(
        "INSERT INTO bare_application VALUES (%(id)s, 'projected', %(body)s, now()) "
        "ON CONFLICT (application_id) DO UPDATE SET status = excluded.status, "
        "body = excluded.body, updated_at = excluded.updated_at",
        application_id,
    )


@activity.defn(name="record_notification")
async def record_notification(application_id: str) -> None:
    await _in_read_model(
        "INSERT INTO bare_notice (application_id, body, created_at) "
        "VALUES (%(id)s, %(body)s, now())",
        application_id,
    )


@activity.defn(name="project_enrollment")
async def project_enrollment(application_id: str) -> None:
    await _in_read_model(
        "INSERT INTO bare_enrollment VALUES (%(id)s, %(body)s, now()) "
        "ON CONFLICT (application_id) DO UPDATE SET body = excluded.body, "
        "updated_at = excluded.updated_at",
        application_id,
    )
    # One short O_APPEND write per application; the benchmark reads the file.
    with open(DONE_FILE[0], "a") as done:
        done.write(application_id + "\n")


ACTIVITIES = [check_application, project_application, record_notification, project_enrollment]


# --- Processes -----------------------------------------------------------------------------------


async def run_worker(
    address: str, task_queue: str, done_file: str, read_model: str | None = None
) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    DONE_FILE[:] = [done_file]
    if read_model:
        READ_MODEL[:] = [await _open_read_model(read_model)]
    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareApplication, BareEnrollment],
        activities=ACTIVITIES,
    )
    await worker.run()


async def _open_read_model(conninfo: str) -> Any:
    import psycopg

    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        for statement in TABLES:
            await conn.execute(statement)
    pool = _Pool(conninfo, size=10)  # the engine's SQLAlchemy pool lends 5, and 10 more on demand
    await pool.open()
    return pool


class _Pool:
    """A fixed set of connections, each lent to one activity at a time (psycopg_pool is not
    among the engine's dependencies; this is all the twin needs of one)."""

    def __init__(self, conninfo: str, size: int) -> None:
        self.conninfo, self.size = conninfo, size
        self.idle: asyncio.Queue[Any] = asyncio.Queue()

    async def open(self) -> None:
        import psycopg

        for _ in range(self.size):
            self.idle.put_nowait(await psycopg.AsyncConnection.connect(self.conninfo))

    def connection(self) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def lent() -> Any:
            conn = await self.idle.get()
            try:
                yield conn
            finally:
                self.idle.put_nowait(conn)

        return lent()


def build_app(address: str, task_queue: str) -> Any:
    """The HTTP side: the engine's two write routes, reduced to their Temporal calls."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel
    from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
    from temporalio.common import WorkflowIDConflictPolicy

    class CreateBody(BaseModel):
        application_id: str
        npi: str
        organization_id: str = "bare-org"
        form: str = "CMS-855I"
        purpose: str = "initial"
        details: dict[str, Any] = {}
        reason: str = ""

    class EventBody(BaseModel):
        event: str
        data: dict[str, Any] = {}
        reason: str = ""

    clients: list[Client] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        clients.append(await Client.connect(address))
        yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/applications", status_code=201)
    async def create(body: CreateBody) -> dict[str, Any]:
        start = WithStartWorkflowOperation(
            BareApplication.run,
            BareApplicationInput(
                body.application_id, body.npi, body.form, body.purpose, body.organization_id
            ),
            id=f"bare-application-{body.application_id}",
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ORGANIZATION, body.organization_id)]
            ),
        )
        answer = await clients[0].execute_update_with_start_workflow(
            BareApplication.created, start_workflow_operation=start
        )
        return {"application_id": body.application_id, "status": answer.status}

    @app.post("/applications/{application_id}/events")
    async def record(application_id: str, body: EventBody) -> dict[str, Any]:
        handle = clients[0].get_workflow_handle(f"bare-application-{application_id}")
        try:
            answer = await handle.execute_update(
                BareApplication.record_event, BareEvent(body.event, body.data, body.reason)
            )
        except WorkflowUpdateFailedError as refused:
            raise HTTPException(409, str(refused.cause)) from refused
        return {
            "application_id": application_id,
            "status": answer.status,
            "events": answer.events,
            "recorded_at": datetime.now(UTC).isoformat(),
        }

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="The bare Temporal twin's processes.")
    parser.add_argument("role", choices=["worker", "api"])
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--done-file", help="worker: where finished applications are listed")
    parser.add_argument(
        "--read-model", help="worker: a PostgreSQL conninfo; activities write a minimal read model"
    )
    parser.add_argument("--port", type=int, help="api: the port to listen on")
    args = parser.parse_args()
    if args.role == "worker":
        if not args.done_file:
            parser.error("worker needs --done-file")
        asyncio.run(run_worker(args.address, args.task_queue, args.done_file, args.read_model))
        return
    if not args.port:
        parser.error("api needs --port")
    import uvicorn

    # As `enroll api` serves: no access log, logging left as it is.
    uvicorn.run(
        build_app(args.address, args.task_queue),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
