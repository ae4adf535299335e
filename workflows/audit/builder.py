"""The audit timeline's entries and the state its renderers share while they walk a history.

The builder knows the workflow's own records (the EventRecords its states carry) and emits them
where they entered history; :mod:`workflows.audit.renderers` decides what each history event
adds. Every text that reaches an entry is masked (:mod:`models.privacy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.converter import DataConverter

from models.application import APPLICATION_LIFECYCLE
from models.enrollment import ENROLLMENT_LIFECYCLE
from models.privacy import mask, mask_text
from models.records import EventRecord as _AnyRecord

ENGINE = "engine"
_EVENT_FIELDS_NOT_DATA = {"event", "actor", "role", "reason"}
# Statuses as plain strings: the same reader serves applications and enrollments.
EventRecord = _AnyRecord[str]
RECORDS: TypeAdapter[list[EventRecord]] = TypeAdapter(list[EventRecord])


class AuditEntry(BaseModel):
    """One line of the audit timeline."""

    n: int
    time: datetime
    run_id: str
    history_event_id: int
    kind: str
    """created | event | engine | event_refused | timer_fired | activity | activity_failed |
    signal | run_continued | closed"""
    actor: str | None = None
    role: str | None = None
    event: str | None = None
    reason: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    clocks_opened: list[str] = Field(default_factory=list)
    clocks_closed: list[str] = Field(default_factory=list)
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)


def event_time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


@dataclass
class Decoder:
    """Payloads through the production data converter; what cannot be decoded becomes a
    warning of the timeline, never an error."""

    converter: DataConverter
    warnings: list[str] = field(default_factory=list)

    async def values(self, payloads: Sequence[Payload], what: str) -> list[Any] | None:
        if not payloads:
            return []
        try:
            return list(await self.converter.decode(payloads))
        except Exception as exc:
            self.warnings.append(f"{what}: payload not decoded ({type(exc).__name__}: {exc})")
            return None

    async def first(self, payloads: Payloads | None, what: str) -> Any:
        if payloads is None:
            return None
        values = await self.values(payloads.payloads, what)
        return values[0] if values else None

    async def failure_message(self, failure: Failure, what: str) -> str:
        """A failure's message; with encryption on, the failure converter keeps it (and the
        stack trace) in an encoded payload, and `message` only says "Encoded failure"."""
        if not failure.HasField("encoded_attributes"):
            return failure.message
        values = await self.values([failure.encoded_attributes], what)
        attributes = values[0] if values else None
        message = attributes.get("message") if isinstance(attributes, dict) else None
        return message if isinstance(message, str) else failure.message

    async def summary(self, event: HistoryEvent) -> str | None:
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            return None
        values = await self.values([event.user_metadata.summary], f"event {event.event_id}")
        return str(values[0]) if values else None


def event_data(request: dict[str, Any]) -> dict[str, Any]:
    """What an operator event carried, with form details reduced to the names of fields."""
    data = {k: v for k, v in request.items() if k not in _EVENT_FIELDS_NOT_DATA and v is not None}
    changes = data.pop("changes", None)
    if isinstance(changes, dict):
        data["changed_fields"] = sorted(k for k, v in changes.items() if v is not None)
    masked: dict[str, Any] = mask(data)
    return masked


# Events that keep a record without moving it (assignee, notes): their summary says what they
# kept. No recorded history holds one, so the golden audits do not change.
BOOKKEEPING = frozenset(
    APPLICATION_LIFECYCLE.bookkeeping_events + ENROLLMENT_LIFECYCLE.bookkeeping_events
)


def status_text(before: str | None, after: str | None) -> str:
    if before is None:
        return f"-> {after}"
    return f"{before} -> {after}" if before != after else f"stays {after}"


class TimelineBuilder:
    """The entries so far and what the renderers remember between history events."""

    def __init__(
        self,
        decoder: Decoder,
        records: dict[int, EventRecord],
        by_update: dict[str, list[EventRecord]],
    ) -> None:
        self.decoder = decoder
        self.records = records
        self.by_update = by_update
        self.entries: list[AuditEntry] = []
        self.emitted_seq = 0
        self.pending: list[dict[str, Any]] = []  # accepted, not yet recorded operator events
        self.projection: dict[str, Any] | None = None
        self.batch_notices: list[dict[str, Any]] = []
        self.activities: dict[int, tuple[str, Any, str | None]] = {}
        self.timers: dict[int, tuple[str, str | None]] = {}
        self.run_id = ""

    def add(self, source: HistoryEvent, kind: str, summary: str, **fields: Any) -> None:
        time = fields.pop("time", None) or event_time(source)
        self.entries.append(
            AuditEntry(
                n=len(self.entries) + 1,
                time=time,
                run_id=self.run_id,
                history_event_id=source.event_id,
                kind=kind,
                summary=mask_text(summary),
                **fields,
            )
        )

    def add_engine(self, source: HistoryEvent, kind: str, summary: str, **fields: Any) -> None:
        """An entry the engine wrote (timers, activities, closes), not a person."""
        self.add(source, kind, summary, actor=ENGINE, role="system", **fields)

    def emit_record(self, event: HistoryEvent, record: EventRecord) -> None:
        engine = record.actor == ENGINE
        details: dict[str, Any] = {"seq": record.seq, "event_date": record.event_date.isoformat()}
        if record.notes:
            details["notes"] = [mask_text(n) for n in record.notes]
        if not engine:
            for i, request in enumerate(self.pending):
                if request.get("event") == record.event:
                    details["data"] = event_data(self.pending.pop(i))
                    break
        status = status_text(record.from_status, record.to_status)
        who = "engine" if engine else f"{record.actor} ({record.role or 'no role'})"
        if record.event in BOOKKEEPING and record.from_status == record.to_status:
            # What it kept ("Assigned to ...", "Note added."): it moved nothing.
            status = f"{mask_text(' '.join(record.notes))} ({status})"
        self.add(
            event,
            "engine" if engine else ("created" if record.event == "created" else "event"),
            f"{record.event} by {who}: {status}",
            time=record.recorded_at,
            actor=record.actor,
            role=record.role,
            event=record.event,
            reason=mask_text(record.reason),
            from_status=record.from_status,
            to_status=record.to_status,
            clocks_opened=list(record.clocks_opened),
            clocks_closed=list(record.clocks_closed),
            details=details,
        )
        self.emitted_seq = max(self.emitted_seq, record.seq)

    def emit_new(self, event: HistoryEvent, records: Sequence[EventRecord]) -> None:
        """The records not emitted yet, at `event`."""
        for record in records:
            if record.seq > self.emitted_seq:
                self.emit_record(event, record)

    def emit_up_to(self, event: HistoryEvent, seq: int, projection: dict[str, Any]) -> None:
        missing: list[int] = []
        for n in range(self.emitted_seq + 1, seq + 1):
            record = self.records.get(n)
            if record is None:
                missing.append(n)
            else:
                self.emit_record(event, record)
        if missing:
            self.synthesize(event, missing, projection)
        self.emitted_seq = max(self.emitted_seq, seq)

    def synthesize(self, event: HistoryEvent, seqs: list[int], projection: dict[str, Any]) -> None:
        """Engine consequences whose EventRecord no later state carries (the run is still
        open and nothing was recorded since): derived from the consequence notices and the
        read-model projection before and after."""
        before = self.projection or {"row": {}, "deadlines": []}
        old = {d["clock_id"]: d for d in before.get("deadlines", [])}
        new = {d["clock_id"]: d for d in projection.get("deadlines", [])}
        notices = [n for n in self.batch_notices if n.get("kind") == "consequence"]
        for i, seq in enumerate(seqs):
            notice = notices[i] if i < len(notices) else {}
            clock_id = notice.get("clock_id")
            subject = str(notice.get("subject", ""))
            name = subject.split(": ", 1)[-1].split(" -> ", 1)[0] if subject else "consequence"
            clock = old.get(clock_id or "", {})
            last = i == len(seqs) - 1
            from_status = before.get("row", {}).get("status") if i == 0 else None
            to_status = projection.get("row", {}).get("status") if last else None
            self.add_engine(
                event,
                "engine",
                f"{name} by engine: {status_text(from_status, to_status)}",
                event=name,
                reason=(
                    f"{clock.get('clock_kind', 'clock')} {clock_id} expired "
                    f"({clock.get('rule_citation', 'rule')})"
                    if clock_id
                    else "a clock expired"
                ),
                from_status=from_status,
                to_status=to_status,
                clocks_opened=sorted(set(new) - set(old)) if last else [],
                clocks_closed=sorted(set(old) - set(new)) if last else [],
                details={"seq": seq, "derived_from": "consequence notice and read-model inputs"},
            )

    def refused(self, event: HistoryEvent, request: Any, message: str) -> None:
        """An operator event the workflow refused (validator or handler)."""
        request = request if isinstance(request, dict) else {}
        self.add(
            event,
            "event_refused",
            f"{request.get('event', 'event')} by {request.get('actor', '?')} refused: {message}",
            actor=request.get("actor"),
            role=request.get("role"),
            event=request.get("event"),
            reason=mask_text(str(request.get("reason", ""))) or None,
            details={"refusal": mask_text(message), "data": event_data(request)},
        )
