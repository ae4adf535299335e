"""Every value a request writes is taken as JSON writes it: no flag from "yes" or 1, no whole
number from "3" or 3.0, no number from "25", no date from a number (models/written.py).

The walk covers every request body the app declares and every operator event's data (which the
API validates with the event's model), so a lax field added later fails here."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, Strict, ValidationError

from api.app import create_app
from api.bodies import IsoDate
from models.application import EVENT_MODELS
from models.calendar import WrittenDate
from models.enrollment import ENROLLMENT_EVENT_MODELS
from models.written import refuse_text_as_number
from workflows.settings import Settings

# The before-validators that refuse a number as a date.
_DATE_GUARDS = {
    typing.get_args(WrittenDate)[1].func,
    typing.get_args(IsoDate)[1].func,
}


def _request_models() -> dict[str, type[BaseModel]]:
    roots: dict[str, type[BaseModel]] = {}
    for route in _api_routes(create_app(Settings(log_json=False)).routes):
        for param in route.dependant.body_params:
            annotation = param.field_info.annotation
            for leaf, _ in _leaves(annotation, []):
                if isinstance(leaf, type) and issubclass(leaf, BaseModel):
                    roots[f"{route.path} body"] = leaf
    roots.update({f"application event {n}": m for n, m in EVENT_MODELS.items()})
    roots.update({f"enrollment event {n}": m for n, m in ENROLLMENT_EVENT_MODELS.items()})
    return roots


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every route, those of included routers too (FastAPI keeps those behind their router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _leaves(annotation: Any, metadata: list[Any]) -> Iterator[tuple[Any, list[Any]]]:
    """The types a field's annotation ends in, each with the metadata that applies to it."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        yield from _leaves(inner, metadata + extra)
    elif origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(annotation):
            yield from _leaves(arm, metadata)
    elif origin is not None and origin is not typing.Literal:
        for arg in typing.get_args(annotation):
            if arg is not Ellipsis:
                yield from _leaves(arg, [])
    else:
        yield annotation, metadata


def _lax_fields(model: type[BaseModel], path: str, seen: set[type]) -> Iterator[str]:
    if model in seen:
        return
    seen.add(model)
    for name, info in model.model_fields.items():
        where = f"{path}.{name}"
        for leaf, metadata in _leaves(info.annotation, list(info.metadata)):
            if isinstance(leaf, type) and issubclass(leaf, BaseModel):
                yield from _lax_fields(leaf, where, seen)
            elif leaf is bool and not any(isinstance(m, Strict) and m.strict for m in metadata):
                yield f"{where} (bool: use models.written.Flag)"
            elif leaf in (int, float) and not any(
                isinstance(m, BeforeValidator) and m.func is refuse_text_as_number for m in metadata
            ):
                yield f"{where} ({leaf.__name__}: use models.written)"
            elif leaf in (date, datetime) and not any(
                isinstance(m, BeforeValidator) and m.func in _DATE_GUARDS for m in metadata
            ):
                yield f"{where} ({leaf.__name__}: use WrittenDate)"


def test_every_scalar_a_request_writes_is_taken_as_json_writes_it() -> None:
    roots = _request_models()
    assert len(roots) > 60, sorted(roots)  # the bodies and both lifecycles' events
    lax = [field for where, model in roots.items() for field in _lax_fields(model, where, set())]
    assert lax == []


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (EVENT_MODELS["fee_paid"], {"hardship_exception": "yes"}, "hardship_exception"),
        (EVENT_MODELS["fee_paid"], {"hardship_exception": 1}, "hardship_exception"),
        (
            ENROLLMENT_EVENT_MODELS["revoked"],
            {"notice_date": "2026-01-05", "effective_date": "2026-02-04", "bar_years": "3"},
            "bar_years",
        ),
        (
            ENROLLMENT_EVENT_MODELS["revoked"],
            {"notice_date": "2026-01-05", "effective_date": "2026-02-04", "bar_years": 3.5},
            "bar_years",
        ),
        (
            ENROLLMENT_EVENT_MODELS["revoked"],
            {"notice_date": "2026-01-05", "effective_date": "2026-02-04", "bar_years": True},
            "bar_years",
        ),
        (EVENT_MODELS["update_draft"], {"changes": {"idtf": "true"}}, "changes.idtf"),
        (
            EVENT_MODELS["update_draft"],
            {"changes": {"parties": [{"role": "owner", "name": "A", "ownership_percent": "25"}]}},
            "changes.parties.0.ownership_percent",
        ),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_naming_its_field(
    model: type[BaseModel], data: dict[str, Any], field: str
) -> None:
    sent = {**data, "actor": "ops@example.org", "role": "operator", "reason": "from a letter"}
    with pytest.raises(ValidationError) as refused:
        model.model_validate(sent)
    assert field in {".".join(str(p) for p in e["loc"]) for e in refused.value.errors()}


def test_the_right_json_types_are_still_taken() -> None:
    revoked = ENROLLMENT_EVENT_MODELS["revoked"].model_validate(
        {
            "notice_date": "2026-01-05",
            "effective_date": "2026-02-04",
            "bar_years": 3.0,  # a JSON integer, as JSON Schema says
            "repeat": False,
            "grounds": "42 CFR 424.535(a)(1)",
            "actor": "ops@example.org",
            "role": "operator",
            "reason": "from a letter",
        }
    )
    assert revoked.model_dump()["bar_years"] == 3
    share = EVENT_MODELS["update_draft"].model_validate(
        {
            "changes": {"parties": [{"role": "owner", "name": "A", "ownership_percent": 25}]},
            "actor": "ops@example.org",
            "role": "operator",
            "reason": "from a letter",
        }
    )
    assert share.model_dump()["changes"]["parties"][0]["ownership_percent"] == 25.0
