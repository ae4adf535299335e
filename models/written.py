"""The scalar values a request writes, taken exactly as JSON writes them.

pydantic's lax mode reads "yes", "on", 1 and "1" as true, "3" as the whole number 3 and "25"
as the number 25: a client that sends the wrong JSON type would be applied, not told. Every
flag, whole number and number a request model takes is one of these (a unit test walks every
request model to hold that); dates are `models.calendar.WrittenDate`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Strict


def refuse_text_as_number(value: object) -> object:
    """A number is a JSON number: not text ("3"), not true or false (which pydantic reads as
    1 and 0). 3.0 is the whole number 3, as JSON Schema says; 3.5 is refused by the type."""
    if isinstance(value, bool):
        raise ValueError("a number, not true or false")
    if isinstance(value, (str, bytes)):
        raise ValueError("a number, not text: write it without quotes")
    return value


# true or false, nothing else.
Flag = Annotated[bool, Strict()]
# A JSON integer (3 or 3.0): not "3", not true, not 3.5.
WholeNumber = Annotated[int, BeforeValidator(refuse_text_as_number)]
# A JSON number: not "25", not true.
Number = Annotated[float, BeforeValidator(refuse_text_as_number)]
