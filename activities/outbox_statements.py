"""The outbox's statements on the hot path, built once and bound at execution.

Every side-effect round claims its notices and marks them sent (activities/notifications.py).
Building these statements per notice, with their values inlined, and running them through the
ORM session was about 7% of the worker's time in the throughput benchmark (issue 22); built
once with bind parameters and executed on the session's connection, each is compiled once per
process and only bound per call. The SQL is the same."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlmodel import Session

from models.read_model import (
    ApplicationRow,
    ApplicationRowData,
    EnrollmentRow,
    EnrollmentRowData,
    NotificationRow,
    OutboxState,
)

_OUTBOX: Any = NotificationRow.__table__  # type: ignore[attr-defined]
_ROW = _OUTBOX.c


@cache
def claim_statement(insert: Any, columns: tuple[str, ...]) -> Any:
    """Claim the outbox row of `columns` (its idempotency_key and what the row holds): insert
    it if absent, else take over what may be taken over. PostgreSQL re-checks the WHERE on the
    latest row version under its lock and SQLite serialises writers, so two deliverers never
    both win. RETURNING yields a row only if we did. Bound by `claim_parameters`."""
    claimant = bindparam("claimant", type_=_ROW.claimed_by.type)
    now = bindparam("claim_now", type_=_ROW.created_at.type)
    lease_until = bindparam("claim_lease_until", type_=_ROW.lease_until.type)
    statement = insert(_OUTBOX).values(
        {c: bindparam(f"row_{c}", type_=_ROW[c].type) for c in columns}
        | {
            "created_at": now,
            "state": OutboxState.CLAIMED.value,
            "claimed_by": claimant,
            "lease_until": lease_until,
            "attempts": 1,
        }
    )
    return statement.on_conflict_do_update(
        index_elements=["idempotency_key"],
        set_={
            "state": OutboxState.CLAIMED.value,
            "claimed_by": claimant,
            "lease_until": lease_until,
            "attempts": _ROW.attempts + 1,
        },
        where=or_(
            _ROW.state.in_([OutboxState.PENDING.value, OutboxState.FAILED.value]),
            _ROW.claimed_by == claimant,
            _ROW.lease_until < now,
        )
        & (_ROW.state != OutboxState.SENT.value),
    ).returning(_ROW.id)


def claim_parameters(
    columns: dict[str, Any], claimant: str, now: datetime, lease: timedelta
) -> dict[str, Any]:
    return {f"row_{c}": v for c, v in columns.items()} | {
        "claimant": claimant,
        "claim_now": now,
        "claim_lease_until": now + lease,
    }


# Mark the rows of these keys that this claimant holds sent, in one statement.
MARK_SENT = (
    update(_OUTBOX)
    .where(
        _ROW.idempotency_key.in_(bindparam("keys", expanding=True)),
        _ROW.claimed_by == bindparam("claimant"),
    )
    .values(
        state=OutboxState.SENT.value,
        delivered_at=bindparam("sent_at", type_=_ROW.delivered_at.type),
        claimed_by=None,
        lease_until=None,
        last_error=None,
    )
)


def mark_sent_parameters(keys: Sequence[str], claimant: str, now: datetime) -> dict[str, Any]:
    return {"keys": list(keys), "claimant": claimant, "sent_at": now}


def _row_by_id(table: Any, key: str) -> Any:
    return select(table).where(table.c[key] == bindparam("record_id"))


_APPLICATIONS: Any = ApplicationRow.__table__  # type: ignore[attr-defined]
_ENROLLMENTS: Any = EnrollmentRow.__table__  # type: ignore[attr-defined]
_RECORD_ROWS: dict[str, tuple[Any, type[ApplicationRowData] | type[EnrollmentRowData]]] = {
    "application": (_row_by_id(_APPLICATIONS, "application_id"), ApplicationRowData),
    "enrollment": (_row_by_id(_ENROLLMENTS, "enrollment_id"), EnrollmentRowData),
}


def record_row_in(
    s: Session, record_kind: str, record_id: str
) -> ApplicationRowData | EnrollmentRowData | None:
    """The record's read-model row (None: not there yet, or the organisation itself, which has
    no record row), read with Core on the session's connection: a notice's phone facts need its
    columns, not an ORM object in the session's identity map (issue 22: 2.5% of worker time)."""
    found = _RECORD_ROWS.get(record_kind)
    if found is None:
        return None
    statement, data = found
    row = s.connection().execute(statement, {"record_id": record_id}).first()
    # Values straight from typed columns the projection wrote: no second validation.
    return data.model_construct(**row._mapping) if row is not None else None
