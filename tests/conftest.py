"""Shared fixtures: the real Temporal servers from the PyPI wheels, and read-model databases."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.database import create_db_engine, create_schema
from workflows.converter import KeyRing, build_data_converter
from workflows.search_attributes import ALL_KEYS
from workflows.search_attributes import register as register_search_attributes

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"
TEMPORAL_CLI = BIN / "temporal"

# pytest-xdist's workers run with COLUMNS=80 and LINES=24 in their environment; the `enroll`
# subprocesses the tests start would inherit them and wrap at 80 columns, unlike in a serial run
# or a terminal. Each test that cares about the width sets it itself.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)
# One key ring for the whole run: workflows written by one test read back in another.
TEST_KEYRING = KeyRing.generate("test")
TEST_CONVERTER = build_data_converter(TEST_KEYRING)


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    # One server per test: time skips for every workflow on a server, and a workflow left open
    # by an earlier test (its worker gone) would hold the clock while its timer task waits.
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=TEST_CONVERTER
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=TEST_CONVERTER,
        ui=False,
        dev_server_extra_args=["--log-level", "error"],
        search_attributes=ALL_KEYS,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()
