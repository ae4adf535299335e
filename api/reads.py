"""Helpers for the read-model routes: the engine, filter checks that name the allowed values,
and opaque keyset cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from fastapi import Request
from sqlalchemy.engine import Engine

from api.problems import Problem, invalid

T = TypeVar("T")


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def bad_parameter(name: str, value: str, reason: str, allowed: Iterable[str] = ()) -> Problem:
    allowed = sorted(allowed)
    hint = f" Allowed values: {', '.join(allowed)}." if allowed else ""
    problem = invalid(
        f"Query parameter '{name}': {value!r} {reason}.{hint}",
        [{"field": name, "reason": f"{value!r} {reason}"}],
    )
    if allowed:
        problem.extra["allowed_values"] = {name: allowed}
    return problem


def choices(
    name: str,
    values: list[str] | None,
    allowed: Iterable[str],
    parse: Callable[[str], str] | None = None,
) -> list[str]:
    """The values of a repeatable filter, each checked against `allowed` (after `parse`, which
    may re-spell a value or raise ValueError)."""
    allowed = frozenset(allowed)
    out: list[str] = []
    for raw in values or []:
        try:
            value = parse(raw) if parse else raw
        except ValueError:
            value = None
        if value is None or value not in allowed:
            raise bad_parameter(name, raw, "is not one of the allowed values", allowed)
        out.append(value)
    return out


def encode_cursor(updated_at: datetime, record_id: str) -> str:
    raw = json.dumps([updated_at.isoformat(), record_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, record_id = json.loads(raw)
        updated_at = datetime.fromisoformat(stamp)
        if updated_at.tzinfo is None or not isinstance(record_id, str):
            raise ValueError("malformed cursor")
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise bad_parameter(
            "cursor",
            cursor[:100],
            "is not a cursor this API issued; pass next_cursor from the previous page "
            "unchanged, or omit it for the first page",
        ) from None
    return updated_at, record_id
