"""Notifications: the outbox of notices (activities/notifications.py), what failed and why,
re-sending on demand, and acknowledging a notice (which stops its escalation).

A failing notice is one whose last attempt failed: refused for good (`failed`: a bad address, a
receiver answering 4xx) or still `pending` with a reason (a channel that is down, retried on the
record's schedule). Re-sending asks the record's workflow to re-run its failing side effects now:
the notice goes out through the same claim, so a notice already `sent` is never sent again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.auth import AUTH_RESPONSES, Reader, Writer
from api.problems import Problem, problem_responses
from api.reads import engine_of
from api.responses.notifications import (
    AckAnswer,
    NotificationItem,
    NotificationPage,
    ResendAnswer,
)
from api.temporal import client_of, is_not_found
from models.contracts import RetryEffects
from models.read_model import NotificationAckRow, NotificationRow, OutboxState
from models.records import Reason

router = APIRouter(
    prefix="/v1/notifications",
    tags=["notifications"],
    responses={
        **AUTH_RESPONSES,
        **problem_responses({422: "A bad parameter (names it and the values it accepts)"}),
    },
)

# A row number: positive and within a 64-bit integer (the databases' BIGINT).
NotificationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DEFAULT_PAGE = 50
MAX_PAGE = 500
Status = Literal["pending", "claimed", "sent", "failed"]


class ResendRequest(BaseModel):
    reason: Reason = Field(description="Why it is re-sent (kept in the record's history).")


class AckRequest(BaseModel):
    reason: Reason | None = Field(default=None, description="What is being done about it.")


def failing() -> ColumnElement[bool]:
    return or_(
        col(NotificationRow.state) == OutboxState.FAILED.value,
        and_(
            col(NotificationRow.state) == OutboxState.PENDING.value,
            col(NotificationRow.last_error).is_not(None),
        ),
    )


ViewT = TypeVar("ViewT", bound=BaseModel)


async def with_failing_notifications(request: Request, view: ViewT) -> ViewT:
    """A record's view with the count of its failing notices (None if the read model is down:
    the record's own view answers from Temporal whatever the read model does)."""
    workflow_id = getattr(view, "workflow_id")  # noqa: B009 - both views have it

    def count(engine: Engine) -> int:
        with Session(engine) as s:
            query = (
                select(func.count())
                .select_from(NotificationRow)
                .where(col(NotificationRow.workflow_id) == workflow_id, failing())
            )
            return int(s.exec(query).one())

    try:
        n: int | None = await asyncio.to_thread(count, engine_of(request))
    except SQLAlchemyError:
        n = None
    return view.model_copy(update={"notifications_failing": n})


def _item(row: NotificationRow, ack: NotificationAckRow | None) -> NotificationItem:
    assert row.id is not None
    return NotificationItem(
        id=row.id,
        delivery_id=row.idempotency_key,
        workflow_id=row.workflow_id,
        record_kind=row.record_kind,
        record_id=row.record_id,
        organization_id=row.organization_id,
        kind=row.kind,
        subject=row.subject,
        due_date=row.due_date,
        channel=row.channel,
        state=row.state,
        failing=row.state == OutboxState.FAILED
        or (row.state == OutboxState.PENDING and row.last_error is not None),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        acknowledged_at=ack.acknowledged_at if ack else None,
        acknowledged_by=ack.actor if ack else None,
    )


@router.get(
    "",
    summary="Notices on their way out, or that failed",
    operation_id="listNotifications",
    response_model=NotificationPage,
    description=(
        "Oldest first, a page at a time (`after` = the previous page's `next_after`). "
        "`status=failed` lists every notice whose last attempt failed: refused for good, or "
        "pending again with the reason (a channel that is down). Other statuses list the rows "
        "in that state."
    ),
)
async def list_notifications(
    request: Request,
    principal: Reader,
    status: Annotated[Status | None, Query(description="pending, claimed, sent or failed")] = None,
    workflow_id: Annotated[str | None, Query(max_length=100)] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> NotificationPage:
    query = select(NotificationRow, NotificationAckRow).outerjoin(
        NotificationAckRow,
        col(NotificationAckRow.idempotency_key) == col(NotificationRow.idempotency_key),
    )
    if status == "failed":
        query = query.where(failing())
    elif status is not None:
        query = query.where(col(NotificationRow.state) == status)
    if workflow_id is not None:
        query = query.where(col(NotificationRow.workflow_id) == workflow_id)
    if organization_id is not None:
        query = query.where(col(NotificationRow.organization_id) == organization_id)
    if after is not None:
        query = query.where(col(NotificationRow.id) > after)
    query = query.order_by(col(NotificationRow.id)).limit(limit + 1)

    def fetch(engine: Engine) -> list[tuple[NotificationRow, NotificationAckRow | None]]:
        with Session(engine) as s:
            return [(row, ack) for row, ack in s.exec(query)]

    rows = await asyncio.to_thread(fetch, engine_of(request))
    items = [_item(row, ack) for row, ack in rows[:limit]]
    return NotificationPage(
        items=items, next_after=items[-1].id if len(rows) > limit and items else None
    )


def _row(engine: Engine, notification_id: int) -> NotificationRow:
    with Session(engine) as s:
        row = s.get(NotificationRow, notification_id)
    if row is None:
        raise Problem(
            404,
            "Unknown notification",
            f"No notification {notification_id} (see GET /v1/notifications).",
            kind="not-found",
        )
    return row


@router.post(
    "/{notification_id}/resend",
    summary="Re-send a notice that failed, now",
    operation_id="resendNotification",
    response_model=ResendAnswer,
    responses=problem_responses(
        {404: "No such notification", 409: "Already sent, or its record is no longer running"}
    ),
)
async def resend_notification(
    request: Request,
    principal: Writer,
    notification_id: NotificationId,
    body: Annotated[ResendRequest, Body()],
) -> ResendAnswer:
    row = await asyncio.to_thread(_row, engine_of(request), notification_id)
    if row.state == OutboxState.SENT:
        raise Problem(
            409,
            "Already sent",
            f"Notification {notification_id} was delivered at "
            f"{row.delivered_at.isoformat() if row.delivered_at else 'an earlier time'}; a "
            "notice is never sent twice.",
            kind="already-sent",
        )
    handle = client_of(request).get_workflow_handle(row.workflow_id)
    ask = RetryEffects(actor=principal.actor, role=principal.role, reason=body.reason)
    try:
        retried = await handle.execute_update("retry_side_effects", ask, result_type=int)
    except RPCError as exc:
        if not is_not_found(exc):
            raise
        raise Problem(
            409,
            "Record not running",
            f"The record {row.workflow_id} is no longer running, so nothing re-sends its notices.",
            kind="record-closed",
        ) from None
    except WorkflowUpdateFailedError as exc:
        raise Problem(409, "Not re-sent", str(exc.cause or exc), kind="not-resent") from None
    return ResendAnswer(id=notification_id, workflow_id=row.workflow_id, retried=retried)


@router.post(
    "/{notification_id}/ack",
    summary="Acknowledge a notice: someone is on it (its deadline stops escalating)",
    operation_id="acknowledgeNotification",
    response_model=AckAnswer,
    responses=problem_responses({404: "No such notification"}),
)
async def acknowledge_notification(
    request: Request,
    principal: Writer,
    notification_id: NotificationId,
    body: Annotated[AckRequest | None, Body()] = None,
) -> AckAnswer:
    engine = engine_of(request)

    def ack() -> tuple[NotificationAckRow, bool]:
        row = _row(engine, notification_id)
        with Session(engine) as s:
            existing = s.get(NotificationAckRow, row.idempotency_key)
            if existing is not None:
                return existing, True
            new = NotificationAckRow(
                idempotency_key=row.idempotency_key,
                acknowledged_at=datetime.now(UTC),
                actor=principal.actor,
                role=principal.role,
                reason=body.reason if body else None,
            )
            s.add(new)
            try:
                s.commit()
            except IntegrityError:  # a concurrent ack won: it stands
                s.rollback()
                won = s.get(NotificationAckRow, row.idempotency_key)
                assert won is not None
                return won, True
            s.refresh(new)
            return new, False

    done, already = await asyncio.to_thread(ack)
    return AckAnswer(
        id=notification_id,
        acknowledged_at=done.acknowledged_at,
        acknowledged_by=done.actor,
        already=already,
    )
