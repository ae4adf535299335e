"""The engine's sandbox answers the SDK's serialization-context questions without entering the
sandbox (workflows/sandbox.py, issue 22), and answers them exactly as the SDK's own path does:
checked on every question asked while an application runs its whole approval path (updates,
side-effect rounds, the enrollment it starts)."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext
from temporalio.worker.workflow_sandbox._runner import _Instance

from models.application import ApplicationStatus
from tests.workflow.harness import ApplicationDriver
from workflows.sandbox import _CompiledOnceInstance

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any, int]]:
    """Every question the SDK asks: (the engine's answer, the SDK's own path's answer, how many
    times the engine's answer entered the sandbox)."""
    asked: list[tuple[Any, Any, int]] = []
    engine_answer = _CompiledOnceInstance.get_serialization_context
    run_code = _CompiledOnceInstance._run_code
    entered: list[int] = []

    def counted(self: _CompiledOnceInstance, code: str, **extra: Any) -> None:
        entered.append(1)
        run_code(self, code, **extra)

    def both(self: _CompiledOnceInstance, command_info: Any) -> Any:
        before = len(entered)
        ours = engine_answer(self, command_info)
        entries = len(entered) - before
        asked.append((ours, _Instance.get_serialization_context(self, command_info), entries))
        return ours

    monkeypatch.setattr(_CompiledOnceInstance, "_run_code", counted)
    monkeypatch.setattr(_CompiledOnceInstance, "get_serialization_context", both)
    return asked


async def test_the_answers_are_the_sdks(
    driver: ApplicationDriver, answers: list[tuple[Any, Any, int]]
) -> None:
    handle = await driver.create()
    for event in (
        "update_draft",
        "submit",
        "signatures_completed",
        "received_by_mac",
        "development_requested",
        "development_responded",
        "approved",
    ):
        state = await driver.record(handle, event)
    assert state.status == ApplicationStatus.APPROVED
    await handle.result()
    assert answers, "the SDK asked nothing: the override is not on the worker's path"
    assert [ours for ours, _, _ in answers] == [sdks for _, sdks, _ in answers]
    assert {entries for _, _, entries in answers} == {0}  # asked directly, never through exec
    kinds = {type(ours) for ours, _, _ in answers}
    assert {WorkflowSerializationContext, ActivitySerializationContext} <= kinds
