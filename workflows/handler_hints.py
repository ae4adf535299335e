"""A workflow handler's parameter and return types resolved once per function body, not once per
workflow instance.

The sandbox executes the workflow modules afresh for every new workflow (workflows/sandbox.py),
so every `@workflow.update`, `@workflow.signal`, `@workflow.query` and `@workflow.run` runs
again, and the SDK resolves the handler's annotations again (`typing.get_type_hints`: each
annotation string compiled and evaluated): 3.7% of the worker's samples in the throughput
benchmark (issue 22), 2.1% after (the handlers of the generic base class, typed with its
`TypeVar`, still go through the SDK), and 1.2% more when the event unions of `models` were let
in (the `record_event` handlers: `typing.get_type_hints` took a 30-member union apart each time).

The answer depends only on the function's code and on what the names in its annotations stand
for. Here it is kept per (code object, annotations, the objects their names resolve to), and
only when each of those objects is one every instance shares (a class of `models`, a builtin, a
`typing` construct; `workflows.payload_converter.shareable`): a name that resolves to a class or
`TypeVar` the sandbox defines anew, to a module, or to nothing, goes through the SDK every time,
so nothing of an instance is kept alive. The SDK's `_type_hints_from_func` is internal
(temporalio 1.35), looked up on `temporalio.common` at each call:
tests/workflow/test_handler_hints.py compares every answer with the SDK's over an application's
whole approval.
"""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Callable
from functools import lru_cache
from types import CodeType, ModuleType
from typing import Any

import temporalio.common

# Imported here, never inside a function: this module's functions run while the sandbox builds a
# workflow class, where an import would execute the module again for that instance.
from workflows.payload_converter import shareable

_SDK_HINTS: Callable[..., tuple[list[Any] | None, Any]] = getattr(
    temporalio.common._type_hints_from_func,
    "sdk_function",
    temporalio.common._type_hints_from_func,
)
_MISSING = object()
_MAX_KEPT = 4_096

# (code, annotations, the objects their names resolve to) -> (the SDK's answer, those objects,
# kept so that their ids in the key stay theirs).
_KEPT: dict[tuple[Any, ...], tuple[tuple[list[Any] | None, Any], tuple[Any, ...]]] = {}


@lru_cache(maxsize=1_024)
def _names(annotation: str) -> tuple[str, ...] | None:
    """The global names an annotation string reads (None: not an expression)."""
    try:
        code = compile(annotation, "<annotation>", "eval")
    except SyntaxError:
        return None
    if any(isinstance(c, CodeType | str) for c in code.co_consts):
        # A lambda or comprehension, or a string inside (a quoted forward reference, which
        # `get_type_hints` evaluates again, or a `Literal`): its names are not all in sight.
        return None
    return code.co_names


def _resolved(func: Any) -> tuple[Any, ...] | None:
    """What the names of `func`'s annotations stand for, if every one is shared by all
    instances; None otherwise."""
    annotations = getattr(func, "__annotations__", None)
    module_globals = getattr(func, "__globals__", None)
    if not isinstance(annotations, dict) or not isinstance(module_globals, dict):
        return None
    values: list[Any] = []
    for annotation in annotations.values():
        if not isinstance(annotation, str):
            return None
        names = _names(annotation)
        if names is None:
            return None
        for name in names:
            value = module_globals.get(name, _MISSING)
            if value is _MISSING:
                value = getattr(builtins, name, _MISSING)
            if value is _MISSING or isinstance(value, ModuleType):
                return None
            try:
                if not shareable(value):
                    return None
            except TypeError:
                return None
            values.append(value)
    return tuple(values)


def type_hints_from_func(func: Callable[..., Any]) -> tuple[list[Any] | None, Any]:
    """The SDK's `_type_hints_from_func`, kept per function body when its types are shared."""
    if not inspect.isfunction(func) or hasattr(func, "__wrapped__"):
        return _SDK_HINTS(func)  # a wrapper's code is shared by everything it wraps
    values = _resolved(func)
    if values is None:
        return _SDK_HINTS(func)
    key = (func.__code__, tuple(func.__annotations__.items()), tuple(id(v) for v in values))
    kept = _KEPT.get(key)
    if kept is None:
        if len(_KEPT) >= _MAX_KEPT:
            _KEPT.clear()
        kept = _KEPT.setdefault(key, (_SDK_HINTS(func), values))
    (arguments, returned), _ = kept
    return (list(arguments) if arguments is not None else None, returned)


def install() -> None:
    """Route the SDK's handler-type resolution through `type_hints_from_func` (idempotent)."""
    type_hints_from_func.sdk_function = _SDK_HINTS  # type: ignore[attr-defined]
    temporalio.common._type_hints_from_func = type_hints_from_func
