"""Free text refuses control characters (models/text.py), and no string a person sends escapes
the rule: every string in a request body or an operator event's data is free text with the
rule, an identifier with its own pattern, a choice or a date."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from api.app import create_app
from api.routes.applications import ApplicationCreateBody, EventBody
from api.routes.codec import SessionBody
from api.routes.enrollments import EnrollmentEventBody, EnrollmentImportBody
from api.routes.findings import DispositionBody
from api.routes.imports import ImportBody
from api.routes.incidents import RetryRequest
from api.routes.notifications import AckRequest, ResendRequest
from models.application import ApplicationDetails
from models.application.events import ApplicationOperatorEvent
from models.claims import ClaimHeader
from models.enrollment.events import EnrollmentOperatorEvent
from models.pecos_access import AccessEvent
from models.records import Actor, Reason
from models.text import Line, Paragraph, Text300
from workflows.settings import Settings

REQUEST_BODIES: list[type[BaseModel]] = [
    ApplicationCreateBody,
    EventBody,
    SessionBody,
    EnrollmentImportBody,
    EnrollmentEventBody,
    ImportBody,
    RetryRequest,
    ClaimHeader,
    DispositionBody,
    ResendRequest,
    AckRequest,
    AccessEvent,
]
CONTROLS = [chr(c) for c in [*range(0x20), 0x7F, 0x85, 0x9F]]


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_line_refuses_every_control_character_naming_it(char: str) -> None:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(Line).validate_python(f"Ann{char}Smith")
    [error] = raised.value.errors(include_input=False)
    assert f"(U+{ord(char):04X}) at position 3" in error["msg"], error


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_paragraph_allows_only_tab_and_line_breaks(char: str) -> None:
    adapter = TypeAdapter(Paragraph)
    if char in "\t\n\r":
        assert adapter.validate_python(f"first{char}second") == f"first{char}second"
    else:
        with pytest.raises(ValidationError, match=f"U\\+{ord(char):04X}"):
            adapter.validate_python(f"first{char}second")


def test_a_lone_surrogate_is_refused_and_ordinary_text_passes() -> None:
    with pytest.raises(ValidationError, match="lone surrogate"):
        TypeAdapter(Text300).validate_python("Ann\ud800")
    name = "José Ñúñez-O'Brien 李 (DBA Sunrise Clinic)"
    assert TypeAdapter(Text300).validate_python(name) == name
    assert TypeAdapter(Actor).validate_python("ops@example.org") == "ops@example.org"
    assert TypeAdapter(Reason).validate_python("MAC letter\n\tpage 2") == "MAC letter\n\tpage 2"


def test_the_nul_of_the_report_is_refused_in_the_field_it_came_in() -> None:
    with pytest.raises(ValidationError) as raised:
        ApplicationDetails.model_validate({"legal_name": "Ann\u0000Smith"})
    [error] = raised.value.errors(include_input=False)
    assert error["loc"] == ("legal_name",)
    assert "Ann" not in str(raised.value)  # the value is not echoed


# --- No free-text field without the rule --------------------------------------------------------

Path = tuple[str | int, ...]


def _strings(schema: dict[str, Any], defs: dict[str, Any], path: Path) -> Iterator[Path]:
    """The path of every string-typed leaf of a JSON schema (a list item's index is 0)."""
    if "$ref" in schema:
        yield from _strings(defs[schema["$ref"].rsplit("/", 1)[1]], defs, path)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _strings(sub, defs, path)
    if schema.get("type") == "string" and not {"enum", "const", "format"} & set(schema):
        yield path
    for name, sub in schema.get("properties", {}).items():
        yield from _strings(sub, defs, (*path, name))
    if isinstance(schema.get("items"), dict):
        yield from _strings(schema["items"], defs, (*path, 0))


def _nested(path: Path, value: str) -> Any:
    if not path:
        return value
    head, *rest = path
    inner = _nested(tuple(rest), value)
    return [inner] if isinstance(head, int) else {head: inner}


def _unguarded_leaves(model: type[BaseModel]) -> list[Path]:
    """The string leaves of `model` that accept a NUL (each sent alone, the rest left out)."""
    schema = model.model_json_schema()
    found: list[Path] = []
    for path in dict.fromkeys(_strings(schema, schema.get("$defs", {}), ())):
        try:
            model.model_validate(_nested(path, "A\u0000B"))
        except ValidationError as exc:
            if any(e["loc"] == path for e in exc.errors(include_input=False)):
                continue
        found.append(path)
    return found


def test_every_string_of_every_request_body_refuses_a_nul() -> None:
    document = create_app(Settings(log_json=False)).openapi()
    bodies = {
        ref.rsplit("/", 1)[1]
        for operations in document["paths"].values()
        for operation in operations.values()
        for media in operation.get("requestBody", {}).get("content", {}).values()
        for ref in re.findall(r'"\$ref": "([^"]+)"', json.dumps(media["schema"]))
    }
    # A new body must join REQUEST_BODIES (the codec session body is not in the document).
    assert len(bodies) >= 6 and bodies <= {m.__name__ for m in REQUEST_BODIES}
    assert {m.__name__: _unguarded(m) for m in REQUEST_BODIES} == {
        m.__name__: [] for m in REQUEST_BODIES
    }


def _unguarded(model: type[BaseModel]) -> list[Path]:
    """The string leaves of a body that accept a NUL. An event body documents its `data` event
    by event, and the route validates it with the event's model: those strings are the operator
    events' (test_every_string_of_every_operator_event_refuses_a_nul)."""
    found = _unguarded_leaves(model)
    if model in (EventBody, EnrollmentEventBody):
        return [path for path in found if path[:1] != ("data",)]
    return found


@pytest.mark.parametrize(
    "event",
    [*ApplicationOperatorEvent.catalog, *EnrollmentOperatorEvent.catalog],
    ids=lambda m: f"{m.__module__.split('.')[1]}:{m.event_name()}",
)
def test_every_string_of_every_operator_event_refuses_a_nul(event: type[BaseModel]) -> None:
    assert _unguarded_leaves(event) == []


def test_the_openapi_document_carries_the_rule_as_a_pattern() -> None:
    defs = create_app(Settings(log_json=False)).openapi()["components"]["schemas"]
    [name] = [
        s
        for s in defs["ApplicationDetails"]["properties"]["legal_name"]["anyOf"]
        if s.get("type") == "string"
    ]
    assert name["pattern"] == "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    # An event body is documented event by event (a oneOf): each variant carries the rule.
    reason = defs["ApplicationDevelopmentRequestedEvent"]["properties"]["reason"]
    assert reason["pattern"] == "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
