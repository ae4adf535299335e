"""Free text as the engine accepts it: bounded length, no control characters.

Every field a person types (names, addresses, notes, reasons, grounds) is one of these types.
A control character has no place in them and breaks what they reach: PostgreSQL refuses a NUL
in a text column, terminals and CSV exports misread the others, and a lone surrogate cannot be
encoded as UTF-8 at all. They are refused at the door (a 422 naming the field and the
character), before anything is written to history or the read model.

- :data:`Line`: one line (a name, a type, a confirmation number): no control character at all.
- :data:`Paragraph`: may span lines (a reason, grounds, a description): tab, line feed and
  carriage return allowed, nothing else.

The OpenAPI document carries the same rule as a ``pattern``, so clients and schema-driven
tests know it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

__all__ = [
    "Line",
    "Paragraph",
    "Paragraph2000",
    "Text100",
    "Text200",
    "Text300",
    "Text500",
    "Text2000",
    "check_line",
    "check_paragraph",
]

# C0 controls, DEL and C1 controls (Unicode category Cc), and lone surrogates.
_LINE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_PARAGRAPH_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The same rules for the JSON schema (ECMA-262 syntax; surrogates cannot be written there).
_LINE_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F]*$"
_PARAGRAPH_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"


def _refuse(value: str, refused: re.Pattern[str], allowed: str) -> str:
    found = refused.search(value)
    if found is None:
        return value
    code = ord(found.group())
    what = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    raise ValueError(f"contains {what} (U+{code:04X}) at position {found.start()}; {allowed}")


def check_line(value: str) -> str:
    """`value` if it holds no control character; else a ValueError saying which and where."""
    return _refuse(value, _LINE_REFUSED, "send plain text on one line")


def check_paragraph(value: str) -> str:
    """`value` if its only control characters are tab, line feed and carriage return."""
    return _refuse(value, _PARAGRAPH_REFUSED, "send plain text (tabs and line breaks are allowed)")


Line = Annotated[
    str, AfterValidator(check_line), Field(json_schema_extra={"pattern": _LINE_PATTERN})
]
Paragraph = Annotated[
    str,
    AfterValidator(check_paragraph),
    Field(json_schema_extra={"pattern": _PARAGRAPH_PATTERN}),
]

Text100 = Annotated[Line, Field(max_length=100)]
Text200 = Annotated[Line, Field(max_length=200)]
Text300 = Annotated[Line, Field(max_length=300)]
Text500 = Annotated[Line, Field(max_length=500)]
Text2000 = Annotated[Line, Field(max_length=2000)]
Paragraph2000 = Annotated[Paragraph, Field(max_length=2000)]
