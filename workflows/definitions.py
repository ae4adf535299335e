"""A workflow class's definition checked once per class body, not once per workflow instance.

The sandbox executes a workflow module afresh for every new workflow (workflows/sandbox.py), so
`@workflow.defn` runs again on a new class each time, and the SDK checks that class again: every
member through `inspect.getmembers` (its bases' too), a runtime `Protocol` check per member
(slow, and slower through the sandbox's `isinstance`), the signature of every update and its
validator compared. Measured (issue 22): 6% of the worker's time in the throughput benchmark, on
the event loop, where it holds up every other workflow and activity.

The classes are the same every time: the module runs from one code object per process
(`CompiledOnceLoader`), so each function of the class is built from the same code. Here the first
class a body produces is checked by the SDK, as always; a later class whose functions (its own
and its bases') carry exactly the same code objects gets the definition the SDK would build,
from the member names the first check found, without checking again. Anything else (a class
never seen, one whose code differs) goes through the SDK's own path.

The SDK's `_Definition` is internal (temporalio 1.35): tests/unit/test_workflow_definitions.py
compares what this builds with what the SDK builds, so an SDK that changes it fails there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

from temporalio.common import VersioningBehavior
from temporalio.workflow._definition import _Definition

# The SDK's own check; taken from the patched function when this module is imported again after
# install() (a reload would otherwise take its own patch for the SDK's and recurse).
_INSTALLED: Any = _Definition._apply_to_class
_SDK_APPLY: Callable[..., None] = getattr(_INSTALLED, "sdk_apply", _INSTALLED)


@dataclass(frozen=True)
class _Layout:
    """Where the SDK found a class's handlers, by member name, and the code they were built
    from."""

    codes: tuple[tuple[str, str, CodeType], ...]  # (class, member, code) over the MRO
    run: str
    signals: tuple[str, ...]
    queries: tuple[str, ...]
    updates: tuple[str, ...]
    dynamic_config: str | None


# (module, qualified name, workflow name) -> the layout the SDK's check found.
_LAYOUTS: dict[tuple[str, str, str | None], _Layout] = {}


def _codes(cls: type) -> tuple[tuple[str, str, CodeType], ...]:
    """The code of every plain function defined on the class and its bases."""
    return tuple(
        (klass.__qualname__, name, code)
        for klass in cls.__mro__
        for name, member in vars(klass).items()
        if isinstance(code := getattr(member, "__code__", None), CodeType)
    )


def _same_code(
    seen: tuple[tuple[str, str, CodeType], ...], now: tuple[tuple[str, str, CodeType], ...]
) -> bool:
    return len(seen) == len(now) and all(
        a[0] == b[0] and a[1] == b[1] and a[2] is b[2] for a, b in zip(seen, now, strict=True)
    )


def _member_name(cls: type, fn: Callable[..., Any]) -> str | None:
    """The name under which `cls` holds `fn`, if it is the function's own name."""
    name = getattr(fn, "__name__", None)
    return name if name is not None and getattr(cls, name, None) is fn else None


def _layout(cls: type, codes: tuple[tuple[str, str, CodeType], ...]) -> _Layout | None:
    """The layout of a class the SDK has just defined; None if a handler is not found under
    its own name (then the class is always checked)."""
    defn = _Definition.must_from_class(cls)
    groups = [
        [_member_name(cls, d.fn) for d in handlers.values()]
        for handlers in (defn.signals, defn.queries, defn.updates)
    ]
    run = _member_name(cls, defn.run_fn)
    config = defn.dynamic_config_fn
    config_name = _member_name(cls, config) if config is not None else None
    names = [run, *[n for group in groups for n in group]]
    if any(n is None for n in names) or (config is not None and config_name is None):
        return None
    signals, queries, updates = (tuple(n for n in g if n is not None) for g in groups)
    assert run is not None
    return _Layout(codes, run, signals, queries, updates, config_name)


def _define(
    cls: type,
    layout: _Layout,
    *,
    workflow_name: str | None,
    sandboxed: bool,
    failure_exception_types: Sequence[type[BaseException]],
    versioning_behavior: VersioningBehavior,
) -> None:
    """What the SDK's `_apply_to_class` stores, from the members the layout names."""
    signals = [getattr(getattr(cls, n), "__temporal_signal_definition") for n in layout.signals]
    queries = [getattr(getattr(cls, n), "__temporal_query_definition") for n in layout.queries]
    updates = [getattr(cls, n)._defn for n in layout.updates]
    run_fn = getattr(cls, layout.run)
    defn = _Definition(
        name=workflow_name,
        cls=cls,
        run_fn=run_fn,
        signals={d.name: d for d in signals},
        queries={d.name: d for d in queries},
        updates={d.name: d for d in updates},
        sandboxed=sandboxed,
        failure_exception_types=failure_exception_types,
        versioning_behavior=versioning_behavior,
        dynamic_config_fn=(
            getattr(cls, layout.dynamic_config) if layout.dynamic_config is not None else None
        ),
    )
    setattr(cls, "__temporal_workflow_definition", defn)
    setattr(run_fn, "__temporal_workflow_definition", defn)


def apply_to_class(
    cls: type,
    *,
    workflow_name: str | None,
    sandboxed: bool,
    failure_exception_types: Sequence[type[BaseException]],
    versioning_behavior: VersioningBehavior,
) -> None:
    """`_Definition._apply_to_class`, checking each class body once."""
    options: dict[str, Any] = {
        "workflow_name": workflow_name,
        "sandboxed": sandboxed,
        "failure_exception_types": failure_exception_types,
        "versioning_behavior": versioning_behavior,
    }
    key = (cls.__module__, cls.__qualname__, workflow_name)
    codes = _codes(cls)
    seen = _LAYOUTS.get(key)
    if seen is not None and _same_code(seen.codes, codes) and not _Definition.from_class(cls):
        _define(cls, seen, **options)
        return
    _SDK_APPLY(cls, **options)
    layout = _layout(cls, codes)
    if layout is not None:
        _LAYOUTS[key] = layout


apply_to_class.sdk_apply = _SDK_APPLY  # type: ignore[attr-defined]


def install() -> None:
    """Route `@workflow.defn` through `apply_to_class` (idempotent)."""
    _Definition._apply_to_class = staticmethod(apply_to_class)  # type: ignore[method-assign]
