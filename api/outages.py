"""Outages answer clearly and soon: every call the API makes to Temporal is bounded in time, and
an outage (Temporal unreachable, no worker polling, the read model down) answers 503
problem+json naming what is down, with Retry-After, instead of a 500 or a hang.

An event whose update the workflow accepted but has not finished within the bound answers 202
with a link that gives its outcome once it has (`EventPending`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    CountWorkflowsInput,
    DescribeWorkflowInput,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    RPCTimeoutOrCancelledError,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Problem
from workflows.settings import Settings

# One call to Temporal (a query, a start, an update's acceptance) gets this long; an event's
# update as long again to complete before the answer is a 202.
CALL_BOUND = timedelta(seconds=5)
# How long a 503 spends finding out whether it is the worker or Temporal that does not answer.
DIAGNOSIS_BOUND = timedelta(seconds=2)
# What a 503 asks the client to wait before retrying (Retry-After, seconds).
RETRY_AFTER_SECONDS = 5
# A worker's long poll lasts up to ~70 s and the server lists a poller for 5 minutes after its
# last poll: a poller seen within this window is a worker that is polling now.
POLLER_FRESH = timedelta(seconds=90)

# Status codes of a Temporal call that mean "not reachable, or too slow", never "refused".
OUTAGE_STATUSES = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}
# Status codes with which Temporal says "not now" of one record, not "no": its workflow task
# failed while the event was on its way to it (the server's WorkflowNotReady, e.g. when a worker
# stops mid-task, is FAILED_PRECONDITION) or a concurrent change to it won (ABORTED). Nothing
# was applied; the same request sent again applies once.
NOT_NOW_STATUSES = {RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.ABORTED}

# What the SDK raises when a lazily connected client cannot reach the server (a RuntimeError).
_CONNECT_FAILED = "Failed client connect"

log = structlog.get_logger("api.outages")

T = TypeVar("T")


# --- Bounded calls -------------------------------------------------------------------------------


class BoundedCalls(Interceptor):
    """Gives every call the API makes to Temporal a deadline (`CALL_BOUND`) unless the caller
    set its own: a query to a workflow no worker serves would otherwise wait for the whole
    outage."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Bounded(next)


class _Bounded(OutboundInterceptor):
    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        input.rpc_timeout = input.rpc_timeout or CALL_BOUND
        return await _within(super().query_workflow(input))

    async def describe_workflow(self, input: DescribeWorkflowInput) -> Any:
        input.rpc_timeout = input.rpc_timeout or CALL_BOUND
        return await _within(super().describe_workflow(input))

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        input.rpc_timeout = input.rpc_timeout or CALL_BOUND
        return await _within(super().start_workflow(input))

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        input.rpc_timeout = input.rpc_timeout or CALL_BOUND
        await _within(super().signal_workflow(input))

    async def count_workflows(self, input: CountWorkflowsInput) -> Any:
        input.rpc_timeout = input.rpc_timeout or CALL_BOUND
        return await _within(super().count_workflows(input))

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
        input.rpc_timeout = input.rpc_timeout or CALL_BOUND
        return await _within(super().start_workflow_update(input))


async def _within(call: Awaitable[T]) -> T:
    """The call, or TemporalTimeout once the bound (and a second's grace for the RPC's own
    deadline to answer first) has passed: the SDK's retries of an unreachable server are
    bounded by this too. A client that cannot connect at all is an RPCError (UNAVAILABLE) too."""
    try:
        return await asyncio.wait_for(call, CALL_BOUND.total_seconds() + 1)
    except TimeoutError:
        raise TemporalTimeout() from None
    except RuntimeError as exc:
        if str(exc).startswith(_CONNECT_FAILED):
            raise RPCError(_CONNECT_FAILED, RPCStatusCode.UNAVAILABLE, b"") from None
        raise


class TemporalTimeout(RPCError):
    """A call to Temporal did not answer within the bound: an RPCError (DEADLINE_EXCEEDED), so
    that whatever handles Temporal's own errors (a route, a web page) handles it too."""

    def __init__(self) -> None:
        super().__init__(
            f"no answer within {CALL_BOUND.total_seconds():g} s",
            RPCStatusCode.DEADLINE_EXCEEDED,
            b"",
        )


def bounded(client: Client) -> Client:
    """The same client (connection, namespace, data converter, interceptors) with every call
    bounded in time. (A stand-in that is not a Client, where a test makes sure Temporal is never
    reached, is kept as it is.)"""
    if not isinstance(client, Client):
        return client
    config = client.config()
    interceptors = list(config.get("interceptors", []))
    if not any(isinstance(i, BoundedCalls) for i in interceptors):
        config["interceptors"] = [*interceptors, BoundedCalls()]
    return Client(**config)


# --- What is down --------------------------------------------------------------------------------


def unavailable(down: str, detail: str, *, kind: str | None = None) -> Problem:
    """503 with Retry-After, naming what is down (`kind`: `<down>-unavailable` unless said)."""
    return Problem(
        503,
        "Service unavailable",
        detail,
        kind=kind or f"{down}-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        down=[down],
    )


RETRY_SAFE = (
    f"Retry in {RETRY_AFTER_SECONDS} s with the same request (and Idempotency-Key, if you sent "
    "one): an event applies at most once."
)


async def worker_polling(
    client: Client, settings: Settings, bound: timedelta = CALL_BOUND
) -> bool | None:
    """Whether a worker polls the task queue now (DescribeTaskQueue's pollers, seen within
    POLLER_FRESH); None when the server cannot say (the time-skipping test server)."""
    try:
        described = await asyncio.wait_for(
            client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(
                        name=settings.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL
                    ),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                ),
                timeout=bound,
            ),
            bound.total_seconds() + 1,
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    fresh_after = datetime.now(UTC) - POLLER_FRESH
    return any(p.last_access_time.ToDatetime(tzinfo=UTC) >= fresh_after for p in described.pollers)


async def _temporal_problem(request: Request, slow: bool) -> Problem:
    """503 for a Temporal call that failed as an outage: the worker when Temporal answers but no
    worker polls, else Temporal itself."""
    settings: Settings = request.app.state.settings
    where = f"{settings.temporal_address} (namespace {settings.temporal_namespace})"
    if slow:
        try:
            # Briefly: the caller has already waited out one bound.
            polling = await worker_polling(request.app.state.client, settings, DIAGNOSIS_BOUND)
        except Exception:
            polling = None
            slow = False  # Temporal does not answer this either: it is Temporal that is down
        if polling is False:
            return unavailable(
                "worker",
                f"No worker polls task queue '{settings.task_queue}', so the record cannot "
                f"answer. Start a worker (enroll worker). {RETRY_SAFE}",
            )
        if polling is True:
            # Temporal answers and workers poll: the worker that held this record has most
            # likely just stopped; Temporal hands its work to another within seconds.
            return unavailable(
                "worker",
                f"No worker answered for this record within {CALL_BOUND.total_seconds():g} s "
                f"although workers poll task queue '{settings.task_queue}': the one that held "
                f"it may have just stopped, and another takes it over within seconds. "
                f"{RETRY_SAFE}",
            )
    what = "did not answer in time" if slow else "is unreachable"
    return unavailable(
        "temporal",
        f"Temporal at {where} {what}. Check that the Temporal frontend runs and is reachable "
        f"from the API. {RETRY_SAFE}",
    )


async def rpc_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A Temporal call no route handled: an outage, or a record that cannot take the call just
    now, answers 503; anything else is unexpected. (The status is logged, never the message: it
    can quote a workflow's data.)"""
    if isinstance(exc, RPCError) and exc.status in OUTAGE_STATUSES:
        slow = exc.status != RPCStatusCode.UNAVAILABLE
        log.warning("temporal call failed", status=exc.status.name, path=request.url.path)
        return (await _temporal_problem(request, slow)).response(request)
    if isinstance(exc, RPCError) and exc.status in NOT_NOW_STATUSES:
        log.warning("temporal call refused for now", status=exc.status.name, path=request.url.path)
        return unavailable(
            "worker",
            f"Temporal could not hand this request to the record just now ({exc.status.name}: "
            "its workflow task failed, most likely because the worker that held it stopped, "
            f"or another change to it came first); nothing was recorded. {RETRY_SAFE}",
            kind="record-not-ready",
        ).response(request)
    from api.problems import unexpected_error_handler

    return await unexpected_error_handler(request, exc)


async def runtime_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A client that could not connect to Temporal: 503; any other RuntimeError: unexpected."""
    if str(exc).startswith(_CONNECT_FAILED):
        log.warning("temporal unreachable", path=request.url.path)
        return (await _temporal_problem(request, False)).response(request)
    from api.problems import unexpected_error_handler

    return await unexpected_error_handler(request, exc)


async def timeout_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bounded call that ran out of time (TemporalTimeout, or the SDK's own timeout error)."""
    log.warning("temporal call timed out", error=type(exc).__name__, path=request.url.path)
    return (await _temporal_problem(request, True)).response(request)


# Errors of the database driver that are mistakes in a statement or the schema, not an outage.
_NOT_OUTAGES = ("no such table", "no such column", "syntax error", "does not exist")


def _is_outage(exc: Exception) -> bool:
    if getattr(exc, "connection_invalidated", False):
        return True
    text = str(getattr(exc, "orig", None) or exc).lower()
    return not any(mistake in text for mistake in _NOT_OUTAGES)


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The read model cannot be reached (never the error's text: it may quote parameters)."""
    if not _is_outage(exc):
        from api.problems import unexpected_error_handler

        return await unexpected_error_handler(request, exc)
    log.warning("read model unavailable", error=type(exc).__name__, path=request.url.path)
    return unavailable(
        "database",
        "The read model database does not answer (lists, deadlines and lookups are served from "
        "it; one record is still readable at its own URL). Check ENROLL_DATABASE_URL and the "
        f"database server. Retry in {RETRY_AFTER_SECONDS} s.",
    ).response(request)


OUTAGE_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
    RPCError: rpc_error_handler,
    RuntimeError: runtime_error_handler,
    TemporalTimeout: timeout_handler,
    RPCTimeoutOrCancelledError: timeout_handler,
    OperationalError: database_error_handler,
    InterfaceError: database_error_handler,
    PoolTimeout: database_error_handler,
}


# --- An event still in progress ------------------------------------------------------------------


class EventPending(Exception):
    """The workflow accepted the event but has not finished it within the bound: 202 with the
    URL that gives its outcome."""

    def __init__(self, poll_url: str, update_id: str) -> None:
        super().__init__(poll_url)
        self.poll_url = poll_url
        self.update_id = update_id


async def event_pending_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EventPending)
    return JSONResponse(
        {
            "status": "accepted",
            "event_id": exc.update_id,
            "poll": exc.poll_url,
            "detail": "The event is accepted and being applied: GET the poll URL for its "
            "outcome (200 once applied, 202 while it is not yet).",
        },
        status_code=202,
        headers={"Location": exc.poll_url, "Retry-After": "1"},
    )
