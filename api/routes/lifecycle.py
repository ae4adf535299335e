"""The lifecycles as data (and as Mermaid), straight from the transition tables."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Security
from fastapi.responses import PlainTextResponse

from api.auth import AUTH_RESPONSES, READ_ROLES, require
from models.application import EVENT_MODELS
from models.lifecycle import APPLICATION_LIFECYCLE

router = APIRouter(
    prefix="/v1/lifecycle",
    tags=["lifecycle"],
    dependencies=[Security(require(*READ_ROLES))],
    responses=AUTH_RESPONSES,
)


@router.get("", summary="States, events and transitions of every workflow kind")
async def lifecycle() -> dict[str, Any]:
    application = APPLICATION_LIFECYCLE.describe()
    for event in application["events"]:
        model = EVENT_MODELS.get(event["name"])
        if model is not None:
            schema = model.model_json_schema()
            props = schema.get("properties", {})
            event["data_fields"] = {
                name: {"required": name in schema.get("required", []), **spec}
                for name, spec in props.items()
                if name not in ("event", "actor", "role", "reason")
            }
    return {
        "application": application,
        "mermaid": {"application": APPLICATION_LIFECYCLE.to_mermaid()},
    }


@router.get("/mermaid", response_class=PlainTextResponse, summary="The lifecycles as Mermaid")
async def lifecycle_mermaid() -> str:
    return APPLICATION_LIFECYCLE.to_mermaid()
