"""The web app's stack for its tests: the Temporal dev server (real time: a browser waits in
seconds, and no timer may fire early), a worker, a SQLite read model and the app served by
uvicorn on a free port, with helpers that seed records through the API over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.calendar import local_date
from tests.integration.test_api_reads import _serve
from tests.integration.test_auth import API_KEYS, headers
from worker import build_worker
from workflows.settings import Settings

ZONE = "America/New_York"


@dataclass
class WebStack:
    http: httpx.AsyncClient
    env: WorkflowEnvironment
    engine: Engine
    org: str

    @property
    def url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    async def today(self) -> date:
        return local_date(await self.env.get_current_time(), ZONE)

    async def create(self, application_id: str, **details: Any) -> dict[str, Any]:
        r = await self.http.post(
            "/v1/applications",
            json={
                "application_id": application_id,
                "organization_id": self.org,
                "form": "CMS-855I",
                "purpose": "initial",
                "details": details,
                "reason": "new hire",
            },
            headers=headers("operator"),
        )
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    async def event(self, application_id: str, event: str, **data: Any) -> dict[str, Any]:
        r = await self.http.post(
            f"/v1/applications/{application_id}/events",
            json={"event": event, "data": data, "reason": f"test {event}"},
            headers=headers("operator"),
        )
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    async def enrollment(self, enrollment_id: str, npi: str, due: date, **extra: Any) -> None:
        r = await self.http.post(
            "/v1/enrollments",
            json={
                "enrollment_id": enrollment_id,
                "organization_id": self.org,
                "npi": npi,
                "ptan": f"P{enrollment_id[-6:]}",
                "form": "CMS-855I",
                "state": "FL",
                "effective_date": "2024-01-01",
                "revalidation_due_date": due.isoformat(),
                **extra,
            },
            headers=headers("operator"),
        )
        assert r.status_code == 201, r.text

    async def projected(self, path: str, check: str, timeout: float = 30) -> None:
        """Wait until the read model shows what the API just recorded (projections follow
        each event within moments)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            r = await self.http.get(path, headers=headers("auditor"))
            if r.status_code == 200 and check in r.text:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{check} not in {path}"
            await asyncio.sleep(0.2)


@pytest.fixture
async def web_stack(dev_env: WorkflowEnvironment, sqlite_engine: Engine) -> AsyncIterator[WebStack]:
    task_queue = f"web-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, default_time_zone=ZONE, log_json=False, api_keys=API_KEYS
    )
    app = create_app(settings, client=dev_env.client, engine=sqlite_engine)
    async with build_worker(dev_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app) as http:
            yield WebStack(http, dev_env, sqlite_engine, f"org-{uuid.uuid4().hex[:8]}")
