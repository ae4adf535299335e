"""A workflow class the sandbox builds again from the same code is checked by `@workflow.defn`
once per process (workflows/definitions.py, issue 22), and gets the definition the SDK builds."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import pytest
from temporalio import workflow
from temporalio.workflow._definition import _Definition

import workflows
from workflows import definitions
from workflows.sandbox import CompiledOnceFinder


def _fresh_import(name: str) -> ModuleType:
    # As the sandbox imports a workflow module for each new workflow.
    spec = CompiledOnceFinder().find_spec(name, workflows.__path__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sdk_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The engine's apply_to_class installed (undone after the test); the classes the SDK's own
    check ran on, by name."""
    checked: list[str] = []
    sdk_apply = definitions._SDK_APPLY

    def counting(cls: type, **options: Any) -> None:
        checked.append(cls.__qualname__)
        sdk_apply(cls, **options)

    monkeypatch.setattr(definitions, "_SDK_APPLY", counting)
    monkeypatch.setattr(definitions, "_LAYOUTS", {})
    monkeypatch.setattr(_Definition, "_apply_to_class", staticmethod(definitions.apply_to_class))
    return checked


def _code(fn: Any) -> Any:
    return None if fn is None else fn.__code__


def _shape(defn: _Definition) -> dict[str, Any]:
    """Everything a definition says, with functions by their code (each class has its own)."""
    return {
        "name": defn.name,
        "run": _code(defn.run_fn),
        "signals": {k: (d.name, _code(d.fn), d.dynamic_vararg) for k, d in defn.signals.items()},
        "queries": {k: (d.name, _code(d.fn)) for k, d in defn.queries.items()},
        "updates": {
            k: (d.name, _code(d.fn), _code(d.validator), d.arg_types, d.ret_type)
            for k, d in defn.updates.items()
        },
        "sandboxed": defn.sandboxed,
        "failures": list(defn.failure_exception_types),
        "arg_types": defn.arg_types,
        "ret_type": defn.ret_type,
        "versioning": defn.versioning_behavior,
        "dynamic_config": _code(defn.dynamic_config_fn),
    }


@pytest.mark.parametrize(
    ("module", "cls_name"),
    [
        ("workflows.application", "ApplicationWorkflow"),
        ("workflows.enrollment", "EnrollmentWorkflow"),
    ],
)
def test_the_second_class_from_the_same_code_is_defined_as_the_sdk_defines_it(
    sdk_checks: list[str], module: str, cls_name: str
) -> None:
    first = getattr(_fresh_import(module), cls_name)
    second = getattr(_fresh_import(module), cls_name)
    assert sdk_checks.count(cls_name) == 1  # the second class was not checked again
    assert first is not second
    by_sdk, ours = _Definition.must_from_class(first), _Definition.must_from_class(second)
    assert _shape(ours) == _shape(by_sdk)
    assert ours.updates and ours.queries  # the comparison covered handlers
    # Every function in the definition is the second class's own, not the first's.
    assert ours.cls is second and ours.run_fn is getattr(second, ours.run_fn.__name__)
    assert _Definition.from_run_fn(ours.run_fn) is ours
    for handlers in (ours.signals, ours.queries, ours.updates):
        for d in handlers.values():
            assert getattr(second, d.fn.__name__) is d.fn


def _define(source: str) -> type:
    scope: dict[str, Any] = {"workflow": workflow, "__name__": "workflows.example"}
    exec(compile(source, "<example>", "exec"), scope)
    cls: type = scope["Example"]
    return cls


VALID = """
@workflow.defn(name="Example")
class Example:
    @workflow.run
    async def run(self) -> None: ...

    @workflow.query
    def status(self) -> str:
        return "ok"
"""

NO_RUN = """
@workflow.defn(name="Example")
class Example:
    async def run(self) -> None: ...

    @workflow.query
    def status(self) -> str:
        return "ok"
"""


def test_a_class_from_other_code_is_checked_by_the_sdk(sdk_checks: list[str]) -> None:
    _define(VALID)
    with pytest.raises(ValueError, match=r"Missing @workflow\.run method"):
        _define(NO_RUN)  # same module, same name, other code: the SDK's check refuses it
    assert sdk_checks == ["Example", "Example"]
    # The same code compiled again is other code objects: checked again, not trusted.
    _define(VALID)
    assert sdk_checks == ["Example", "Example", "Example"]
