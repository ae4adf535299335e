"""A reducer's working copy (models/records.py `working_copy`) is independent of the state it
came from, except for the lines of the record's own log, which are shared: a line is never
changed once written (tests/unit/test_reducer_properties.py checks the reducers leave their
input unchanged)."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from models.application import (
    ApplicationCreate,
    ApplicationEventRequest,
    ApplicationState,
    apply_event,
    check_event,
    new_application,
)
from models.enrollment.state import EnrollmentState
from models.records import working_copy

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
EVENTS: TypeAdapter[Any] = TypeAdapter(ApplicationEventRequest)


def _state() -> ApplicationState:
    state = new_application(
        ApplicationCreate(
            application_id="app-1",
            organization_id="acme",
            form="CMS-855I",
            purpose="initial",
            actor="ops@example.org",
            details={
                "legal_name": "Jane Doe",
                "npi": "1234567893",
                "ssn": "123-45-6789",
                "state": "FL",
            },
        ),
        NOW,
    )
    for event in (
        {"event": "submit", "web_tracking_id": "WT-1", "submitted_on": "2025-02-20"},
        {"event": "signatures_completed", "signed_on": "2025-02-21"},
        {"event": "received_by_mac", "case_number": "C-1", "receipt_date": "2025-02-24"},
        {"event": "development_requested", "request_date": "2025-03-01", "items": ["license"]},
    ):
        request = EVENTS.validate_python({"actor": "ops@example.org", "reason": "r", **event})
        check_event(state, request, NOW)
        state = apply_event(state, request, NOW).state
    return state


def test_the_copy_equals_the_state_and_shares_only_its_log_lines() -> None:
    state = _state()
    assert len(state.events) >= 2 and state.clocks

    copy = working_copy(state)

    assert copy.model_dump() == state.model_dump()
    assert copy.model_fields_set == state.model_fields_set
    assert copy.events is not state.events
    assert all(a is b for a, b in zip(copy.events, state.events, strict=True))
    assert copy.clocks is not state.clocks
    assert copy.details is not state.details


def test_changing_the_copy_leaves_the_state_as_it_was() -> None:
    state = _state()
    before = state.model_dump()
    copy = working_copy(state)

    copy.events.append(copy.events[0].model_copy(update={"seq": 99}))
    copy.clocks.pop()
    copy.details.legal_name = "Someone Else"
    copy.web_tracking_id = "WT-2"
    copy.reminders_sent.append("anything")

    assert state.model_dump() == before
    assert copy.submitted_on == state.submitted_on == date(2025, 2, 20)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def _mutable_parts(annotation: Any) -> list[str]:
    """The mutable containers and non-frozen models an annotation allows."""
    origin = typing.get_origin(annotation)
    found = (
        [str(annotation)] if origin in (list, dict, set) or annotation in (list, dict, set) else []
    )
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not annotation.model_config.get("frozen"):
            found.append(annotation.__name__)
    return found + [part for arg in typing.get_args(annotation) for part in _mutable_parts(arg)]


@pytest.mark.parametrize("state_type", [ApplicationState, EnrollmentState])
def test_every_frozen_model_a_state_can_hold_is_immutable_all_the_way_down(
    state_type: type[BaseModel],
) -> None:
    # working_copy shares frozen models between a state and its copy: safe only if nothing
    # inside one can be changed in place.
    seen: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [state_type]
    frozen: list[type[BaseModel]] = []
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        if model.model_config.get("frozen"):
            frozen.append(model)
        for info in model.model_fields.values():
            pending.extend(_models_in(info.annotation))
    assert frozen, "the states hold no frozen model: this test checks nothing"
    problems = {
        f"{model.__name__}.{name}": parts
        for model in frozen
        for name, info in model.model_fields.items()
        if (parts := _mutable_parts(info.annotation))
    }
    assert problems == {}
