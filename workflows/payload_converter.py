"""The pydantic payload converter, its type adapters shared by every workflow instance.

The SDK builds a new payload converter for each workflow instance, and with it an empty cache
of pydantic `TypeAdapter`s, so every new workflow built the adapters of its update, signal and
activity types again: about 2% of the worker's time in the throughput benchmark (issue 22).
Here the JSON converter of every instance takes its adapters from one bounded cache per process.

Only hints made of types every instance shares are cached: a class defined in a module the
sandbox re-imports for each workflow (workflows/sandbox.py) is a new class in every instance,
and a process-wide cache would keep those instances' modules alive."""

from __future__ import annotations

import typing
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
)

from models.application import ApplicationEventRequest
from models.enrollment import EnrollmentEventRequest
from workflows.sandbox import PASSTHROUGH_MODULES, REIMPORTED_PACKAGES

# Payload types that are unions told apart by a field (`Annotated[Union[...],
# Field(discriminator=...)]`). The SDK reads a handler's types with `typing.get_type_hints`,
# which drops `Annotated` and with it the discriminator: pydantic then tries every member of
# the union in turn (12 to 30 times slower per event, 3% of the worker's time in the throughput
# benchmark, issue 22). The converter gives such a union its discriminator back. Every payload
# of these unions carries its tag: the events declare it as a field with a default, and the
# converter writes defaults (recorded histories included), so none depends on the old matching.
TAGGED_UNIONS: tuple[Any, ...] = (ApplicationEventRequest, EnrollmentEventRequest)


def _reimported(module: str) -> bool:
    if module.partition(".")[0] not in REIMPORTED_PACKAGES:
        return False
    return not any(module == p or module.startswith(f"{p}.") for p in PASSTHROUGH_MODULES)


def shareable(hint: Any) -> bool:
    """True when no part of `hint` is a class the sandbox defines anew for each workflow, and
    nothing in it is made anew by each instance (an `Annotated` hint's metadata is, and so is a
    `TypeVar` or alias a workflow module defines). The event unions of `models` are the one
    exception: module constants of a passed-through package, one object (metadata included)
    for every instance."""
    if any(hint is union for union in TAGGED_UNIONS):
        return True
    if typing.get_origin(hint) is Annotated:
        return False
    if _reimported(str(getattr(hint, "__module__", ""))):
        return False
    if isinstance(hint, type):
        if issubclass(hint, BaseModel):  # a parametrised pydantic generic keeps its arguments here
            arguments = hint.__pydantic_generic_metadata__.get("args", ())
            if not all(shareable(arg) for arg in arguments):
                return False
    return all(shareable(arg) for arg in typing.get_args(hint))


# The process's adapters, by hint. Only shareable hints get one: remembering the others would
# keep their per-instance classes, and with them the instance's modules, alive.
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
_MAX_ADAPTERS = 512
# The union as the SDK hands it (without Annotated) -> the adapter of the tagged union; built
# once, kept for the process (these hints live in `models`, which every instance shares).
_TAGGED: dict[Any, TypeAdapter[Any]] = {
    typing.get_args(hint)[0]: TypeAdapter(hint) for hint in TAGGED_UNIONS
}


def shared_adapter(hint: Any) -> TypeAdapter[Any] | None:
    """The process's adapter for `hint`; None when the hint is not shareable. Raises TypeError
    for an unhashable hint."""
    adapter = _TAGGED.get(hint)
    if adapter is None:
        adapter = _ADAPTERS.get(hint)
    if adapter is None:
        if not shareable(hint):
            return None
        if len(_ADAPTERS) >= _MAX_ADAPTERS:
            _ADAPTERS.clear()
        adapter = _ADAPTERS.setdefault(hint, TypeAdapter(hint))
    return adapter


class SharedAdaptersJSONConverter(PydanticJSONPlainPayloadConverter):
    """`json/plain` through pydantic, as the SDK's, with the process's adapters."""

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            adapter = shared_adapter(type_hint if type_hint is not None else Any)
        except TypeError:  # an unhashable hint: the SDK's own path
            adapter = None
        if adapter is None:
            return super().from_payload(payload, type_hint)
        return adapter.validate_json(payload.data)


# The SDK's default encoding converters, in its order (the first that takes a value encodes
# it), JSON through one converter for the process. That one caches no adapter of its own: the
# hints it does not share (above) go to the SDK's path, whose cache, shared, would keep their
# per-instance classes alive; each such hint gets a new adapter, as in a new instance.
_ENCODING_CONVERTERS: tuple[EncodingPayloadConverter, ...] = tuple(
    SharedAdaptersJSONConverter(max_cached_type_adapters=0)
    if isinstance(c, JSONPlainPayloadConverter)
    else c
    for c in DefaultPayloadConverter.default_encoding_payload_converters
)


class EnginePayloadConverter(PydanticPayloadConverter):
    """The SDK's pydantic payload converter with SharedAdaptersJSONConverter for JSON.

    Its encoding converters are built once per process and shared by every instance: the SDK
    builds a payload converter for every workflow instance and for every activation it handles
    (its command-aware data converter), and building the JSON converter (a pydantic serializer and
    an `lru_cache`), twice since this class replaces the one `PydanticPayloadConverter` builds,
    was 4.5% of the worker's time in the throughput benchmark (issue 22). The SDK shares its
    other encoding converters between instances already; none keeps state but the adapters'
    caches, which are made to be shared."""

    def __init__(self) -> None:
        # Not PydanticPayloadConverter.__init__: it only builds the JSON converter replaced here.
        CompositePayloadConverter.__init__(self, *_ENCODING_CONVERTERS)
