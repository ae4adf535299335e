"""The health checks' answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"]


class DependencyUp(BaseModel):
    status: Literal["ok"]


class WorkerCheck(BaseModel):
    status: Literal["ok", "unknown"]
    note: str | None = Field(default=None, description="Why it could not be told")


class ReadinessChecks(BaseModel):
    temporal: DependencyUp
    worker: WorkerCheck = Field(description="A worker polls the task queue")
    database: DependencyUp = Field(description="The read model answers and can be written")


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: ReadinessChecks
