"""The FastAPI application: routes by resource, problem+json errors, one Temporal client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from temporalio.client import Client

from api.problems import Problem, problem_handler, request_validation_handler
from api.routes import applications, lifecycle
from models.settings import Settings
from workflows.client import connect

DESCRIPTION = """
The system of record for Medicare enrollment applications and enrollments. Every change is an
event recorded on a durable Temporal workflow, validated against the lifecycle table before it
enters history; every regulatory clock is a durable timer that explains itself.
Errors are RFC 9457 problem details naming the field or the state.
"""


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.client = client or await connect(settings)
        yield

    app = FastAPI(
        title="Medicare Enrollment Engine",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_exception_handler(Problem, problem_handler)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.include_router(applications.router)
    app.include_router(lifecycle.router)

    @app.get("/healthz", tags=["health"], summary="The API process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
