"""The two stacks bench/throughput.py compares: the engine, and its bare Temporal twin.

Each has its own Temporal dev server (the same binary and flags), one worker process and one
API process, and knows how to phrase its requests, when an application's side effects are done,
where its CPU goes, and how to count one application's history.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
from abc import ABC, abstractmethod
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.database import create_db_engine
from bench.cpu import cpu_seconds, total_cpu_seconds
from tests.integration.cluster import (
    BIN,
    POSTGRES_URL,
    Cluster,
    free_port,
    npi,
    wait_for_pollers,
)
from workflows.search_attributes import dev_server_args


class Stack(ABC):
    name: str
    cluster: Cluster
    client: Client | None = None

    @property
    @abstractmethod
    def api_url(self) -> str: ...

    @property
    def headers(self) -> dict[str, str]:
        return {}

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    async def connect(self) -> Client: ...

    async def ready(self) -> None:
        """Connected, and every worker polls both its task queues."""
        self.client = await self.connect()
        await wait_for_pollers(self.client, self.cluster)

    def stop(self) -> None:
        self.cluster.stop()

    @abstractmethod
    def create_request(self, application_id: str, n: int) -> tuple[str, dict[str, Any]]: ...

    @abstractmethod
    def event_request(
        self, application_id: str, event: str, day: date
    ) -> tuple[str, dict[str, Any]]: ...

    def day_of(self, created: dict[str, Any]) -> date:
        return date.today()

    async def wait_done(self, ids: list[str]) -> None:
        """Until every application's side effects are done; a stack that never gets there
        stops the run with an error rather than hanging it."""
        timeout = 120 + 2 * len(ids)
        try:
            await asyncio.wait_for(self._wait_done(ids), timeout)
        except TimeoutError:
            raise RuntimeError(
                f"{self.name}: side effects of {len(ids)} applications not done in {timeout} s"
            ) from None

    @abstractmethod
    async def _wait_done(self, ids: list[str]) -> None: ...

    async def postgres_seconds(self, done: asyncio.Event) -> float:
        """CPU seconds of the PostgreSQL backends serving this stack, until `done` is set."""
        await done.wait()
        return 0.0

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each process group (a round subtracts two of these)."""
        cluster = self.cluster
        assert cluster.temporal is not None
        return {
            "worker": total_cpu_seconds(p.pid for p in cluster.worker_processes),
            "temporal server": cpu_seconds(cluster.temporal.pid),
            "API": total_cpu_seconds(p.pid for p in cluster.api_processes),
            "driver": cpu_seconds(os.getpid()),
        }

    @abstractmethod
    def workflow_id(self, application_id: str) -> str: ...

    async def history_shape(self, application_ids: list[str]) -> dict[str, float]:
        """The histories of these applications and their children, counted by kind of event,
        and their size in bytes (what the server stores and sends): the mean per application
        (the engine's varies with timing: projections coalesce)."""
        assert self.client is not None
        counts: collections.Counter[str] = collections.Counter()
        pending = [self.workflow_id(a) for a in application_ids]
        while pending:
            history = await self.client.get_workflow_handle(pending.pop()).fetch_history()
            for event in history.events:
                kind = event.WhichOneof("attributes")
                counts["events"] += 1
                counts["bytes"] += event.ByteSize()
                if kind == "child_workflow_execution_started_event_attributes":
                    started = event.child_workflow_execution_started_event_attributes
                    pending.append(started.workflow_execution.workflow_id)
                label = SHAPE_KINDS.get(kind or "")
                if label:
                    counts[label] += 1
        return {
            label: round(counts[label] / len(application_ids), 1)
            for label in ("events", "bytes", *SHAPE_KINDS.values())
        }


SHAPE_KINDS = {
    "workflow_execution_update_accepted_event_attributes": "updates",
    "activity_task_scheduled_event_attributes": "activities",
    "timer_started_event_attributes": "timers",
    "timer_canceled_event_attributes": "timers cancelled",
    "start_child_workflow_execution_initiated_event_attributes": "child workflows",
    "upsert_workflow_search_attributes_event_attributes": "search attribute upserts",
    "marker_recorded_event_attributes": "markers",
    "workflow_task_completed_event_attributes": "workflow tasks",
}


class EngineStack(Stack):
    """The engine as deploy/ runs it: `enroll worker`, `enroll api`, PostgreSQL read model."""

    name = "engine"

    def __init__(self, directory: Path) -> None:
        self.named = _NamedCluster(directory, workers=1, apis=1)
        self.cluster = self.named

    @property
    def api_url(self) -> str:
        return self.cluster.api_urls[0]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.cluster.operator_key}"}

    def start(self) -> None:
        self.cluster.start()

    async def connect(self) -> Client:
        from workflows.converter import build_data_converter

        return await Client.connect(
            self.cluster.temporal_address,
            data_converter=build_data_converter(self.cluster.keyring),
        )

    def create_request(self, application_id: str, n: int) -> tuple[str, dict[str, Any]]:
        return "/v1/applications", _create_body(application_id, n, "scale-org")

    def event_request(
        self, application_id: str, event: str, day: date
    ) -> tuple[str, dict[str, Any]]:
        return f"/v1/applications/{application_id}/events", _event_body(event, day)

    def day_of(self, created: dict[str, Any]) -> date:
        # Events are dated on the day the engine dated the application.
        return date.fromisoformat(created["events"][0]["event_date"])

    async def _wait_done(self, ids: list[str]) -> None:
        from bench.throughput_workers import all_projected

        await all_projected(self.cluster, ids)

    async def postgres_seconds(self, done: asyncio.Event) -> float:
        return await _backends_seconds(self.named.application_name, done)

    def workflow_id(self, application_id: str) -> str:
        return f"application-{application_id}"


async def _backends_seconds(application_name: str, done: asyncio.Event) -> float:
    """CPU seconds of the PostgreSQL backends connected under `application_name` (a stack's
    worker and API, not the driver nor other users of the same server) until `done` is set.
    Sampled: a backend whose connection the pool closes mid-round takes its CPU out of /proc
    with it, so its last value counts."""
    engine = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    start: dict[int, float] = {}
    last: dict[int, float] = {}
    first = True
    try:
        while True:
            for pid in await asyncio.to_thread(_backends, engine, application_name):
                seconds = cpu_seconds(pid)
                if seconds == 0.0 and pid in last:
                    continue  # gone between the query and the read
                if first:
                    start[pid] = seconds
                last[pid] = seconds
            first = False
            if done.is_set():
                return sum(seconds - start.get(pid, 0.0) for pid, seconds in last.items())
            try:
                await asyncio.wait_for(done.wait(), 0.25)
            except TimeoutError:
                pass
    finally:
        engine.dispose()


def _backends(engine: Engine, application_name: str) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application_name},
            ).scalars()
        )


class _NamedCluster(Cluster):
    """The engine's processes connect to PostgreSQL under a name of their own."""

    @property
    def application_name(self) -> str:
        return f"bench-{self.schema}"

    @property
    def database_url(self) -> str:
        return f"{super().database_url}&application_name={quote(self.application_name)}"


class BareStack(Stack):
    """bench/bare_twin.py's worker and API on a dev server of their own; with `read_model`, its
    activities write a minimal read model to PostgreSQL (a fresh schema, which the cluster's
    stop() drops as it drops the engine's)."""

    def __init__(self, directory: Path, read_model: bool = False) -> None:
        # The cluster's process handling and stop(); none of its engine processes.
        self.cluster = Cluster(directory, workers=0, apis=0)
        self.done_file = directory / "done.txt"
        self.read_model = read_model
        self.name = "bare_pg" if read_model else "bare"

    @property
    def application_name(self) -> str:
        return f"bench-{self.cluster.schema}"

    def _conninfo(self) -> str:
        # psycopg's own URL: the SQLAlchemy one without its driver name.
        options = quote(f"-csearch_path={self.cluster.schema}")
        base = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
        return f"{base}?options={options}&application_name={quote(self.application_name)}"

    async def postgres_seconds(self, done: asyncio.Event) -> float:
        if not self.read_model:
            return await super().postgres_seconds(done)
        return await _backends_seconds(self.application_name, done)

    @property
    def api_url(self) -> str:
        return self.cluster.api_urls[0]

    def start(self) -> None:
        cluster = self.cluster
        cluster.directory.mkdir(parents=True, exist_ok=True)
        self.done_file.touch()
        env = dict(os.environ)
        cluster.temporal = cluster._spawn(
            "temporal",
            [
                str(BIN / "temporal"),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(cluster.temporal_port),
                "--log-level",
                "error",
                *dev_server_args(),
            ],
            env=env,
        )
        cluster._wait_port(cluster.temporal_port, cluster.temporal)
        twin = [sys.executable, "-m", "bench.bare_twin"]
        common = ["--address", cluster.temporal_address, "--task-queue", cluster.task_queue]
        worker = [*twin, "worker", *common, "--done-file", str(self.done_file)]
        if self.read_model:
            admin = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {cluster.schema}")
            admin.dispose()
            worker += ["--read-model", self._conninfo()]
        cluster.worker_processes.append(cluster._spawn("bare-worker", worker, env))
        port = free_port()
        cluster.api_ports.append(port)
        cluster.api_processes.append(
            cluster._spawn("bare-api", [*twin, "api", *common, "--port", str(port)], env)
        )
        cluster._wait_port(port, cluster.api_processes[0])

    async def connect(self) -> Client:
        return await Client.connect(self.cluster.temporal_address)

    def create_request(self, application_id: str, n: int) -> tuple[str, dict[str, Any]]:
        body = _create_body(application_id, n, "bare-org")
        return "/applications", {**body, "npi": body["details"]["npi"]}

    def event_request(
        self, application_id: str, event: str, day: date
    ) -> tuple[str, dict[str, Any]]:
        return f"/applications/{application_id}/events", _event_body(event, day)

    async def _wait_done(self, ids: list[str]) -> None:
        wanted = set(ids)
        while not wanted <= set(self.done_file.read_text().split()):
            await asyncio.sleep(0.05)

    def workflow_id(self, application_id: str) -> str:
        return f"bare-application-{application_id}"


def _create_body(application_id: str, n: int, organization: str) -> dict[str, Any]:
    from tests.workflow.harness import INDIVIDUAL

    return {
        "application_id": application_id,
        "organization_id": organization,
        "form": "CMS-855I",
        "purpose": "initial",
        "details": {**INDIVIDUAL, "npi": npi(n)},
        "reason": "throughput",
    }


def _event_body(event: str, day: date) -> dict[str, Any]:
    # The same bodies on both sides: signed when filed, as most PECOS filings are.
    from tests.workflow.harness import event_data

    data = event_data(event, day, "signed" if event == "submit" else None)
    return {"event": event, "data": data, "reason": "throughput"}
