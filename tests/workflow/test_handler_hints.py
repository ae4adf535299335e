"""The handler types the SDK resolves for every new workflow instance are kept per function body
(workflows/handler_hints.py, issue 22): the same answers as the SDK's, asked over two approvals
(the second's instances answered from what the first's kept), and nothing kept for a function
whose annotations name a class the sandbox defines anew for each instance."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
import temporalio.common
from pydantic import BaseModel

from models.application import ApplicationStatus
from tests.workflow.harness import ApplicationDriver
from workflows import handler_hints


@pytest.mark.asyncio(loop_scope="session")
async def test_the_answers_are_the_sdks_and_later_instances_reuse_them(
    driver: ApplicationDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, bool]] = []
    sdk_calls: list[str] = []
    sdk = handler_hints._SDK_HINTS
    ours = handler_hints.type_hints_from_func

    def counted_sdk(func: Any) -> Any:
        sdk_calls.append(func.__qualname__)
        return sdk(func)

    def both(func: Any) -> Any:
        answer = ours(func)
        asked.append((func.__qualname__, answer == sdk(func)))
        return answer

    monkeypatch.setattr(handler_hints, "_SDK_HINTS", counted_sdk)
    monkeypatch.setattr(temporalio.common, "_type_hints_from_func", both)
    handler_hints._KEPT.clear()

    first = await driver.approved_through_development()
    first_sdk_calls = len(sdk_calls)
    second = await driver.approved_through_development()

    assert first.status == second.status == ApplicationStatus.APPROVED
    assert asked, "the worker did not ask: the patch is not on its path"
    assert all(same for _, same in asked), [name for name, same in asked if not same]
    names = {name for name, _ in asked}
    assert {"ApplicationWorkflow.record_event", "EnrollmentWorkflow.run"} <= names
    # The event handlers, typed with the event unions of `models`, were answered from what was
    # kept: the SDK resolved each once, for the first instance that asked.
    for handler in ("ApplicationWorkflow.record_event", "EnrollmentWorkflow.record_event"):
        assert sdk_calls.count(handler) == 1, (handler, sdk_calls.count(handler))
    # The second approval's instances (an application and its enrollment) asked as many
    # questions as the first's, and most were answered from what the first kept.
    second_questions = len(asked) // 2
    assert len(sdk_calls) - first_sdk_calls < second_questions / 2


def _define(source: str, namespace: dict[str, Any]) -> None:
    # As a workflow module defines its handlers: annotations kept as strings.
    code = compile(f"from __future__ import annotations\n{source}", "<handler>", "exec")
    exec(code, namespace)


def test_a_function_naming_a_per_instance_class_is_not_kept() -> None:
    # As the sandbox defines it for one workflow instance: a class of a workflow module.
    per_instance = type("PerInstance", (BaseModel,), {"__module__": "workflows.application"})
    namespace: dict[str, Any] = {"PerInstance": per_instance}
    _define("def handler(self, value: PerInstance) -> None: ...", namespace)
    kept_before = dict(handler_hints._KEPT)

    answer = handler_hints.type_hints_from_func(namespace["handler"])

    assert answer == ([per_instance], type(None))
    assert handler_hints._KEPT == kept_before
    gone = weakref.ref(per_instance)
    del per_instance, namespace, answer
    gc.collect()
    assert gone() is None


def test_a_function_of_shared_types_is_kept_once() -> None:
    source = "def handler(self, status: ApplicationStatus) -> list[int] | None: ..."
    handlers = []
    for _ in range(3):  # as the sandbox executes a module for each instance
        namespace: dict[str, Any] = {"ApplicationStatus": ApplicationStatus}
        _define(source, namespace)
        handlers.append(namespace["handler"])
    kept = len(handler_hints._KEPT)
    answers = [handler_hints.type_hints_from_func(h) for h in handlers]
    assert answers == [([ApplicationStatus], list[int] | None)] * 3
    assert answers == [handler_hints._SDK_HINTS(h) for h in handlers]
    assert len(handler_hints._KEPT) == kept + 1
