"""Replay recorded workflow histories against the current workflow code (issue #7).

A change to workflow code that would make a running workflow take a different path than its
history records (a new timer or activity before an old one, reordered commands) makes Temporal
fail that workflow's next task with a nondeterminism error. Replaying recorded histories in CI
catches such a change before it ships; guard intended changes with a patch
(``RecordWorkflow._patched``, workflows/patches.py).

The Replayer decodes every payload, so it needs the production data converter *and* the key
ring the histories were encrypted with (:func:`workflows.converter.build_data_converter`).

Histories are the JSON written by ``WorkflowHistory.to_json()``, ``temporal workflow show -o
json`` or a Web UI download; see ``tests/histories/README.md`` for the recorded set.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.converter import DefaultFailureConverter
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.workflow import NondeterminismError

from workflows.application import ApplicationWorkflow
from workflows.converter import ENCODING, KeyRing, build_data_converter
from workflows.enrollment import EnrollmentWorkflow
from workflows.reference_checks import ReferenceChecksWorkflow
from workflows.sandbox import workflow_runner as sandbox_runner

__all__ = [
    "REPLAY_WORKFLOWS",
    "ReplayOutcome",
    "load_history_dir",
    "load_history_file",
    "replay_histories",
]

REPLAY_WORKFLOWS: tuple[type, ...] = (
    ApplicationWorkflow,
    EnrollmentWorkflow,
    ReferenceChecksWorkflow,
)
"""Every workflow the worker runs (keep in step with ``worker.WORKFLOWS``; a test checks)."""


@dataclass(frozen=True)
class ReplayOutcome:
    """The result of replaying one history."""

    workflow_id: str
    run_id: str
    ok: bool
    error: str | None = None
    """What went wrong, in one line (``None`` when ``ok``)."""
    error_type: str | None = None
    """The failure's class name, e.g. ``NondeterminismError`` (``None`` when ``ok``)."""
    detail: str | None = field(default=None, repr=False, compare=False)
    """The failure as the SDK reported it (a Rust debug dump with Python stack traces)."""

    @property
    def nondeterministic(self) -> bool:
        """Whether the current code would take a different path than the history records."""
        return self.error_type == NondeterminismError.__name__

    def __str__(self) -> str:
        where = f"{self.workflow_id} (run {self.run_id})"
        return f"{where}: ok" if self.ok else f"{where}: {self.error_type}: {self.error}"


_FAILURE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def _summarize(failure: Exception, *, keyring: KeyRing | None) -> str:
    """The failure messages (outermost first) from the core's ``Failure { message: ... }`` dump."""
    text = str(failure)
    messages = [
        m.encode("latin-1", "backslashreplace").decode("unicode_escape")
        for m in _FAILURE_MESSAGE.findall(text)
    ]
    summary = " <- ".join(dict.fromkeys(messages)) or text
    if keyring is None and ENCODING in summary:
        summary += (
            "; the history's payloads are encrypted: replay with the key ring they were "
            "recorded with"
        )
    return summary


def _started_workflow_id(document: dict[str, Any]) -> str | None:
    """The workflow id recorded in the start event, when the server wrote one."""
    events = document.get("events") or []
    if not events or not isinstance(events[0], dict):
        return None
    started = events[0].get("workflowExecutionStartedEventAttributes") or {}
    workflow_id = started.get("workflowId")
    return workflow_id if isinstance(workflow_id, str) and workflow_id else None


def load_history_file(path: str | Path, *, workflow_id: str | None = None) -> WorkflowHistory:
    """Read a history JSON file (``WorkflowHistory.to_json()`` / ``temporal workflow show -o
    json`` / Web UI download).

    The workflow id is ``workflow_id`` if given, else the one in the start event (newer servers
    record it), else the file name without ``.json`` (``application-approval.json`` →
    ``application-approval``). Raises ``ValueError`` naming the file if it is not a history.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err})") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise ValueError(f"{path}: not a workflow history (no top-level 'events' list)")
    if not document["events"]:
        raise ValueError(f"{path}: the history has no events")
    resolved = workflow_id or _started_workflow_id(document) or path.name.removesuffix(".json")
    try:
        history = WorkflowHistory.from_json(resolved, document)
    except Exception as err:  # protobuf ParseError and friends
        raise ValueError(f"{path}: not a readable workflow history ({err})") from None
    if not history.events[0].HasField("workflow_execution_started_event_attributes"):
        raise ValueError(f"{path}: the first event is not WorkflowExecutionStarted")
    return history


def load_history_dir(directory: str | Path) -> list[WorkflowHistory]:
    """Every ``*.json`` history in ``directory``, in file-name order."""
    return [load_history_file(p) for p in sorted(Path(directory).glob("*.json"))]


async def _iterate(histories: Sequence[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def replay_histories(
    histories: Iterable[WorkflowHistory],
    *,
    keyring: KeyRing | None,
    workflows: Sequence[type] = REPLAY_WORKFLOWS,
    workflow_runner: WorkflowRunner | None = None,
) -> list[ReplayOutcome]:
    """Replay each history against ``workflows`` (default: the production workflow classes).

    ``keyring`` must be the key ring the histories' payloads were encrypted with (``None``
    only for unencrypted histories). Never raises for a failing history: each one gets a
    :class:`ReplayOutcome`, in input order. ``workflow_runner`` overrides the sandbox (tests);
    by default it is the worker's (workflows/sandbox.py), so a replay runs the code as the
    worker does.
    """
    items = list(histories)
    by_run: dict[str, WorkflowHistory] = {}
    for history in items:
        previous = by_run.setdefault(history.run_id, history)
        if previous is not history:
            raise ValueError(
                f"histories of {previous.workflow_id!r} and {history.workflow_id!r} share run id "
                f"{history.run_id}; is one history file a copy of another?"
            )
    if not items:
        return []
    options: dict[str, Any] = {"workflow_runner": workflow_runner or sandbox_runner()}
    # The production converter, except that replay failures keep their text: the Replayer
    # reports a failed task by its failure's message, and it writes nothing anywhere (an encoded
    # one reads "Encoded failure"). Encoded failures in the histories decode either way.
    converter = dataclasses.replace(
        build_data_converter(keyring), failure_converter_class=DefaultFailureConverter
    )
    replayer = Replayer(workflows=list(workflows), data_converter=converter, **options)
    results = await replayer.replay_workflows(_iterate(items), raise_on_replay_failure=False)
    outcomes = []
    for history in items:
        failure = results.replay_failures.get(history.run_id)
        outcomes.append(
            ReplayOutcome(
                workflow_id=history.workflow_id,
                run_id=history.run_id,
                ok=failure is None,
                error=None if failure is None else _summarize(failure, keyring=keyring),
                error_type=None if failure is None else type(failure).__name__,
                detail=None if failure is None else str(failure),
            )
        )
    return outcomes
