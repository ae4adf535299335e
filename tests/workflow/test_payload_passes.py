"""The worker's payload passes (workflows/payload_passes.py, issue 22): with no external storage,
one codec pass over each activation and each completion gives what the SDK's three give, checked
on every activation and completion of an application's whole approval path (updates, side-effect
rounds, the enrollment it starts); a reference payload still fails with the SDK's error."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.bridge import worker as bridge_worker
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter
from temporalio.converter._extstore import _REFERENCE_MARKER_KEY
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

from models.application import ApplicationStatus
from tests.conftest import TEST_CONVERTER
from tests.workflow.harness import ApplicationDriver
from workflows import payload_passes

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _walk(message: Any, f: Any) -> None:
    await CommandAwarePayloadVisitor(skip_search_attributes=True, skip_headers=False).visit(
        bridge_worker._Visitor(f), message
    )


async def _encodings(message: Any) -> list[bytes]:
    seen: list[bytes] = []

    async def note(payloads: Any) -> Any:
        seen.extend(p.metadata.get("encoding", b"") for p in payloads)
        return payloads

    await _walk(message, note)
    return seen


async def _plain(message: Any, data_converter: DataConverter) -> bytes:
    copy = type(message)()
    copy.CopyFrom(message)
    assert data_converter.payload_codec is not None
    await _walk(copy, data_converter.payload_codec.decode)
    return bytes(copy.SerializeToString(deterministic=True))


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bool]]:
    """Runs the SDK's passes on a copy of every activation and completion next to the engine's,
    and notes whether they agree."""
    results: dict[str, list[bool]] = {"activations": [], "completions": []}
    ours_decode, ours_encode = payload_passes.decode_activation, payload_passes.encode_completion

    async def decode(act: WorkflowActivation, dc: DataConverter, **kw: Any) -> Any:
        theirs = WorkflowActivation()
        theirs.CopyFrom(act)
        await payload_passes._SDK_DECODE(theirs, dc, **kw)
        metrics = await ours_decode(act, dc, **kw)
        results["activations"].append(
            act.SerializeToString(deterministic=True)
            == theirs.SerializeToString(deterministic=True)
        )
        return metrics

    async def encode(done: WorkflowActivationCompletion, dc: DataConverter, **kw: Any) -> Any:
        theirs = WorkflowActivationCompletion()
        theirs.CopyFrom(done)
        await payload_passes._SDK_ENCODE(theirs, dc, **kw)
        metrics = await ours_encode(done, dc, **kw)
        # Encryption draws a fresh nonce: compare what was encrypted, and the plaintexts.
        results["completions"].append(
            await _encodings(done) == await _encodings(theirs)
            and await _plain(done, dc) == await _plain(theirs, dc)
        )
        return metrics

    monkeypatch.setattr(bridge_worker, "decode_activation", decode)
    monkeypatch.setattr(bridge_worker, "encode_completion", encode)
    return results


async def test_one_pass_gives_what_the_sdks_three_give(
    driver: ApplicationDriver, compared: dict[str, list[bool]]
) -> None:
    state = await driver.approved_through_development()
    assert state.status == ApplicationStatus.APPROVED
    assert len(compared["activations"]) > 10, "the worker's passes are not the patched ones"
    assert all(compared["activations"]), compared["activations"]
    assert len(compared["completions"]) > 10
    assert all(compared["completions"]), compared["completions"]


async def test_the_passes_are_installed_on_the_worker_path() -> None:
    from workflows.sandbox import workflow_runner

    workflow_runner()
    assert bridge_worker.decode_activation is payload_passes.decode_activation
    assert bridge_worker.encode_completion is payload_passes.encode_completion


async def test_a_reference_payload_without_external_storage_fails_as_in_the_sdk() -> None:
    activation = WorkflowActivation()
    job = activation.jobs.add()
    reference = Payload(metadata={"encoding": b"json/plain", _REFERENCE_MARKER_KEY: b"true"})
    job.initialize_workflow.arguments.append(reference)
    with pytest.raises(RuntimeError, match="TMPRL1105") as ours:
        await payload_passes.decode_activation(activation, TEST_CONVERTER, True, 1)
    with pytest.raises(RuntimeError, match="TMPRL1105") as theirs:
        await payload_passes._SDK_DECODE(activation, TEST_CONVERTER, True, 1)
    assert str(ours.value) == str(theirs.value)
