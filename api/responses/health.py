"""The health checks' answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: Literal["ok"]


class DependencyUp(BaseModel):
    status: Literal["ok"]


class ReadinessChecks(BaseModel):
    temporal: DependencyUp
    database: DependencyUp


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: ReadinessChecks
