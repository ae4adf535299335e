"""Free text as the engine accepts it: bounded length, one definition per size."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Text100 = Annotated[str, Field(max_length=100)]
Text200 = Annotated[str, Field(max_length=200)]
Text300 = Annotated[str, Field(max_length=300)]
Text500 = Annotated[str, Field(max_length=500)]
Text2000 = Annotated[str, Field(max_length=2000)]
