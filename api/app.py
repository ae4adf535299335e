"""The FastAPI application: routes by resource, problem+json errors, one Temporal client,
one read-model engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from temporalio.client import Client

from activities.database import create_db_engine, create_schema
from activities.private_files import private_dir
from api import readiness, web
from api.access_log import AccessLogMiddleware
from api.auth import parse_api_keys
from api.body_limit import BodyLimitMiddleware
from api.outages import (
    OUTAGE_HANDLERS,
    EventPending,
    bounded,
    event_pending_handler,
)
from api.problems import (
    Problem,
    document_common_problems,
    http_exception_handler,
    known_query_parameters,
    problem_handler,
    problem_responses,
    problem_schemas,
    request_validation_handler,
    unexpected_error_handler,
)
from api.readiness import first_line
from api.responses.health import Health, Readiness
from api.routes import (
    applications,
    corrections,
    deadlines,
    event_outcomes,
    lifecycle,
    providers,
    support,
)
from api.routes import audit as audit_routes
from api.routes import claims as claim_routes
from api.routes import codec as codec_routes
from api.routes import enrollments as enrollment_routes
from api.routes import findings as finding_routes
from api.routes import imports as import_routes
from api.routes import incidents as incident_routes
from api.routes import notifications as notification_routes
from api.routes import pecos_access as pecos_access_routes
from api.routes import refdata as refdata_routes
from workflows.client import connect
from workflows.settings import Settings, load_settings

if TYPE_CHECKING:
    from api.sandbox import SandboxClock

DESCRIPTION = """
The system of record for Medicare enrollment applications and enrollments. Every change is an
event recorded on a durable Temporal workflow, validated against the lifecycle table before it
enters history; every regulatory clock is a durable timer that explains itself.
Lists and the deadlines screen are served from the SQL read model; one record is read from its
workflow. Errors are RFC 9457 problem details naming the field or the state.
"""

TAGS = [
    {"name": "applications", "description": "CMS-855 applications: create, record events, read"},
    {"name": "support", "description": "What to have in hand before calling the MAC"},
    {"name": "enrollments", "description": "Enrollment records: import, record events, read"},
    {"name": "imports", "description": "Rosters of existing enrollments, with CMS due dates"},
    {"name": "providers", "description": "Everything the engine holds for one NPI"},
    {"name": "claims", "description": "Claim readiness: what would deny or hold a claim"},
    {"name": "refdata", "description": "Public reference files the data checks compare with"},
    {"name": "deadlines", "description": "Every open regulatory clock, soonest first"},
    {"name": "lifecycle", "description": "The lifecycle tables: states, events, transitions"},
    {"name": "audit", "description": "Audit timelines and verifiable exports"},
    {"name": "incidents", "description": "Records whose side effects keep failing, and re-runs"},
    {"name": "notifications", "description": "Notices sent or failing: list, re-send, acknowledge"},
    {"name": "pecos-access", "description": "Who can act for an organisation in PECOS"},
    {"name": "sandbox", "description": "The sandbox clock (only in `enroll sandbox`)"},
    {"name": "health", "description": "Liveness and readiness"},
]

# Routes that answer from the code alone (never 503).
STATIC_PATHS = ("/v1/lifecycle",)

log = structlog.get_logger("api")


async def wall_clock() -> datetime:
    """`app.state.now` outside the sandbox: the real time."""
    return datetime.now(UTC)


def create_app(
    settings: Settings | None = None,
    client: Client | None = None,
    engine: Engine | None = None,
    sandbox: SandboxClock | None = None,
) -> FastAPI:
    """The API. Without `client` it connects to `settings.temporal_address` on startup; without
    `engine` it opens the read model at `settings.resolved_database_url()` and creates any
    missing tables on startup (an engine passed in is used as is, and not disposed).

    With `sandbox` (api/sandbox.py) the app reads time from that clock (`app.state.now`) and
    mounts /v1/sandbox; without it those routes do not exist.

    Raises `ApiKeyError` (a ValueError naming the entry, never the key) when
    `settings.api_keys` (ENROLL_API_KEYS) cannot be used."""
    settings = settings or load_settings()
    api_keys = parse_api_keys(settings.api_keys)
    owns_engine = engine is None
    db = engine if engine is not None else create_db_engine(settings.resolved_database_url())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = db
        app.state.api_keys = api_keys
        if not api_keys:
            log.warning(
                "ENROLL_API_KEYS is not set: every /v1 route answers 401 until keys are "
                "configured (see README, Configuration)"
            )
        if owns_engine:
            await asyncio.to_thread(_prepare_schema, settings, db)
        app.state.client = bounded(client or await connect(settings, lazy=True))
        try:
            yield
        finally:
            if owns_engine:
                db.dispose()

    # /docs and /redoc load Swagger UI and ReDoc from the fastapi-offline package, not a CDN.
    app = FastAPIOffline(
        title="Medicare Enrollment Engine",
        version="0.1.0",
        description=DESCRIPTION,
        # The sandbox's routes (and so its tag) exist only in a sandbox.
        openapi_tags=[t for t in TAGS if t["name"] != "sandbox" or sandbox is not None],
        lifespan=lifespan,
        dependencies=[Depends(known_query_parameters)],
    )
    app.state.settings = settings
    app.state.engine = db
    app.state.api_keys = api_keys
    app.state.now = sandbox.now if sandbox is not None else wall_clock
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AccessLogMiddleware)  # outermost: it logs the 413s too
    app.add_exception_handler(Problem, problem_handler)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(HTTPException, http_exception_handler)
    for error, handler in OUTAGE_HANDLERS.items():
        app.add_exception_handler(error, handler)
    app.add_exception_handler(EventPending, event_pending_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
    app.include_router(applications.router)
    app.include_router(corrections.router)  # after applications: the same paths, in order
    app.include_router(enrollment_routes.router)
    app.include_router(event_outcomes.router)
    app.include_router(import_routes.router)
    app.include_router(finding_routes.router)
    app.include_router(claim_routes.router)
    app.include_router(refdata_routes.router)
    app.include_router(deadlines.router)
    app.include_router(lifecycle.router)
    if sandbox is not None:
        from api.routes import sandbox as sandbox_routes

        app.state.sandbox_clock = sandbox
        app.include_router(sandbox_routes.router)
    app.include_router(support.router)
    app.include_router(providers.router)
    app.include_router(audit_routes.router)
    app.include_router(incident_routes.router)
    app.include_router(codec_routes.router)
    app.include_router(web.router)  # the operations web app, under /app (api/web/)
    app.include_router(notification_routes.router)
    app.include_router(pecos_access_routes.router)

    @app.get("/healthz", operation_id="getHealth", tags=["health"], summary="The API process is up")
    async def healthz() -> Health:
        return Health(status="ok")

    app.add_api_route(
        "/readyz",
        readiness.readyz,
        methods=["GET"],
        operation_id="getReadiness",
        tags=["health"],
        summary="Temporal answers, a worker polls, and the read model can be written",
        response_model=Readiness,
        responses=problem_responses({503: "A dependency is down (names it and what to check)"}),
    )

    document = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document, plus the problem schemas the routes' error answers refer to."""
        if app.openapi_schema is None:
            built = document()
            built.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
            document_common_problems(built, static_paths=STATIC_PATHS)
        return document()

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _prepare_schema(settings: Settings, engine: Engine) -> None:
    if engine.dialect.name == "sqlite" and not settings.database_url:
        private_dir(settings.data_dir)
    try:
        create_schema(engine)
    except SQLAlchemyError as exc:
        # Start anyway: /readyz reports the database as down until it answers, and the worker
        # creates the schema too when it starts.
        log.warning("read-model schema not created", error=first_line(exc))
