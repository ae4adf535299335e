"""Verifying an audit export (JSON file or HTML report) against the raw history it embeds."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from models.audit_report import HTML_EXPORT_ID
from workflows.audit.chain import history_digest
from workflows.audit.exports import EXPORT_FORMAT
from workflows.audit.timeline import build_timeline


class AuditExportError(ValueError):
    """An export file cannot be read as an audit export (the message says why)."""


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    message: str
    recorded: str | None = None
    computed: str | None = None
    runs: int = 0

    def __str__(self) -> str:
        return ("OK: " if self.ok else "TAMPERED: ") + self.message


_HTML_BLOCK = re.compile(
    rf'<script type="application/json" id="{HTML_EXPORT_ID}">(.*?)</script>', re.DOTALL
)


def export_from_text(text: str) -> dict[str, Any]:
    """The JSON export from a JSON export file or an HTML report. Raises AuditExportError."""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        match = _HTML_BLOCK.search(text)
        if match is None:
            raise AuditExportError(
                "this HTML has no embedded audit export (script id 'audit-export')"
            )
        text = match.group(1)
    elif not stripped.startswith("{"):
        raise AuditExportError(
            "not a JSON export or HTML report (a CSV export carries the digest but not the raw "
            "history: verify the JSON export with the same history_sha256)"
        )
    try:
        export = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuditExportError(f"the export is not valid JSON ({exc})") from None
    if not isinstance(export, dict) or export.get("format") != EXPORT_FORMAT:
        raise AuditExportError(f"not an audit export (format is not {EXPORT_FORMAT!r})")
    return export


async def verify_export(
    export: dict[str, Any] | str, *, converter: DataConverter | None = None
) -> VerifyResult:
    """Recompute the digest from the export's embedded raw history and compare.

    With `converter` (the production one, with the key ring), also rebuild the timeline from
    that history and compare it with the export's timeline, so an edited timeline is caught
    too. Never raises for a damaged export: it reports TAMPERED with the reason.
    """
    if isinstance(export, str):
        try:
            export = export_from_text(export)
        except AuditExportError as exc:
            return VerifyResult(False, str(exc))
    recorded = export.get("history_sha256")
    raw = export.get("raw_history")
    if not isinstance(raw, list) or not raw:
        return VerifyResult(
            False, "the export embeds no raw history (exported without it?)", recorded
        )
    try:
        histories = [item["history"] for item in raw]
        computed = history_digest(histories)
    except Exception as exc:
        return VerifyResult(
            False, f"the embedded raw history is unreadable ({type(exc).__name__})", recorded
        )
    if computed != recorded:
        return VerifyResult(
            False,
            f"history digest {computed} does not match the recorded {recorded}",
            recorded,
            computed,
            len(raw),
        )
    message = f"history sha256 {computed} over {len(raw)} run(s) matches"
    if converter is not None:
        workflow_id = str(export.get("workflow_id"))
        try:
            rebuilt, _ = await build_timeline(
                [WorkflowHistory.from_json(workflow_id, h) for h in histories], converter
            )
        except Exception as exc:
            return VerifyResult(
                False,
                f"{message}, but its timeline could not be rebuilt ({type(exc).__name__}: {exc})",
                recorded,
                computed,
                len(raw),
            )
        if [e.model_dump(mode="json") for e in rebuilt] != export.get("timeline"):
            return VerifyResult(
                False,
                f"{message}, but the timeline differs from the one rebuilt from that history",
                recorded,
                computed,
                len(raw),
            )
        message += "; the timeline matches the history"
    return VerifyResult(True, message, recorded, computed, len(raw))
