"""The sandbox re-executes the workflow modules for every new workflow, but compiles them once per
process (workflows/sandbox.py, issue 22): each import is a fresh module, built from the same code
object; modules outside the re-imported packages are left to Python's own finders."""

from __future__ import annotations

import importlib.util
from types import FunctionType, ModuleType

import workflows
from workflows.sandbox import CompiledOnceFinder, CompiledOnceLoader, _compiled


def _fresh_import(name: str) -> ModuleType:
    spec = CompiledOnceFinder().find_spec(name, workflows.__path__)  # as the import system asks
    assert spec is not None and isinstance(spec.loader, CompiledOnceLoader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_workflow_module_is_compiled_once_and_executed_afresh() -> None:
    first = _fresh_import("workflows.patches")
    second = _fresh_import("workflows.patches")
    assert first is not second  # a new module per instance: no state shared between workflows
    assert first.__dict__ is not second.__dict__
    shared = [
        name
        for name, value in vars(first).items()
        if isinstance(value, FunctionType) and value.__module__ == "workflows.patches"
    ]
    assert shared, "workflows.patches defines no function to compare"
    for name in shared:  # the same compiled code behind two distinct function objects
        assert vars(first)[name] is not vars(second)[name]
        assert vars(first)[name].__code__ is vars(second)[name].__code__
    assert first.__file__ in CompiledOnceLoader.compiled


def test_only_the_reimported_packages_are_taken_over() -> None:
    finder = CompiledOnceFinder()
    for name in ("models.application", "json", "temporalio.workflow", "workflowsx"):
        assert finder.find_spec(name, None) is None, name
    spec = finder.find_spec("workflows.application", workflows.__path__)
    assert spec is not None and isinstance(spec.loader, CompiledOnceLoader)


def test_the_sdks_sandbox_statements_are_compiled_once() -> None:
    statement = "__temporal_result = 40 + 2"
    assert _compiled(statement) is _compiled(statement)
    scope: dict[str, object] = {}
    exec(_compiled(statement), scope)
    assert scope["__temporal_result"] == 42
