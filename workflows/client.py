"""How every process (worker, API, CLI, Replayer tooling) reaches Temporal: one client
configuration with the one data converter, so payloads are always encoded the same way, and the
same transport security (mTLS client certificate or Temporal Cloud API key) everywhere."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.service import RetryConfig, TLSConfig

from workflows.converter import KeyRing, build_data_converter
from workflows.runtime import engine_runtime
from workflows.settings import Settings

# How to make a key ring, for the refusal below (32 random bytes, base64, with a key id).
MAKE_KEY_RING = (
    "export ENROLL_PAYLOAD_KEYS=\"k1:$(python -c 'import os,base64;"
    "print(base64.b64encode(os.urandom(32)).decode())')\""
)
INSECURE_WARNING = (
    "PAYLOAD ENCRYPTION IS OFF (--insecure-no-encryption): names, SSNs, dates of birth and "
    "every other value go to the Temporal database and history IN CLEAR. Set "
    "ENROLL_PAYLOAD_KEYS for anything but a throwaway test."
)


class MissingKeyRing(RuntimeError):
    """A worker or API asked to run without ENROLL_PAYLOAD_KEYS and without saying it means it."""


def keyring_from(settings: Settings) -> KeyRing | None:
    return KeyRing.from_config(settings.payload_keys) if settings.payload_keys else None


def require_keyring(settings: Settings, *, insecure_no_encryption: bool) -> KeyRing | None:
    """The key ring a production process (`enroll worker`, `enroll api`) must have: it fails
    closed, since without one every payload reaches Temporal in clear. Only an explicit
    `--insecure-no-encryption` runs without it (the caller logs INSECURE_WARNING). `enroll dev`
    and `enroll sandbox` make their own key and never come here."""
    keyring = keyring_from(settings)
    if keyring is None and not insecure_no_encryption:
        raise MissingKeyRing(
            "ENROLL_PAYLOAD_KEYS is not set, so payloads (names, SSNs, dates of birth) would be "
            "stored in clear: refusing to start. Make a key ring and keep it secret, e.g. "
            f"{MAKE_KEY_RING} (format 'KEY_ID:BASE64_KEY,...', the first key encrypts), or pass "
            "--insecure-no-encryption if you really mean to store payloads unencrypted."
        )
    return keyring


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
        "runtime": engine_runtime(),
    }


# The API's calls give up on an unreachable server after this long (the SDK's default retries
# for 10 s): it answers 503 instead (api/outages.py).
API_RETRIES = RetryConfig(max_elapsed_time_millis=2000, max_retries=4)


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client on the engine's data converter. `lazy` (the API): connect on first use, so the
    API starts and answers 503 while Temporal is down, and give up on retries sooner."""
    return await Client.connect(
        settings.temporal_address,
        **connect_options(settings),
        lazy=lazy,
        retry_config=API_RETRIES if lazy else None,
    )
