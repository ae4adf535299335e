"""The lifecycles as data (and as Mermaid), straight from the transition tables."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Security
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from api.auth import AUTH_RESPONSES, READ_ROLES, require
from api.problems import problem_responses
from api.responses.lifecycle import LifecycleDiagrams, LifecycleTable, LifecycleView
from models.application import APPLICATION_LIFECYCLE, EVENT_MODELS
from models.enrollment import ENROLLMENT_EVENT_MODELS, ENROLLMENT_LIFECYCLE
from models.lifecycle import Lifecycle

router = APIRouter(
    prefix="/v1/lifecycle",
    tags=["lifecycle"],
    dependencies=[Security(require(*READ_ROLES))],
    responses=AUTH_RESPONSES,
)


class LifecycleKind(StrEnum):
    APPLICATION = "application"
    ENROLLMENT = "enrollment"


_TABLES: dict[LifecycleKind, tuple[Lifecycle[Any], Mapping[str, type[BaseModel]]]] = {
    LifecycleKind.APPLICATION: (APPLICATION_LIFECYCLE, EVENT_MODELS),
    LifecycleKind.ENROLLMENT: (ENROLLMENT_LIFECYCLE, ENROLLMENT_EVENT_MODELS),
}


def _describe(kind: LifecycleKind) -> LifecycleTable:
    table, models = _TABLES[kind]
    described = table.describe()
    for event in described["events"]:
        model = models.get(event["name"])
        if model is not None:
            schema = model.model_json_schema()
            props = schema.get("properties", {})
            event["data_fields"] = {
                name: {"required": name in schema.get("required", []), **spec}
                for name, spec in props.items()
                if name not in ("event", "actor", "role", "reason")
            }
    return LifecycleTable.model_validate(described)


@router.get(
    "",
    operation_id="getLifecycle",
    summary="States, events and transitions of every workflow kind",
    description="`application` and `enrollment` tables, each operator event with its "
    "`data_fields`, and both as Mermaid.",
)
async def lifecycle() -> LifecycleView:
    return LifecycleView(
        application=_describe(LifecycleKind.APPLICATION),
        enrollment=_describe(LifecycleKind.ENROLLMENT),
        mermaid=LifecycleDiagrams.model_validate(
            {kind.value: _TABLES[kind][0].to_mermaid() for kind in LifecycleKind}
        ),
    )


@router.get(
    "/mermaid",
    operation_id="getLifecycleMermaid",
    response_class=PlainTextResponse,
    summary="A lifecycle as Mermaid",
    responses=problem_responses({422: "An unknown kind (names the values it accepts)"}),
)
async def lifecycle_mermaid(
    kind: Annotated[
        LifecycleKind, Query(description="Which lifecycle: application (default) or enrollment")
    ] = LifecycleKind.APPLICATION,
) -> str:
    return _TABLES[kind][0].to_mermaid()
