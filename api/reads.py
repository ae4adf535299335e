"""Helpers for the read-model routes: the engine, filter checks that name the allowed values,
and opaque keyset cursors."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.problems import Problem, invalid
from models.read_model import ApplicationRow, EnrollmentRow

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


async def keyset_page(
    request: Request,
    table: type[ApplicationRow] | type[EnrollmentRow],
    key: str,
    conditions: Sequence[ColumnElement[bool]],
    *,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """One page of a read-model table, newest first, by a keyset cursor on (updated_at, key):
    stable under inserts, and as fast on the 1,000th page as on the first."""
    updated = col(table.updated_at)
    record_id = col(getattr(table, key))
    query = select(table).where(*conditions)
    if cursor:
        after_at, after_id = decode_cursor(cursor)
        query = query.where(
            or_(updated < after_at, and_(updated == after_at, record_id > after_id))
        )
    query = query.order_by(updated.desc(), record_id).limit(limit + 1)

    def fetch(engine: Engine) -> list[Any]:
        with Session(engine) as s:
            return list(s.exec(query))

    rows = await asyncio.to_thread(fetch, engine_of(request))
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    return {
        "items": [row.model_dump(mode="json", exclude={"projected_seq"}) for row in page],
        "next_cursor": encode_cursor(last.updated_at, getattr(last, key))
        if more and last
        else None,
    }
