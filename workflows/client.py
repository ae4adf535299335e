"""How every process (worker, API, CLI, Replayer tooling) reaches Temporal: one client
configuration with the one data converter, so payloads are always encoded the same way."""

from __future__ import annotations

from temporalio.client import Client

from workflows.converter import KeyRing, build_data_converter
from workflows.settings import Settings


def keyring_from(settings: Settings) -> KeyRing | None:
    return KeyRing.from_config(settings.payload_keys) if settings.payload_keys else None


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=build_data_converter(keyring_from(settings)),
    )
