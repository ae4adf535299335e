"""The engine's sandbox answers the SDK's serialization-context and external-store-context
questions without entering the sandbox (workflows/sandbox.py, issue 22), and answers them
exactly as the SDK's own path does: checked on every question asked while an application runs
its whole approval path (updates, side-effect rounds, the enrollment it starts)."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.bridge import worker as bridge_worker
from temporalio.converter import (
    ActivitySerializationContext,
    StorageDriverWorkflowInfo,
    WorkflowSerializationContext,
)
from temporalio.worker.workflow_sandbox._runner import _Instance

from models.application import ApplicationStatus
from tests.workflow.harness import ApplicationDriver
from workflows import payload_passes
from workflows.sandbox import _CompiledOnceInstance

pytestmark = pytest.mark.asyncio(loop_scope="session")


QUESTIONS = ("get_serialization_context", "get_external_store_context")


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[Any, Any, int]]]:
    """Every question the SDK asks, by question: (the engine's answer, the SDK's own path's
    answer, how many times the engine's answer entered the sandbox)."""
    asked: dict[str, list[tuple[Any, Any, int]]] = {question: [] for question in QUESTIONS}
    run_code = _CompiledOnceInstance._run_code
    entered: list[int] = []

    def counted(self: _CompiledOnceInstance, code: str, **extra: Any) -> None:
        entered.append(1)
        run_code(self, code, **extra)

    def compared(question: str) -> Any:
        engine_answer = getattr(_CompiledOnceInstance, question)
        sdk_answer = getattr(_Instance, question)

        def both(self: _CompiledOnceInstance, command_info: Any) -> Any:
            before = len(entered)
            ours = engine_answer(self, command_info)
            entries = len(entered) - before
            asked[question].append((ours, sdk_answer(self, command_info), entries))
            return ours

        return both

    monkeypatch.setattr(_CompiledOnceInstance, "_run_code", counted)
    # The SDK's three payload passes, as with external storage configured: the engine's single
    # pass (workflows/payload_passes.py) never asks the external-store question.
    monkeypatch.setattr(bridge_worker, "decode_activation", payload_passes._SDK_DECODE)
    monkeypatch.setattr(bridge_worker, "encode_completion", payload_passes._SDK_ENCODE)
    for question in QUESTIONS:
        monkeypatch.setattr(_CompiledOnceInstance, question, compared(question))
    return asked


async def test_the_answers_are_the_sdks(
    driver: ApplicationDriver, answers: dict[str, list[tuple[Any, Any, int]]]
) -> None:
    state = await driver.approved_through_development()
    assert state.status == ApplicationStatus.APPROVED
    for question, asked in answers.items():
        assert asked, f"the SDK asked no {question}: the override is not on the worker's path"
        assert [ours for ours, _, _ in asked] == [sdks for _, sdks, _ in asked], question
        assert {entries for _, _, entries in asked} == {0}, question  # never through exec
    kinds = {type(ours) for ours, _, _ in answers["get_serialization_context"]}
    assert {WorkflowSerializationContext, ActivitySerializationContext} <= kinds
    targets = {type(ours.target) for ours, _, _ in answers["get_external_store_context"]}
    assert StorageDriverWorkflowInfo in targets
