"""The engine's payload converter (workflows/payload_converter.py) writes and reads what the SDK's
pydantic converter does, and every workflow instance's converter shares one cache of type
adapters, except for types the sandbox defines anew in each instance."""

from __future__ import annotations

import gc
import weakref
from datetime import date
from typing import Annotated, Any, Generic, TypeVar, get_type_hints

from pydantic import BaseModel, Field, ValidationError
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter

from models.application import ApplicationEventRequest
from models.application.events import Withdrawn
from models.contracts import Incident
from workflows.payload_converter import (
    _ADAPTERS,
    TAGGED_UNIONS,
    EnginePayloadConverter,
    SharedAdaptersJSONConverter,
    shareable,
)

T = TypeVar("T")


class Letter(BaseModel):
    subject: str
    sent_on: date


def _reimported_class() -> type:
    # As the sandbox defines it for one workflow instance: a class of a workflow module.
    return type("PerInstance", (BaseModel,), {"__module__": "workflows.application"})


def test_it_writes_and_reads_what_the_sdks_converter_does() -> None:
    value = [Letter(subject="Revalidation due", sent_on=date(2027, 3, 31)), {"n": 1}, None]
    ours, sdks = EnginePayloadConverter(), PydanticPayloadConverter()
    payloads = ours.to_payloads(value)
    assert payloads == sdks.to_payloads(value)
    hints: list[Any] = [Letter, dict[str, int], type(None)]
    assert ours.from_payloads(payloads, hints) == sdks.from_payloads(payloads, hints) == value


def test_a_new_instance_reuses_the_adapters_of_the_ones_before() -> None:
    [payload] = EnginePayloadConverter().to_payloads([Letter(subject="s", sent_on=date.today())])
    EnginePayloadConverter().from_payloads([payload], [Letter])
    adapter, cached = _ADAPTERS[Letter], len(_ADAPTERS)
    EnginePayloadConverter().from_payloads([payload], [Letter])  # as the next workflow's would
    assert _ADAPTERS[Letter] is adapter and len(_ADAPTERS) == cached


def test_only_types_every_instance_shares_are_cached() -> None:
    assert shareable(Incident) and shareable(list[Incident]) and shareable(Letter)
    per_instance = _reimported_class()
    assert not shareable(per_instance)
    assert not shareable(list[per_instance])  # type: ignore[valid-type]
    assert not shareable(dict[str, per_instance | None])  # type: ignore[valid-type]
    before = len(_ADAPTERS)
    [payload] = EnginePayloadConverter().to_payloads([{}])
    EnginePayloadConverter().from_payloads([payload], [dict])
    after_shared = len(_ADAPTERS)
    EnginePayloadConverter().from_payloads([payload], [per_instance])
    assert len(_ADAPTERS) == after_shared <= before + 1
    assert per_instance not in _ADAPTERS


class Box(BaseModel, Generic[T]):
    item: T


def test_hints_made_anew_per_instance_are_not_shared() -> None:
    per_instance = _reimported_class()
    assert not shareable(Box[per_instance])  # type: ignore[valid-type]
    assert shareable(Box[Incident])
    assert not shareable(Annotated[int, Field(ge=0)])  # its metadata is new in every instance
    # ...except the event unions of `models`: one object for every instance.
    assert all(shareable(union) for union in TAGGED_UNIONS)
    state_type = TypeVar("state_type")
    state_type.__module__ = "workflows.record"  # as a workflow module defines it per instance
    assert not shareable(state_type)
    assert shareable(T)


def test_a_per_instance_class_is_not_kept_alive_by_the_converter() -> None:
    per_instance = _reimported_class()
    [payload] = EnginePayloadConverter().to_payloads([{}])
    EnginePayloadConverter().from_payloads([payload], [per_instance])
    gone = weakref.ref(per_instance)
    del per_instance
    gc.collect()
    assert gone() is None  # what the workflow instance's modules would be kept alive by


def test_an_event_union_keeps_its_discriminator_when_the_sdk_drops_annotated() -> None:
    # The SDK reads an update handler's hint with typing.get_type_hints, as here: the
    # Annotated[..., Field(discriminator="event")] around the union is gone.
    def record_event(request: ApplicationEventRequest) -> None: ...

    sdk_hint = get_type_hints(record_event)["request"]
    assert get_type_hints(record_event, include_extras=True)["request"] != sdk_hint
    converter = EnginePayloadConverter()
    event = Withdrawn(actor="ops@example.org", reason="provider asked", requested_on=None)
    (payload,) = converter.to_payloads([event])
    assert converter.from_payloads([payload], [sdk_hint]) == [event]
    # Told apart by `event` alone, as the tagged union does: a bad tag is named as such, not
    # reported as a failure of each of the 25 events in turn.
    payload.data = payload.data.replace(b'"withdrawn"', b'"no_such_event"')
    try:
        converter.from_payloads([payload], [sdk_hint])
    except ValidationError as exc:
        assert [e["type"] for e in exc.errors()] == ["union_tag_invalid"]
    else:
        raise AssertionError("an unknown event was accepted")


def test_every_instance_shares_the_encoding_converters_in_the_sdks_order() -> None:
    # Built once per process (the SDK builds a converter per instance and per activation).
    first, second, sdks = (
        EnginePayloadConverter(),
        EnginePayloadConverter(),
        PydanticPayloadConverter(),
    )
    assert list(first.converters) == list(sdks.converters)  # the encodings, in the same order
    assert all(
        a is b for a, b in zip(first.converters.values(), second.converters.values(), strict=True)
    )
    assert isinstance(first.converters[b"json/plain"], SharedAdaptersJSONConverter)
    assert all(
        type(ours) is type(theirs)
        for ours, theirs in zip(first.converters.values(), sdks.converters.values(), strict=True)
        if not isinstance(theirs, PydanticJSONPlainPayloadConverter)
    )
