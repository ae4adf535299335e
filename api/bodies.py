"""What every request body that records something shares: the actor and role come from the API
key, never from the body (a body naming them is refused, saying why); and the request types
the OpenAPI document describes beyond JSON Schema's own (formats of the document's own, the
event bodies' per-event oneOf), so that a request the document allows is never refused for
its content (tests/integration/test_schemathesis.py)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    TypeAdapter,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from models.calendar import TIME_ZONE_SCHEMA
from models.records import OperatorEvent, Reason
from models.text import check_line

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    """A date the API takes is written YYYY-MM-DD (pydantic alone would read a number as a Unix
    time, so `0` would be 1970-01-01)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("not a date: write it YYYY-MM-DD, e.g. 2026-11-30")


# A date in a request (query parameter or top-level body field): an ISO date string only.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]

# A CMS revalidation due date: always the last day of a month (CMS "Revalidations" page).
MONTH_END_FORMAT = "month-end-date"
MONTH_END_SCHEMA = {
    "format": MONTH_END_FORMAT,
    "description": "A date written YYYY-MM-DD that is the last day of its month, e.g. 2028-04-30.",
}

MonthEndDate = Annotated[IsoDate, Field(json_schema_extra=MONTH_END_SCHEMA)]

# CSV files sent as text: a format of the document's own each, since what makes one readable
# (a header line naming the required columns, in any order) is no pattern. The text takes no
# control character but tab and line breaks (said in words: a pattern would hide the format
# from generators that read patterns first).
ROSTER_CSV_FORMAT = "enrollment-roster-csv"
DUE_DATES_CSV_FORMAT = "cms-revalidation-due-date-list-csv"
CLAIMS_CSV_FORMAT = "claim-headers-csv"
_NO_CONTROLS = " No control character but tab and line breaks."


def csv_text(file_format: str, description: str) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` of a CSV text field (a str checked as a Paragraph): its format and
    description, in the place of the text pattern."""

    def document(schema: dict[str, Any]) -> None:
        schema.pop("pattern", None)
        schema["format"] = file_format
        schema["description"] = description + _NO_CONTROLS

    return document


# A time zone in a request body: documented as an IANA name (format `iana-time-zone`), checked
# by the body's or the workflow input's validator (validate_time_zone).
def _time_zone(schema: dict[str, Any]) -> None:
    schema.pop("pattern", None)  # a pattern would hide the format from generators
    schema.update(TIME_ZONE_SCHEMA)


TimeZoneName = Annotated[str, AfterValidator(check_line), Field(json_schema_extra=_time_zone)]


class OperatorBody(BaseModel):
    """Base of the bodies of POST routes that record who did it."""

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("actor" in data or "role" in data):
            raise ValueError(
                "'actor' and 'role' come from your API key (Authorization: Bearer <key>); "
                "remove them from the body"
            )
        return data


# Fields of an operator event the API fills in itself (from the route and the API key).
_SET_BY_THE_API = ("event", "actor", "role", "reason")


def event_variants(
    models: Mapping[str, type[OperatorEvent]], names: Iterable[str], prefix: str
) -> TypeAdapter[Any]:
    """What an event body takes, event by event, for the OpenAPI document: one object per
    operator event (`event` its name, `data` the event model's own fields, `reason`), told
    apart by `event` (a discriminated oneOf), so the document says what each event's `data`
    takes. Documentation only: the route validates `data` with the same models (and the
    checks a schema cannot say, e.g. a date before another, answer 422 naming the field)."""
    variants: list[type[BaseModel]] = []
    for name in names:
        model = models[name]
        own = {f: i for f, i in model.model_fields.items() if f not in _SET_BY_THE_API}
        data = create_model(
            f"{prefix}{model.__name__}Data",
            # The event's own cross-field rules, said in its json_schema_extra.
            __config__=ConfigDict(
                extra="forbid", json_schema_extra=model.model_config.get("json_schema_extra")
            ),
            **{f: (i.annotation, i) for f, i in own.items()},  # type: ignore[call-overload]
        )
        required = any(i.is_required() for i in own.values())
        literal: Any = Literal[name]
        variants.append(
            create_model(
                f"{prefix}{model.__name__}Event",
                __config__=ConfigDict(extra="forbid"),
                __doc__=f"`{name}`: {inspect.getdoc(model) or name}",
                event=(literal, ...),
                data=(data, ...) if required else (data, Field(default_factory=dict)),
                reason=(Reason, ...),
            )
        )
    union: Any = Union[tuple(variants)]  # noqa: UP007
    return TypeAdapter(Annotated[union, Field(discriminator="event")])


def event_body_schema(
    variants: TypeAdapter[Any], handler: GetJsonSchemaHandler, example: dict[str, Any]
) -> JsonSchemaValue:
    """The JSON schema of an event body (for `__get_pydantic_json_schema__`): the variants'
    oneOf, their objects among the document's components."""
    schema = handler(variants.core_schema)
    schema["description"] = (
        "One of the record's operator events (GET /v1/lifecycle), chosen by `event`; `data` "
        "holds what that event takes."
    )
    schema["examples"] = [example]
    return schema


class EventBodyBase(OperatorBody):
    """Base of the event bodies: validated as `event` + `data` (the route checks `data` with
    the event's model, naming `data.<field>`), documented event by event (`documented`)."""

    model_config = ConfigDict(extra="forbid")

    documented: ClassVar[TypeAdapter[Any]]
    example: ClassVar[dict[str, Any]]

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return event_body_schema(cls.documented, handler, cls.example)
