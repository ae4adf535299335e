"""The form for each operator event, built from the event's own model (its JSON schema, as
GET /v1/lifecycle lists it), and the posted form turned back into the event's `data`. The
event's model then validates it exactly as the API does (api/temporal.py, operator_event)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from api.web.pages import words

COMMON = ("event", "actor", "role", "reason")
FIELD_PREFIX = "data."


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # date, text, integer, boolean, lines, choice, json
    required: bool
    options: tuple[str, ...] = ()
    hint: str = ""


def _resolve(spec: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The field's schema without its `null` alternative, and whether null was allowed."""
    nullable = False
    if "anyOf" in spec:
        options = [o for o in spec["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(spec["anyOf"])
        spec = options[0] if len(options) == 1 else {"type": "object"}
    if "$ref" in spec:
        spec = defs.get(spec["$ref"].rsplit("/", 1)[-1], {"type": "object"})
    return spec, nullable


@cache  # one schema walk per event model, not one per page
def event_fields(model: type[BaseModel]) -> tuple[FormField, ...]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    out: list[FormField] = []
    for name, raw in schema.get("properties", {}).items():
        if name in COMMON:
            continue
        spec, _ = _resolve(raw, defs)
        hint = str(raw.get("description") or spec.get("description") or "").split("\n")[0]
        if "enum" in spec:
            kind, options = "choice", tuple(str(v) for v in spec["enum"])
        elif spec.get("type") == "string":
            kind, options = ("date" if spec.get("format") == "date" else "text"), ()
        elif spec.get("type") == "integer":
            kind, options = "integer", ()
        elif spec.get("type") == "boolean":
            kind, options = "boolean", ()
        elif spec.get("type") == "array":
            kind, options = "lines", ()
            hint = hint or "One per line"
        else:
            kind, options = "json", ()
            hint = hint or "A JSON object"
        out.append(FormField(name, words(name).capitalize(), kind, name in required, options, hint))
    return tuple(out)


class FormProblem(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def event_data(fields: Sequence[FormField], form: Mapping[str, Any]) -> dict[str, Any]:
    """The event's `data` from a posted form: empty fields left out (the model says which are
    required), lines split, JSON parsed; a value that cannot be read names its field."""
    data: dict[str, Any] = {}
    for f in fields:
        raw = form.get(FIELD_PREFIX + f.name)
        if f.kind == "boolean":
            if raw is not None:
                data[f.name] = raw in ("on", "true", "1")
            continue
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            continue
        if f.kind == "lines":
            data[f.name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif f.kind == "integer":
            try:
                data[f.name] = int(text)
            except ValueError:
                raise FormProblem(f.name, "is not a whole number") from None
        elif f.kind == "json":
            try:
                data[f.name] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise FormProblem(f.name, f"is not valid JSON ({exc.msg})") from None
        else:
            data[f.name] = text
    return data
