"""ENROLL_ORGANIZATION_TIME_ZONES: a new record of an organisation counts its days in that
organisation's zone (docs/regulation.md, "Counting days"); other organisations use the default
zone, and a zone named in the request wins."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.integration.test_api_reads import API_KEYS, AUTH, _serve, npi
from worker import build_worker
from workflows.settings import Settings

CHICAGO = "America/Chicago"


@pytest.fixture
async def http(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[httpx.AsyncClient]:
    task_queue = f"zones-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue,
        log_json=False,
        api_keys=API_KEYS,
        organization_time_zones={"prairie-clinic": CHICAGO},
    )
    app = create_app(settings, client=time_skipping_env.client, engine=sqlite_engine)
    async with build_worker(time_skipping_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app, AUTH) as client:
            yield client


async def _zone_of(http: httpx.AsyncClient, organization_id: str, n: int, **extra: str) -> str:
    created = await http.post(
        "/v1/applications",
        json={
            "application_id": f"tz-{uuid.uuid4().hex[:8]}",
            "organization_id": organization_id,
            "form": "CMS-855I",
            "purpose": "initial",
            "details": {"legal_name": "Jane Doe", "npi": npi(n)},
            "reason": "time zones",
            **extra,
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["time_zone"])


async def test_each_organisation_counts_days_in_its_own_zone(http: httpx.AsyncClient) -> None:
    assert await _zone_of(http, "prairie-clinic", 41) == CHICAGO
    assert await _zone_of(http, "coastal-group", 42) == "America/New_York"
    assert await _zone_of(http, "prairie-clinic", 43, time_zone="America/Denver") == (
        "America/Denver"
    )
