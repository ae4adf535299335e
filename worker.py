"""Builds and runs the worker: every workflow and activity, on the one data converter.

`python worker.py` and `enroll worker` run it against TEMPORAL_ADDRESS; `enroll dev` and the
tests build it in-process with `build_worker`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta

import structlog
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.database import create_db_engine, create_schema
from activities.notifications import Channel, NotificationActivities
from activities.nppes import NppesClient
from activities.private_files import PRIVATE_UMASK, private_dir
from activities.projection import ProjectionActivities
from activities.reference_checks import ReferenceChecks
from activities.structured_logging import configure_logging
from workflows.application import ApplicationWorkflow
from workflows.client import INSECURE_WARNING, MissingKeyRing, connect, require_keyring
from workflows.enrollment import EnrollmentWorkflow
from workflows.reference_checks import ReferenceChecksWorkflow, ensure_monthly_schedule
from workflows.search_attributes import register as register_search_attributes
from workflows.settings import Settings, SettingsError, load_settings

WORKFLOWS = [ApplicationWorkflow, EnrollmentWorkflow, ReferenceChecksWorkflow]

log = structlog.get_logger("worker")


def build_worker(
    client: Client,
    engine: Engine,
    *,
    task_queue: str,
    channel: Channel | None = None,
    graceful_shutdown: timedelta = timedelta(0),
    nppes: NppesClient | None = None,
) -> Worker:
    """`channel` is where notices go out (default: log lines). `graceful_shutdown`: on shutdown
    the worker stops polling, then lets in-flight activities run this long before cancelling
    them (Temporal retries a cancelled or lost one on another worker; the outbox keeps notices
    exactly-once). `nppes`: the NPPES client of the pre-submission checks (None: none)."""
    notifications = NotificationActivities(engine, channel)
    projection = ProjectionActivities(engine)
    checks = ReferenceChecks(engine, nppes)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            checks.check_application,
            checks.run_reference_checks,
            notifications.record_notification,
            projection.project_application,
            projection.project_enrollment,
        ],
        graceful_shutdown_timeout=graceful_shutdown,
    )


async def reindex(
    client: Client,
    engine: Engine,
    *,
    query: str | None = None,
    workflow_ids: Sequence[str] | None = None,
) -> dict[str, int]:
    """Rebuild the read model from Temporal: every application and enrollment workflow the
    visibility store lists (open or closed within retention) is queried for its state and
    projected. Writes go only through workflows, so this is always possible; projections are
    monotonic, so it is safe while workers run. `workflow_ids` names the workflows instead of
    listing them (a server without visibility, such as the time-skipping test server)."""
    from models.read_model import application_projection, enrollment_projection

    projection = ProjectionActivities(engine)
    counts = {"applications": 0, "enrollments": 0, "failed": 0}
    for workflow_id, workflow_type in await _to_reindex(client, query, workflow_ids):
        handle = client.get_workflow_handle(workflow_id)
        try:
            if workflow_type == "ApplicationWorkflow":
                app_state = await handle.query(ApplicationWorkflow.state)
                await asyncio.to_thread(projection._project, application_projection(app_state))
                counts["applications"] += 1
            else:
                enr_state = await handle.query(EnrollmentWorkflow.state)
                await asyncio.to_thread(projection._project, enrollment_projection(enr_state))
                counts["enrollments"] += 1
        except Exception as exc:  # one unreadable workflow must not stop the rebuild
            log.warning("reindex failed", workflow_id=workflow_id, error=str(exc))
            counts["failed"] += 1
    return counts


def nppes_client(settings: Settings) -> NppesClient | None:
    if not settings.nppes_base_url:
        return None
    return NppesClient(
        settings.nppes_base_url, requests_per_second=settings.nppes_requests_per_second
    )


async def _to_reindex(
    client: Client, query: str | None, workflow_ids: Sequence[str] | None
) -> list[tuple[str, str]]:
    """(workflow id, workflow type) of each workflow to rebuild, once per chain."""
    if workflow_ids is not None:
        return [
            (wid, (await client.get_workflow_handle(wid).describe()).workflow_type)
            for wid in dict.fromkeys(workflow_ids)
        ]
    listing = query or (
        'WorkflowType = "ApplicationWorkflow" OR WorkflowType = "EnrollmentWorkflow"'
    )
    found: dict[str, str] = {}
    async for execution in client.list_workflows(listing):
        # Continued-as-new chains list every run; the latest answers the query.
        found.setdefault(execution.id, execution.workflow_type)
    return list(found.items())


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    engine = create_db_engine(settings.resolved_database_url())
    create_schema(engine)
    client = await connect(settings)
    if settings.register_search_attributes:
        try:
            await register_search_attributes(client, settings.temporal_namespace)
        except RPCError as exc:
            # A production cluster may not let workers change the namespace: then an operator
            # registers them once (README, "Visibility").
            log.warning("search attributes not registered", error=str(exc))
    try:
        if await ensure_monthly_schedule(client, settings.task_queue):
            log.info("monthly data checks scheduled")
    except RPCError as exc:
        # The time-skipping test server (the sandbox) has no schedules.
        log.warning("monthly data checks not scheduled", error=str(exc))
    worker = build_worker(
        client,
        engine,
        task_queue=settings.task_queue,
        graceful_shutdown=timedelta(seconds=settings.worker_shutdown_grace_seconds),
        nppes=nppes_client(settings),
    )
    log.info("worker started", task_queue=settings.task_queue, temporal=settings.temporal_address)
    async with worker:
        await stop.wait()
        log.info("worker draining", grace_seconds=settings.worker_shutdown_grace_seconds)
    log.info("worker stopped")


async def _main(insecure_no_encryption: bool) -> None:
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    # Before anything is created or reached: without a key ring, payloads would go in clear.
    if require_keyring(settings, insecure_no_encryption=insecure_no_encryption) is None:
        log.warning(INSECURE_WARNING)
    os.umask(PRIVATE_UMASK)  # the read model, the archive: private from their creation
    private_dir(settings.data_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop)


def main(insecure_no_encryption: bool = False) -> None:
    status = 0
    try:
        asyncio.run(_main(insecure_no_encryption))
    except MissingKeyRing as exc:
        log.error(str(exc))
        status = 1
    except SettingsError as exc:
        # A configuration it cannot start with: the variables and what to do, no traceback.
        print(f"enroll worker: bad configuration\n{exc}", file=sys.stderr)
        status = 2
    except Exception:
        log.exception("worker failed")
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # The SDK's runtime threads can abort the interpreter at exit (sdk-python #300).
    os._exit(status)


if __name__ == "__main__":
    main(insecure_no_encryption="--insecure-no-encryption" in sys.argv[1:])
