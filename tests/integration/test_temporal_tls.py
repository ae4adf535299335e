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
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hpack
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import TEST_KEYRING
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
    authorizations: list[str]  # the `authorization` header of each request


class HeaderTap:
    """Reads the request headers out of the client's side of an HTTP/2 connection (frames, then
    HPACK): how the test sees the API key the way a Temporal Cloud frontend would."""

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def __init__(self, found: list[str]) -> None:
        self.found, self.buffer, self.block = found, b"", b""
        self.preface_seen = False
        self.decoder = hpack.Decoder()

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if not self.preface_seen:
            if len(self.buffer) < len(self.PREFACE):
                return
            assert self.buffer.startswith(self.PREFACE), "not HTTP/2"
            self.buffer, self.preface_seen = self.buffer[len(self.PREFACE) :], True
        while len(self.buffer) >= 9:
            length, kind, flags = int.from_bytes(self.buffer[:3]), self.buffer[3], self.buffer[4]
            if len(self.buffer) < 9 + length:
                return
            payload, self.buffer = self.buffer[9 : 9 + length], self.buffer[9 + length :]
            if kind == 0x1:  # HEADERS
                if flags & 0x8:  # PADDED
                    payload = payload[1 : len(payload) - payload[0]]
                if flags & 0x20:  # PRIORITY
                    payload = payload[5:]
                self.block = payload
            elif kind == 0x9:  # CONTINUATION
                self.block += payload
            else:
                continue
            if flags & 0x4:  # END_HEADERS
                for name, value in self.decoder.decode(self.block, raw=False):
                    if name == "authorization":
                        self.found.append(str(value))  # raw=False: already text
                self.block = b""


@asynccontextmanager
async def _frontend(
    pki: Pki, upstream: str, *, client_certificates: bool
) -> AsyncIterator[Terminator]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca.cert))
    context.load_cert_chain(pki.server.cert, pki.server.key)
    # mTLS: no client certificate, no connection. Temporal Cloud with an API key: TLS only.
    context.verify_mode = ssl.CERT_REQUIRED if client_certificates else ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    upstream_host, upstream_port = upstream.rsplit(":", 1)
    frontend = Terminator(0, [], [])

    async def pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tap: HeaderTap | None = None
    ) -> None:
        try:
            while data := await reader.read(65536):
                if tap is not None:
                    tap.feed(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        frontend.peers.extend(
            v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"
        )
        up_reader, up_writer = await asyncio.open_connection(upstream_host, int(upstream_port))
        tap = HeaderTap(frontend.authorizations)
        await asyncio.gather(pipe(reader, up_writer, tap), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    frontend.port = server.sockets[0].getsockname()[1]
    try:
        yield frontend
    finally:
        server.close()


@pytest.fixture
async def mtls_frontend(
    tmp_path: Path, dev_env: WorkflowEnvironment
) -> AsyncIterator[tuple[Terminator, Pki]]:
    pki = _pki(tmp_path)
    upstream = dev_env.client.service_client.config.target_host
    async with _frontend(pki, upstream, client_certificates=True) as frontend:
        yield frontend, pki


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
            # A worker refuses to start without a key ring (issue 16, defect 2).
            "ENROLL_PAYLOAD_KEYS": TEST_KEYRING.to_config(),
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


async def test_an_api_key_goes_over_tls_as_a_bearer_token(
    tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    # Temporal Cloud's other way in: TEMPORAL_API_KEY, sent with every call, over TLS.
    pki = _pki(tmp_path)
    upstream = dev_env.client.service_client.config.target_host
    async with _frontend(pki, upstream, client_certificates=False) as frontend:
        settings = Settings(
            temporal_address=f"127.0.0.1:{frontend.port}",
            temporal_api_key="cloud-api-key-for-the-test",
            temporal_tls_ca=pki.ca.cert,
            temporal_tls_server_name="localhost",
        )
        client = await connect(settings)
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert info.server_version
        assert frontend.authorizations
        assert set(frontend.authorizations) == {"Bearer cloud-api-key-for-the-test"}
        assert frontend.peers == []  # no client certificate was needed or sent
