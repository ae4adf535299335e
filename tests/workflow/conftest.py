"""Fixtures of the workflow tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from tests.workflow.harness import ApplicationDriver, driving


@pytest.fixture
async def driver(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[ApplicationDriver]:
    """An operator driving applications on the time-skipping server, the engine's worker running
    (a test module may define its own `driver`)."""
    async with driving(time_skipping_env, sqlite_engine) as driver:
        yield driver
