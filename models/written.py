"""The scalar values a request writes, taken exactly as JSON writes them.

pydantic's lax mode reads "yes", "on", 1 and "1" as true, "3" and 3.0 as the whole number 3
and "25" as the number 25: a client that sends the wrong JSON type would be applied, not told.
Every flag, whole number and number a request model takes is one of these (a unit test walks
every request model to hold that); dates are `models.calendar.WrittenDate`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Strict

# true or false, nothing else.
Flag = Annotated[bool, Strict()]
# A JSON integer: not "3", not 3.0, not true.
WholeNumber = Annotated[int, Strict()]
# A JSON number (an integer is one): not "25", not true.
Number = Annotated[float, Strict()]
