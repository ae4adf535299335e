"""One pass over an activation's and a completion's payloads, not three, when the worker has no
external payload storage (the engine configures none).

The SDK (temporalio 1.35) walks every workflow activation three times before the workflow sees
it (external-storage references decoded, externally stored payloads retrieved, the codec's
decode) and every completion three times before it goes to the server (the codec's encode,
external storage, references encoded), each walk a visit of the whole protobuf tree (the
storage walks with an asyncio task per payload). Without external storage four of those six
walks change nothing: the retrieve and store steps return each payload as it was, and the
reference steps only act on payloads that external storage wrote. Measured (issue 22): the walks
were 9 to 11% of the worker's samples in the throughput benchmark, 7% after. Here, when the data
converter has no external storage, the activation gets only the codec's decode and the
completion only the codec's encode; with external storage configured, the SDK's own three
passes run.

One check of the skipped walks is kept: a payload marked as an external-storage reference
arriving at a worker without external storage fails the activation with the SDK's own error
(TMPRL1105), not with a codec error.

The two functions replaced are the SDK's internals (`temporalio.bridge.worker.decode_activation`
and `encode_completion`, looked up by the workflow worker at each call):
tests/workflow/test_payload_passes.py runs a whole application through both paths and compares
every activation and completion, so an SDK that changes them fails there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import temporalio.bridge.worker as bridge_worker
from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter
from temporalio.converter._data_converter import _has_reference_marker
from temporalio.converter._extstore import StorageOperationMetrics
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

# The SDK's own functions, kept when this module is imported again after install().
_SDK_DECODE: Callable[..., Awaitable[StorageOperationMetrics]] = getattr(
    bridge_worker.decode_activation, "sdk_function", bridge_worker.decode_activation
)
_SDK_ENCODE: Callable[..., Awaitable[StorageOperationMetrics]] = getattr(
    bridge_worker.encode_completion, "sdk_function", bridge_worker.encode_completion
)


def _checked_decode(
    data_converter: DataConverter,
) -> Callable[[Sequence[Payload]], Awaitable[list[Payload]]]:
    async def decode(payloads: Sequence[Payload]) -> list[Payload]:
        if any(_has_reference_marker(p) for p in payloads):
            # The SDK's reference step raises its TMPRL1105 for these.
            payloads = await data_converter._decode_reference_payload_sequence(payloads)
        return await data_converter._decode_payload_sequence(payloads)

    return decode


async def decode_activation(
    activation: WorkflowActivation,
    data_converter: DataConverter,
    decode_headers: bool,
    storage_concurrency_limit: int,
) -> StorageOperationMetrics:
    """The SDK's `decode_activation`, in one pass when there is no external storage."""
    if data_converter.external_storage is not None:
        return await _SDK_DECODE(
            activation, data_converter, decode_headers, storage_concurrency_limit
        )
    await CommandAwarePayloadVisitor(
        skip_search_attributes=True, skip_headers=not decode_headers
    ).visit(bridge_worker._Visitor(_checked_decode(data_converter)), activation)
    return StorageOperationMetrics()


async def encode_completion(
    completion: WorkflowActivationCompletion,
    data_converter: DataConverter,
    encode_headers: bool,
    storage_concurrency_limit: int,
) -> StorageOperationMetrics:
    """The SDK's `encode_completion`, in one pass when there is no external storage."""
    if data_converter.external_storage is not None:
        return await _SDK_ENCODE(
            completion, data_converter, encode_headers, storage_concurrency_limit
        )
    await CommandAwarePayloadVisitor(
        skip_search_attributes=True, skip_headers=not encode_headers
    ).visit(bridge_worker._Visitor(data_converter._encode_payload_sequence), completion)
    return StorageOperationMetrics()


def _marked(function: Any, sdk_function: Any) -> Any:
    function.sdk_function = sdk_function
    return function


def install() -> None:
    """Route the workflow worker's payload passes through this module (idempotent)."""
    bridge_worker.decode_activation = _marked(decode_activation, _SDK_DECODE)
    bridge_worker.encode_completion = _marked(encode_completion, _SDK_ENCODE)
