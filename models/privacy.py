"""What is sensitive in an enrollment file, and the two ways it is hidden. Pure: no I/O.

One set of sensitive keys and one set of TIN shapes serve every place that shows or writes data:

- **masking**, for people (the audit timeline and its exports, the API's views, the support
  packet): an SSN or EIN keeps its last four digits (``***-**-6789``, ``**-***6789``) so it can
  be matched with the paper file; a date of birth, an address, an e-mail or a secret is
  replaced by ``[REDACTED]``. Names stay: operators and auditors work the file by name.
- **redaction**, for logs, which reach more people and systems than the file does: the value
  of every sensitive key, names included, every TIN-shaped substring, and the values a
  database error's text quotes (its parameters, PostgreSQL's DETAIL line) become ``[REDACTED]``.

A TIN is 9 digits however it is written: ``123-45-6789``, ``123 45 6789``, ``123456789`` (SSN
layout), ``12-3456789``, ``12 3456789`` (EIN layout). A 10-digit NPI, which is public (NPPES),
and dates do not have that shape and are never touched. One TIN is masked by
:func:`models.identifiers.mask_tin`, re-exported here so every display mask comes from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from models.identifiers import mask_tin

__all__ = [
    "HIDDEN_KEYS",
    "NAME_KEYS",
    "REDACTED",
    "SENSITIVE_KEYS",
    "TIN_KEYS",
    "mask",
    "mask_details",
    "mask_text",
    "mask_tin",
    "redact",
    "redact_text",
]

REDACTED = "[REDACTED]"

TIN_KEYS: Mapping[str, Literal["SSN", "EIN"] | None] = {"ssn": "SSN", "ein": "EIN", "tin": None}
"""Keys whose value is a TIN, with the layout its mask takes (None: the value's own layout)."""
HIDDEN_KEYS = frozenset(
    {"date_of_birth", "dob", "home_address", "address", "contact_email", "password", "api_key"}
)
"""Keys whose value is never shown, masked or logged."""
NAME_KEYS = frozenset({"legal_name", "first_name", "middle_name", "last_name"})
"""Keys whose value is shown to the people who work the file but never logged."""
SENSITIVE_KEYS = frozenset(TIN_KEYS) | HIDDEN_KEYS | NAME_KEYS
"""Every key a log line redacts; compared case-insensitively, ``-`` read as ``_``."""

# \b keeps longer digit runs (a 10-digit NPI, a 14-digit enrollment id) whole; EIN-shaped text
# is matched first so that ``12-3456789`` keeps the EIN layout.
_EIN = re.compile(r"\b\d{2}[- ]\d{7}\b")
_SSN = re.compile(r"\b\d{3}[- ]?\d{2}[- ]?\d{4}\b")


def _key(key: object) -> str:
    return str(key).lower().replace("-", "_")


def mask_text(text: str) -> str:
    """Text with every TIN-shaped substring masked to its last four digits."""
    text = _EIN.sub(lambda m: _mask_tin_value(m.group(), "EIN"), text)
    return _SSN.sub(lambda m: _mask_tin_value(m.group(), "SSN"), text)


# Where a database error's text quotes values: SQLAlchemy's "[parameters: ...]" (every bound
# value of the statement) and PostgreSQL's "DETAIL:" line ("Failing row contains (...)",
# "Key (npi)=(...)"). Names cannot be told by their shape, so the whole part goes.
_DATABASE_VALUES = re.compile(r"\[parameters: [^\n]*|\bDETAIL: [^\n]*")


def redact_text(text: str) -> str:
    """Text with every TIN-shaped substring, and the values a database error quotes, replaced
    by ``[REDACTED]``."""
    text = _DATABASE_VALUES.sub(lambda m: m.group().split(":", 1)[0] + ": " + REDACTED, text)
    return _SSN.sub(REDACTED, _EIN.sub(REDACTED, text))


def _mask_tin_value(value: Any, kind: Literal["SSN", "EIN"] | None) -> str:
    if isinstance(value, str):
        try:
            return mask_tin(value, kind)
        except ValueError:  # not 9 ASCII digits: nothing of it is safe to show
            pass
    return REDACTED


def _walk(
    value: Any,
    key: str | None,
    by_key: Callable[[str, Any], Any | None],
    text: Callable[[str], str],
) -> Any:
    """`value` with `by_key(key, value)` in place of a keyed value it hides (None: it does
    not), and `text` applied to every other string, at any depth."""
    if key is not None and (hidden := by_key(_key(key), value)) is not None:
        return hidden
    if isinstance(value, str):
        return text(value)
    if isinstance(value, Mapping):
        return {k: _walk(v, str(k), by_key, text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, None, by_key, text) for v in value]
    return value


def _masked(key: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    if key in TIN_KEYS:
        return _mask_tin_value(value, TIN_KEYS[key])
    return REDACTED if key in HIDDEN_KEYS else None


def _redacted(key: str, value: Any) -> str | None:
    return REDACTED if key in SENSITIVE_KEYS else None


def mask(value: Any, key: str | None = None) -> Any:
    """`value` as a person may see it: sensitive keys masked or hidden at any depth, TIN-shaped
    text masked; empty values stay empty."""
    return _walk(value, key, _masked, mask_text)


def mask_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Form details (or any mapping) as a person may see them (see :func:`mask`)."""
    return {k: mask(v, str(k)) for k, v in details.items()}


def redact(value: Any, key: str | None = None) -> Any:
    """`value` as a log line may carry it: the value of any sensitive key and every TIN-shaped
    substring, at any depth, replaced by ``[REDACTED]``."""
    return _walk(value, key, _redacted, redact_text)
