"""Reading the read model for the list routes: the filters both record lists take (each value
checked, a refusal naming the allowed ones), the lookups behind them, and pages by opaque
keyset cursors."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy import ColumnElement, and_, bindparam, or_
from sqlalchemy import select as select_columns
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.bodies import IsoDate
from api.problems import bad_parameter
from models.checks import KnownEnrollment
from models.forms import Form, parse_form
from models.identifiers import US_STATE_CODES
from models.jurisdictions import AB_MAC_JURISDICTIONS, DME_MAC_JURISDICTIONS, NPE_JURISDICTIONS
from models.read_model import ApplicationRow, EnrollmentRow

Row = TypeVar("Row", ApplicationRow, EnrollmentRow)

DEFAULT_PAGE = 50
MAX_PAGE = 500
MAC_JURISDICTIONS = frozenset(
    j.jurisdiction for j in (*AB_MAC_JURISDICTIONS, *DME_MAC_JURISDICTIONS, *NPE_JURISDICTIONS)
)
_MAC_BY_KEY = {j.upper(): j for j in MAC_JURISDICTIONS}  # "jn" -> "JN", "npe east" -> "NPE East"
_NPI = re.compile(r"[0-9]{10}")


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


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


@dataclass(frozen=True)
class RecordFilters:
    """What both record lists (applications, enrollments) filter on, checked, and the page."""

    forms: list[str]
    states: list[str]
    macs: list[str]
    npi: str | None
    organization_id: str | None
    deadline_before: date | None
    limit: int
    cursor: str | None

    def conditions(
        self, table: type[ApplicationRow] | type[EnrollmentRow]
    ) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.forms:
            conditions.append(col(table.form).in_(self.forms))
        if self.states:
            conditions.append(col(table.state).in_(self.states))
        if self.macs:
            conditions.append(col(table.mac_jurisdiction).in_(self.macs))
        if self.npi is not None:
            conditions.append(col(table.npi) == self.npi)
        if self.organization_id is not None:
            conditions.append(col(table.organization_id) == self.organization_id)
        if self.deadline_before is not None:
            conditions.append(col(table.next_deadline) < self.deadline_before)
        return conditions


# What the OpenAPI document says of a page cursor: a format of its own (base64url of the last
# row's key, see encode_cursor); a client passes back what it was given.
CURSOR_FORMAT = "page-cursor"
CURSOR_SCHEMA = {"format": CURSOR_FORMAT}


def one_of(values: Iterable[str]) -> dict[str, Any]:
    """What the document says a repeatable filter takes (`json_schema_extra`): its values, the
    canonical spellings (the API also reads e.g. `855i` or `jn`)."""
    return {"items": {"type": "string", "enum": sorted(values)}}


def record_filters(
    form: Annotated[
        list[str] | None, Query(json_schema_extra=one_of(f.value for f in Form))
    ] = None,
    state: Annotated[
        list[str] | None,
        Query(description="US state code, e.g. FL", json_schema_extra=one_of(US_STATE_CODES)),
    ] = None,
    mac: Annotated[
        list[str] | None,
        Query(description="MAC jurisdiction, e.g. JN", json_schema_extra=one_of(MAC_JURISDICTIONS)),
    ] = None,
    npi: Annotated[str | None, Query(json_schema_extra={"pattern": "^[0-9]{10}$"})] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    deadline_before: Annotated[
        IsoDate | None, Query(description="Soonest open deadline strictly before this date")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[
        str | None,
        Query(
            max_length=400,
            description="The `next_cursor` of the previous page, unchanged (omit it for the "
            "first page); a value the API could not have issued answers 422.",
            json_schema_extra=CURSOR_SCHEMA,
        ),
    ] = None,
) -> RecordFilters:
    if npi is not None and not _NPI.fullmatch(npi):
        raise bad_parameter("npi", npi, "is not an NPI (10 digits)")
    return RecordFilters(
        forms=choices("form", form, (f.value for f in Form), lambda v: parse_form(v).value),
        states=choices("state", state, US_STATE_CODES, str.upper),
        macs=choices("mac", mac, MAC_JURISDICTIONS, lambda v: _MAC_BY_KEY.get(v.upper(), v)),
        npi=npi,
        organization_id=organization_id,
        deadline_before=deadline_before,
        limit=limit,
        cursor=cursor,
    )


RecordQuery = Annotated[RecordFilters, Depends(record_filters)]


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
    table: type[Row],
    key: str,
    conditions: Sequence[ColumnElement[bool]],
    filters: RecordFilters,
) -> tuple[list[Row], str | None]:
    """One page of a read-model table, newest first, by a keyset cursor on (updated_at, key):
    stable under inserts, and as fast on the 1,000th page as on the first. Returns the rows and
    the cursor of the next page (None on the last)."""
    updated = col(table.updated_at)
    record_id = col(getattr(table, key))
    query = select(table).where(*conditions)
    if filters.cursor:
        after_at, after_id = decode_cursor(filters.cursor)
        query = query.where(
            or_(updated < after_at, and_(updated == after_at, record_id > after_id))
        )
    query = query.order_by(updated.desc(), record_id).limit(filters.limit + 1)

    def fetch(engine: Engine) -> list[Row]:
        with Session(engine) as s:
            return list(s.exec(query))

    rows = await asyncio.to_thread(fetch, engine_of(request))
    page, more = rows[: filters.limit], len(rows) > filters.limit
    last = page[-1] if page else None
    next_cursor = encode_cursor(last.updated_at, getattr(last, key)) if more and last else None
    return page, next_cursor


_ENROLLMENT_TABLE: Any = EnrollmentRow.__table__  # type: ignore[attr-defined]
_KNOWN_ENROLLMENTS = select_columns(
    *(
        _ENROLLMENT_TABLE.c[name]
        for name in (
            "enrollment_id",
            "form",
            "state",
            "status",
            "revoked_effective",
            "barred_through",
        )
    )
).where(_ENROLLMENT_TABLE.c.npi == bindparam("npi"))


async def known_enrollments(request: Request, npi: str | None) -> tuple[KnownEnrollment, ...]:
    """The enrollments the read model holds for an NPI, as an initial application needs to know
    them (a re-enrollment bar, the same line of business already enrolled)."""
    if npi is None:
        return ()

    def fetch(engine: Engine) -> list[Any]:
        # Core rows of the six columns, not ORM objects (issue 22: 3.6% of the API's time).
        with engine.connect() as conn:
            return list(conn.execute(_KNOWN_ENROLLMENTS, {"npi": npi}))

    rows = await asyncio.to_thread(fetch, engine_of(request))
    return tuple(
        KnownEnrollment(
            enrollment_id=row.enrollment_id,
            form=Form(row.form),
            state=row.state,
            status=row.status,
            revoked_effective=row.revoked_effective,
            barred_through=row.barred_through,
        )
        for row in rows
    )
