"""The workflow sandbox every worker and the Replayer run workflows in (keep them the same: a
replay must run the code as the worker runs it).

The SDK's sandbox re-imports a workflow's module, and every module it imports that is not
passed through, for each new workflow instance, and each cached instance keeps its own copy of
them. Measured (issue 22): 13% of worker time went to those re-imports, and with 10,000 idle
enrollments the copies held by the sticky cache were most of the worker's memory.

Passed through (imported once, shared by every instance):

- `models`: the pure domain. It reads no clock, randomness, environment or file
  (tests/unit/test_sandbox.py checks its source), so sharing it cannot hide a non-deterministic
  call; its pydantic classes are also the payload types, which must be the same classes inside
  and outside the sandbox.
- `workflows.effects`, `workflows.requests`, `workflows.legacy_effects`,
  `workflows.search_attributes`: helpers of the workflows that keep no module state and take
  time only from `workflow.now()` (the same check covers them).

Not passed through: the workflow modules themselves (`workflows.record`, `workflows.application`,
`workflows.enrollment`, ...), so the sandbox keeps refusing a `datetime.now()`, `random`, file
or network call written there (tests/workflow/test_sandbox_passthrough.py).

Compiled once per process (issue 22): those modules are still executed afresh for every
instance, as the sandbox requires, but from code objects compiled the first time, not from
their source again. Without bytecode files (`PYTHONDONTWRITEBYTECODE`, a read-only install)
Python compiles a module's source on every import, and the sandbox imports them for every new
workflow: 10 to 15 ms of CPU per instance, 12% of the worker's time in the throughput benchmark.
Likewise the few statements the SDK runs inside the sandbox for every activation and every
payload (`exec` of a string) are compiled once, not each time (7%), and a workflow class built
from that same code is checked by `@workflow.defn` once, not for each instance
(workflows/definitions.py, 6%).
"""

from __future__ import annotations

import importlib.machinery
import sys
from collections.abc import Sequence
from functools import lru_cache
from types import CodeType
from typing import Any, ClassVar

from temporalio.converter import SerializationContext, StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# The SDK's per-instance wrapper; subclassed only to compile its statements once. The class is
# internal to the SDK (1.35): tests/workflow/test_sandbox_passthrough.py runs workflows through
# this runner, so an SDK that changes it fails there, not in production.
from temporalio.worker.workflow_sandbox._runner import _Instance

PASSTHROUGH_MODULES: tuple[str, ...] = (
    "models",
    "workflows.effects",
    "workflows.requests",
    "workflows.legacy_effects",
    "workflows.search_attributes",
)

# The packages whose modules the sandbox re-imports for each instance.
REIMPORTED_PACKAGES: frozenset[str] = frozenset({"workflows"})


class CompiledOnceLoader(importlib.machinery.SourceFileLoader):
    """A source loader that compiles a file once per process and hands the same code object to
    every later import. A code object is immutable: executing it again builds a fresh module,
    which is what the sandbox needs. Read from disk once, at the first sandboxed import of the
    module (the worker has imported its own copy just before, at start-up), never again: a file
    changed under a running worker does not reach its later instances and replays, and
    `importlib.reload` of a workflow module keeps the first code. Deploying new code is a
    restart."""

    compiled: ClassVar[dict[str, CodeType]] = {}

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        code = self.compiled.get(path)
        if code is None:
            loaded = super().get_code(fullname)
            assert loaded is not None  # a source file always has code
            code = self.compiled.setdefault(path, loaded)
        return code


class CompiledOnceFinder:
    """Finds the re-imported packages' modules as Python would, with CompiledOnceLoader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in REIMPORTED_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if spec is None or type(loader) is not importlib.machinery.SourceFileLoader:
            return spec
        spec.loader = CompiledOnceLoader(loader.name, loader.path)
        return spec


def _install_finder() -> None:
    if not any(isinstance(f, CompiledOnceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, CompiledOnceFinder())


@lru_cache(maxsize=256)
def _compiled(statements: str) -> CodeType:
    return compile(statements, "<workflow sandbox>", "exec")


class _CompiledOnceInstance(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec() of a string compiles it on every call; the SDK's strings are a handful.
        super()._run_code(_compiled(code), **extra_globals)  # type: ignore[arg-type]

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        """The SDK's answer, without entering the sandbox to get it.

        The SDK asks for every payload sequence it encodes or decodes (each activity's input and
        result, each update's), and the SDK's `_Instance` enters the sandbox for each question:
        its import hooks and restricted builtins set up and torn down, 4 to 7% of the worker's
        time (issue 22). The answer is the SDK's own `_WorkflowInstanceImpl` reading the
        workflow's info and pending commands into a dataclass: no workflow code runs and nothing
        is imported, so it is asked directly. tests/workflow/test_sandbox_contexts.py checks
        the answers equal the SDK's over a whole application."""
        in_sandbox: Any = self.globals_and_locals.get("__temporal_in_sandbox")
        if in_sandbox is None:  # an SDK that names it otherwise: its own way (the test fails)
            return super().get_serialization_context(command_info)
        context: SerializationContext | None = in_sandbox.get_serialization_context(command_info)
        return context

    def get_external_store_context(
        self, command_info: CommandInfo | None
    ) -> StorageDriverStoreContext:
        """The same for the SDK's other question, asked for every payload sequence the worker
        completes a task with: which workflow an externally stored payload would belong to
        (2.9% of the worker's time through the sandbox, issue 22). The SDK's instance answers
        from the workflow's info and pending commands, as above; the same test checks it."""
        in_sandbox: Any = self.globals_and_locals.get("__temporal_in_sandbox")
        if in_sandbox is None:
            return super().get_external_store_context(command_info)
        context: StorageDriverStoreContext = in_sandbox.get_external_store_context(command_info)
        return context


class EngineSandbox(SandboxedWorkflowRunner):
    """The SDK's sandbox, its statements compiled once."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnceInstance(det, self.runner_class, self.restrictions)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox with the engine's deterministic modules passed through."""
    from workflows import definitions, handler_hints, payload_passes  # never in the sandbox

    _install_finder()
    definitions.install()
    handler_hints.install()
    payload_passes.install()  # not the sandbox's, but every worker and replayer comes here
    return EngineSandbox(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )
