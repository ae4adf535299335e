"""How every process (worker, API, CLI, Replayer tooling) reaches Temporal: one client
configuration with the one data converter, so payloads are always encoded the same way, and the
same transport security (mTLS client certificate or Temporal Cloud API key) everywhere."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.service import TLSConfig

from workflows.converter import KeyRing, build_data_converter
from workflows.settings import Settings


def keyring_from(settings: Settings) -> KeyRing | None:
    return KeyRing.from_config(settings.payload_keys) if settings.payload_keys else None


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS for the Temporal connection: a client certificate (mTLS), a private CA, a server
    name, or plain TLS for an API key (Temporal Cloud accepts API keys over TLS only); False
    for a plaintext local server."""
    cert, key, ca = settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca
    if cert is None and ca is None and settings.temporal_tls_server_name is None:
        return settings.temporal_api_key is not None
    return TLSConfig(
        client_cert=cert.read_bytes() if cert is not None else None,
        client_private_key=key.read_bytes() if key is not None else None,
        server_root_ca_cert=ca.read_bytes() if ca is not None else None,
        domain=settings.temporal_tls_server_name,
    )


def connect_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of Client.connect for `settings` (besides the address)."""
    return {
        "namespace": settings.temporal_namespace,
        "data_converter": build_data_converter(keyring_from(settings)),
        "tls": tls_config(settings),
        "api_key": settings.temporal_api_key,
    }


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, **connect_options(settings))
