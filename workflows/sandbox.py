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
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH_MODULES: tuple[str, ...] = (
    "models",
    "workflows.effects",
    "workflows.requests",
    "workflows.legacy_effects",
    "workflows.search_attributes",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox with the engine's deterministic modules passed through."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )
