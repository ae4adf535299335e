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
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.channels import EmailChannel, SmtpConfig, WebhookChannel
from activities.database import create_db_engine, create_schema
from activities.effects import EffectsActivities
from activities.notification_sweep import NotificationSweep
from activities.notifications import Channel, LogChannel, NotificationActivities, Router
from activities.nppes import NppesClient
from activities.private_files import PRIVATE_UMASK, private_dir
from activities.projection import ProjectionActivities
from activities.reference_checks import ReferenceChecks
from activities.routing import load_routes, table_router
from activities.structured_logging import configure_logging
from models.contracts import SweepSchedule
from models.notification import Recipient
from models.routing import RoutingTable
from workflows.application import ApplicationWorkflow
from workflows.client import INSECURE_WARNING, MissingKeyRing, connect, require_keyring
from workflows.enrollment import EnrollmentWorkflow
from workflows.notification_sweep import NOTIFICATION_SWEEP_ID, NotificationSweepWorkflow
from workflows.pecos_access import PecosAccessWorkflow
from workflows.reference_checks import ReferenceChecksWorkflow, ensure_monthly_schedule
from workflows.sandbox import workflow_runner
from workflows.search_attributes import register as register_search_attributes
from workflows.settings import (
    WORKER_MAX_CACHED_WORKFLOWS,
    Settings,
    SettingsError,
    load_settings,
)

WORKFLOWS = [ApplicationWorkflow, EnrollmentWorkflow, ReferenceChecksWorkflow]

log = structlog.get_logger("worker")


def build_worker(
    client: Client,
    engine: Engine,
    *,
    task_queue: str,
    channel: Channel | None = None,
    router: Router | None = None,
    base_url: str | None = None,
    routes: RoutingTable | None = None,
    graceful_shutdown: timedelta = timedelta(0),
    nppes: NppesClient | None = None,
    max_cached_workflows: int = WORKER_MAX_CACHED_WORKFLOWS,
) -> Worker:
    """The worker; `channel` is where notices go out (default: log lines), `router` whom they
    go to (activities/routing.py; default: by `routes`), `base_url` where messages link records
    to. With `routes` it also runs the daily notification sweep (escalations, digests).
    `graceful_shutdown`: on shutdown the worker stops polling, then lets in-flight activities
    run this long before cancelling them (Temporal retries a cancelled or lost one on another
    worker; the outbox keeps notices exactly-once). `nppes`: the NPPES client of the
    pre-submission checks (None: none). `max_cached_workflows`: the sticky cache
    (Settings.worker_max_cached_workflows). Workflows run in the engine's sandbox
    (workflows/sandbox.py: the pure modules passed through), as the Replayer runs them."""
    if router is None and routes is not None:
        router = table_router(routes)
    notifications = NotificationActivities(engine, channel, router=router, base_url=base_url)
    projection = ProjectionActivities(engine)
    checks = ReferenceChecks(engine, nppes)
    activities: list[Any] = [
        checks.check_application,
        checks.run_reference_checks,
        EffectsActivities(projection, notifications).record_effects,
        # One activity each: what runs recorded before the `effects-round` patch still call.
        notifications.record_notification,
        projection.project_application,
        projection.project_enrollment,
    ]
    # PECOS access hygiene (not in WORKFLOWS until it has replay fixtures: tests/histories/).
    workflows: list[type] = [*WORKFLOWS, PecosAccessWorkflow]
    if routes is not None:
        activities.append(NotificationSweep(notifications, routes).sweep)
        workflows.append(NotificationSweepWorkflow)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=activities,
        graceful_shutdown_timeout=graceful_shutdown,
        workflow_runner=workflow_runner(),
        max_cached_workflows=max_cached_workflows,
    )


async def start_notification_sweep(client: Client, settings: Settings) -> None:
    """Start the daily sweep once per deployment (a running one is kept as it is)."""
    await client.start_workflow(
        NotificationSweepWorkflow.run,
        SweepSchedule(time_zone=settings.default_time_zone, hour=settings.notify_sweep_hour),
        id=NOTIFICATION_SWEEP_ID,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def channel_from_settings(settings: Settings) -> Channel:
    """The channel the settings name; a channel named without what it needs fails at start (a
    worker that would silently drop notices is worse than one that does not start)."""
    kind = settings.notify_channel
    if kind == "log":
        return LogChannel()
    if kind == "email":
        if not settings.notify_to and not settings.notify_routes_file:
            raise ValueError(
                "ENROLL_NOTIFY_CHANNEL=email needs recipients: ENROLL_NOTIFY_TO or "
                "ENROLL_NOTIFY_ROUTES_FILE"
            )
        if not settings.smtp_host or not settings.smtp_from:
            raise ValueError(
                "ENROLL_NOTIFY_CHANNEL=email needs ENROLL_SMTP_HOST and ENROLL_SMTP_FROM"
            )
        return EmailChannel(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                security=settings.smtp_security,
                username=settings.smtp_username,
                password=settings.smtp_password,
                timeout_seconds=settings.notify_timeout_seconds,
                ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            )
        )
    if not settings.webhook_url or not settings.webhook_secret:
        raise ValueError(
            "ENROLL_NOTIFY_CHANNEL=webhook needs ENROLL_WEBHOOK_URL and ENROLL_WEBHOOK_SECRET"
        )
    return WebhookChannel(
        settings.webhook_url,
        settings.webhook_secret.encode(),
        timeout_seconds=settings.notify_timeout_seconds,
    )


def router_from_settings(settings: Settings) -> Router | None:
    if settings.notify_routes_file is not None:
        return table_router(load_routes(settings.notify_routes_file))
    if settings.notify_to:
        everyone = tuple(
            Recipient(address=a.strip()) for a in settings.notify_to.split(",") if a.strip()
        )
        return lambda request: everyone
    return None


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
    routes = load_routes(settings.notify_routes_file) if settings.notify_routes_file else None
    worker = build_worker(
        client,
        engine,
        task_queue=settings.task_queue,
        channel=channel_from_settings(settings),
        router=router_from_settings(settings),
        base_url=settings.notify_base_url,
        routes=routes,
        graceful_shutdown=timedelta(seconds=settings.worker_shutdown_grace_seconds),
        nppes=nppes_client(settings),
        max_cached_workflows=settings.worker_max_cached_workflows,
    )
    if routes is not None:
        await start_notification_sweep(client, settings)
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
