"""The lifecycles as data: states, events and transitions, straight from the tables."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field


class LifecycleEvent(BaseModel):
    name: str
    source: Literal["operator", "timer"] = Field(
        description="operator: recorded through the API; timer: the engine's own (a clock fired)"
    )
    data_fields: dict[str, dict[str, Any]] | MISSING = Field(
        default=MISSING,
        description="Operator events only: each field of `data`, whether it is required, and "
        "its JSON schema",
    )
    bookkeeping: bool | MISSING = Field(
        default=MISSING,
        description="True: it keeps the record (assignee, notes) without moving it; it is "
        "allowed in `states` and is never a transition",
    )
    states: list[str] | MISSING = Field(
        default=MISSING, description="Bookkeeping events only: the states it may be recorded in"
    )


class LifecycleTransition(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    event: str
    to: str
    guard: str | None = Field(description="The condition it needs (see `guards`), if any")


class LifecycleTable(BaseModel):
    name: str
    initial: str
    states: list[str]
    terminal: list[str]
    events: list[LifecycleEvent]
    guards: dict[str, str] = Field(description="Guard name -> what it requires")
    transitions: list[LifecycleTransition]


class LifecycleDiagrams(BaseModel):
    application: str
    enrollment: str


class LifecycleView(BaseModel):
    application: LifecycleTable
    enrollment: LifecycleTable
    mermaid: LifecycleDiagrams = Field(description="Each table as a Mermaid state diagram")
