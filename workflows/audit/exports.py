"""The audit's JSON export: the timeline, the runs, the digest and the raw history (its CSV, text
and HTML renderings are in models/audit_report.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from workflows.audit.builder import event_time
from workflows.audit.chain import DIGEST_ALGORITHM, history_digest
from workflows.audit.timeline import build_timeline

EXPORT_FORMAT = "enrollment-audit/v1"


async def build_export(
    histories: Sequence[WorkflowHistory],
    converter: DataConverter,
    *,
    generated_by: dict[str, str] | None = None,
    generated_at: datetime | None = None,
    include_history: bool = True,
) -> dict[str, Any]:
    """The JSON export: the timeline, the runs, the digest and (by default) the raw history."""
    if not histories:
        raise ValueError("no histories to export")
    timeline, warnings = await build_timeline(histories, converter)
    raw = [h.to_json_dict() for h in histories]
    runs = []
    for history in histories:
        first, last = history.events[0], history.events[-1]
        started = first.workflow_execution_started_event_attributes
        runs.append(
            {
                "run_id": history.run_id,
                "workflow_type": started.workflow_type.name,
                "started_at": event_time(first).isoformat(),
                "last_event_at": event_time(last).isoformat(),
                "last_event": EventType.Name(last.event_type).removeprefix("EVENT_TYPE_"),
                "events": len(history.events),
            }
        )
    export: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "workflow_id": histories[0].workflow_id,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(),
        "generated_by": generated_by,
        "digest_algorithm": DIGEST_ALGORITHM,
        "history_sha256": history_digest(raw),
        "runs": runs,
        "warnings": warnings,
        "timeline": [e.model_dump(mode="json") for e in timeline],
    }
    if include_history:
        export["raw_history"] = [
            {"run_id": h.run_id, "history": r} for h, r in zip(histories, raw, strict=True)
        ]
    return export
