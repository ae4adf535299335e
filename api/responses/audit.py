"""The audit export of a workflow: its timeline, its runs, the digest over its raw history and
(unless left out) that history itself, so the export can be verified offline."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import MISSING, BaseModel, Field

from api.responses.common import IsoInstant
from workflows.audit import AuditEntry


class AuditCaller(BaseModel):
    actor: str
    role: str


class AuditRun(BaseModel):
    run_id: str
    workflow_type: str
    started_at: IsoInstant
    last_event_at: IsoInstant
    last_event: str
    events: int


class RawRunHistory(BaseModel):
    run_id: str
    history: dict[str, Any] = Field(description="The Temporal History as JSON, still encrypted")


class AuditExport(BaseModel):
    format: str = Field(examples=["enrollment-audit/v1"])
    workflow_id: str
    generated_at: IsoInstant
    generated_by: AuditCaller | None
    digest_algorithm: str
    history_sha256: str = Field(description="SHA-256 over the raw history of every run")
    runs: list[AuditRun] = Field(description="Oldest first (the continue-as-new chain)")
    warnings: list[str]
    timeline: list[AuditEntry]
    raw_history: list[RawRunHistory] | MISSING = Field(
        default=MISSING, description="Left out with include_history=false"
    )
    source: Literal["temporal", "archive"]
    archive_entry: str | MISSING = Field(
        default=MISSING, description="The archive entry it was read from (source archive)"
    )
