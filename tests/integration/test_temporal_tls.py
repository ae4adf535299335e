"""The client reaches Temporal over mutual TLS with the settings' certificate, key and CA.

`temporal server start-dev` (CLI 1.9.1) has no TLS flags, so the test puts a TLS terminator in
front of the dev server: it demands a client certificate signed by the test's CA (as Temporal
Cloud and an mTLS cluster do), speaks HTTP/2 (ALPN h2) and passes the bytes through. The
certificates are made here with `cryptography`."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.testing import WorkflowEnvironment

from workflows.client import connect
from workflows.settings import Settings


@dataclass
class Pem:
    cert: Path
    key: Path


def _issue(
    directory: Path,
    name: str,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    usage: x509.ObjectIdentifier | None,
) -> tuple[Pem, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    pem = Pem(directory / f"{name}.crt", directory / f"{name}.key")
    pem.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pem, cert, key


@dataclass
class Pki:
    ca: Pem
    server: Pem
    client: Pem
    stranger: Pem  # a client certificate from another CA


def _pki(directory: Path) -> Pki:
    ca, ca_cert, ca_key = _issue(directory, "ca", issuer=None, usage=None)
    server, _, _ = _issue(
        directory, "server", issuer=(ca_cert, ca_key), usage=ExtendedKeyUsageOID.SERVER_AUTH
    )
    client, _, _ = _issue(
        directory, "enroll-worker", issuer=(ca_cert, ca_key), usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    _, other_cert, other_key = _issue(directory, "other-ca", issuer=None, usage=None)
    stranger, _, _ = _issue(
        directory, "stranger", issuer=(other_cert, other_key), usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    return Pki(ca, server, client, stranger)


@dataclass
class Terminator:
    port: int
    peers: list[str]  # the common name of each client certificate accepted


@pytest.fixture
async def mtls_frontend(
    tmp_path: Path, dev_env: WorkflowEnvironment
) -> AsyncIterator[tuple[Terminator, Pki]]:
    pki = _pki(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca.cert))
    context.load_cert_chain(pki.server.cert, pki.server.key)
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    context.set_alpn_protocols(["h2"])
    upstream_host, upstream_port = dev_env.client.service_client.config.target_host.rsplit(":", 1)
    peers: list[str] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        peers.extend(v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName")
        up_reader, up_writer = await asyncio.open_connection(upstream_host, int(upstream_port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Terminator(port, peers), pki
    finally:
        server.close()


def _settings(port: int, pki: Pki, client: Pem | None) -> Settings:
    return Settings(
        temporal_address=f"127.0.0.1:{port}",
        temporal_tls_cert=client.cert if client else None,
        temporal_tls_key=client.key if client else None,
        temporal_tls_ca=pki.ca.cert,
        temporal_tls_server_name="localhost",
    )


async def test_the_client_connects_with_its_certificate(mtls_frontend) -> None:
    frontend, pki = mtls_frontend
    client = await connect(_settings(frontend.port, pki, pki.client))
    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version
    async for _ in client.list_workflows(page_size=1):
        break
    assert "enroll-worker" in frontend.peers


async def test_without_a_certificate_the_frontend_refuses(mtls_frontend) -> None:
    frontend, pki = mtls_frontend
    with pytest.raises(RuntimeError):
        await connect(_settings(frontend.port, pki, None))
    assert frontend.peers == []


async def test_a_certificate_from_another_ca_is_refused(mtls_frontend) -> None:
    frontend, pki = mtls_frontend
    with pytest.raises(RuntimeError):
        await connect(_settings(frontend.port, pki, pki.stranger))
    assert frontend.peers == []


async def test_plaintext_to_a_tls_frontend_fails(mtls_frontend) -> None:
    frontend, _ = mtls_frontend
    with pytest.raises(RuntimeError):
        await connect(Settings(temporal_address=f"127.0.0.1:{frontend.port}"))


async def test_a_worker_process_polls_over_mtls_with_its_settings(
    mtls_frontend, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # `enroll worker` as deploy/ runs it: the files named by ENROLL_TEMPORAL_TLS_*.
    frontend, pki = mtls_frontend
    task_queue = f"mtls-{uuid.uuid4().hex[:8]}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLL_", "TEMPORAL_"))}
    worker = subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=Path(__file__).resolve().parents[2],
        env={
            **clean,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{frontend.port}",
            "ENROLL_TEMPORAL_TLS_CERT": str(pki.client.cert),
            "ENROLL_TEMPORAL_TLS_KEY": str(pki.client.key),
            "ENROLL_TEMPORAL_TLS_CA": str(pki.ca.cert),
            "ENROLL_TEMPORAL_TLS_SERVER_NAME": "localhost",
            "ENROLL_TASK_QUEUE": task_queue,
            "ENROLL_DATA_DIR": str(tmp_path / "data"),
            "ENROLL_REGISTER_SEARCH_ATTRIBUTES": "false",
            "ENROLL_LOG_JSON": "true",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        identity = f"{worker.pid}@{socket.gethostname()}"
        pollers: set[str] = set()
        for _ in range(300):
            assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
            described = await dev_env.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=task_queue))
            )
            pollers = {p.identity for p in described.pollers}
            if identity in pollers:
                break
            await asyncio.sleep(0.1)
        assert identity in pollers
        assert "enroll-worker" in frontend.peers
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 60)
