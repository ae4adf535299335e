"""The audit trail of a workflow, read from its Temporal event history (issue #7).

Temporal's history is the record: every operator event entered it as an accepted update, every
regulatory consequence as a timer that fired and the activities that followed. This module turns
the raw history of every run of a continued-as-new chain into a timeline a person can read
(who, in which role, why, state before -> after, clocks opened and closed, timer firings,
checks and notifications), exports it as JSON, CSV or a printable HTML report, and verifies an
export later.

Payloads are decoded with the production data converter (the one that encrypted them), so this
module lives beside :mod:`workflows.converter`. The timeline never carries form details: an
edit lists the fields it changed, never their values, and any SSN- or EIN-shaped text is
masked (``***-**-6789``, ``**-***4567``).

Every export carries ``history_sha256``: SHA-256 over the serialized protobuf ``History`` of
each run, oldest run first (``History.SerializeToString(deterministic=True)``, concatenated).
The JSON export embeds the raw history (``WorkflowHistory.to_json()`` per run, still encrypted)
and the HTML report embeds the JSON export, so either can be checked offline with
:func:`verify_export`; any change to the embedded history changes the digest.

This module performs no I/O except :func:`fetch_chain`, which reads histories from Temporal.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import google.protobuf.json_format
from pydantic import BaseModel, Field, TypeAdapter
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from models.records import EventRecord as _AnyRecord

__all__ = [
    "EXPORT_FORMAT",
    "AuditEntry",
    "AuditExportError",
    "VerifyResult",
    "build_export",
    "build_timeline",
    "export_from_text",
    "fetch_chain",
    "history_digest",
    "mask_text",
    "render_csv",
    "render_html",
    "render_text",
    "verify_export",
]

EXPORT_FORMAT = "enrollment-audit/v1"
DIGEST_ALGORITHM = (
    "sha256 over History.SerializeToString(deterministic=True) of each run, oldest run first"
)
ENGINE = "engine"
HTML_EXPORT_ID = "audit-export"

_SSN = re.compile(r"\b(\d{3})-?(\d{2})-?(\d{4})\b")
_EIN = re.compile(r"\b(\d{2})-(\d{3})(\d{4})\b")
_SENSITIVE_KEYS = frozenset(
    {"ssn", "ein", "tin", "date_of_birth", "dob", "home_address", "address", "contact_email"}
)
_ACTIVITY_SHOWN = {"check_application", "record_notification"}
_EVENT_FIELDS_NOT_DATA = {"event", "actor", "role", "reason"}
# Statuses as plain strings: the same reader serves applications and enrollments.
EventRecord = _AnyRecord[str]
_RECORDS: TypeAdapter[list[EventRecord]] = TypeAdapter(list[EventRecord])


class AuditExportError(ValueError):
    """An export file cannot be read as an audit export (the message says why)."""


# --- Masking ------------------------------------------------------------------------------------


def mask_text(text: str) -> str:
    """Mask EIN-shaped (``**-***4567``) then SSN-shaped (``***-**-6789``) substrings."""
    text = _EIN.sub(lambda m: f"**-***{m.group(3)}", text)
    return _SSN.sub(lambda m: f"***-**-{m.group(3)}", text)


def _mask(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower() in _SENSITIVE_KEYS and value not in (None, ""):
        if isinstance(value, str) and (m := re.search(r"(\d{4})\D*$", value)):
            return f"***{m.group(1)}" if key.lower() in {"ssn", "ein", "tin"} else "[masked]"
        return "[masked]"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


# --- Reading the chain and its digest -----------------------------------------------------------


async def fetch_chain(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """The histories of every run of `workflow_id`'s continued-as-new chain, oldest first.

    Starts from the latest run and follows each run's ``continued_execution_run_id`` back to
    the first. Raises ``temporalio.service.RPCError`` (NOT_FOUND) for an unknown workflow id.
    """
    latest = await client.get_workflow_handle(workflow_id).fetch_history()
    chain = [latest]
    seen = {latest.run_id}
    while True:
        started = chain[-1].events[0].workflow_execution_started_event_attributes
        previous = started.continued_execution_run_id
        if not previous or previous in seen:
            break
        seen.add(previous)
        chain.append(await client.get_workflow_handle(workflow_id, run_id=previous).fetch_history())
    chain.reverse()
    return chain


def _history_bytes(raw_json: str | dict[str, Any]) -> bytes:
    """The serialized protobuf History of one run, from its JSON form (what exports embed)."""
    history = History()
    google.protobuf.json_format.Parse(
        raw_json if isinstance(raw_json, str) else json.dumps(raw_json), history
    )
    return history.SerializeToString(deterministic=True)


def history_digest(raw_histories: Iterable[str | dict[str, Any]]) -> str:
    """SHA-256 (hex) over each run's serialized History, oldest run first."""
    digest = hashlib.sha256()
    for raw in raw_histories:
        digest.update(_history_bytes(raw))
    return digest.hexdigest()


# --- The timeline -------------------------------------------------------------------------------


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


def _time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


@dataclass
class _Decoder:
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

    async def summary(self, event: HistoryEvent) -> str | None:
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            return None
        values = await self.values([event.user_metadata.summary], f"event {event.event_id}")
        return str(values[0]) if values else None


def _event_data(request: dict[str, Any]) -> dict[str, Any]:
    """What an operator event carried, with form details reduced to the names of fields."""
    data = {k: v for k, v in request.items() if k not in _EVENT_FIELDS_NOT_DATA and v is not None}
    changes = data.pop("changes", None)
    if isinstance(changes, dict):
        data["changed_fields"] = sorted(k for k, v in changes.items() if v is not None)
    return _mask(data)


def _status_text(before: str | None, after: str | None) -> str:
    if before is None:
        return f"-> {after}"
    return f"{before} -> {after}" if before != after else f"stays {after}"


class _Builder:
    """Walks the events of each run and emits timeline entries."""

    def __init__(
        self,
        decoder: _Decoder,
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
        time = fields.pop("time", None) or _time(source)
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

    def emit_record(self, event: HistoryEvent, record: EventRecord) -> None:
        engine = record.actor == ENGINE
        details: dict[str, Any] = {"seq": record.seq, "event_date": record.event_date.isoformat()}
        if record.notes:
            details["notes"] = [mask_text(n) for n in record.notes]
        if not engine:
            for i, request in enumerate(self.pending):
                if request.get("event") == record.event:
                    details["data"] = _event_data(self.pending.pop(i))
                    break
        status = _status_text(record.from_status, record.to_status)
        who = "engine" if engine else f"{record.actor} ({record.role or 'no role'})"
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
            self.add(
                event,
                "engine",
                f"{name} by engine: {_status_text(from_status, to_status)}",
                actor=ENGINE,
                role="system",
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

    async def run(self, history: WorkflowHistory, first_run: bool) -> None:
        self.run_id = history.run_id
        for event in history.events:
            await self.event(event, first_run)

    async def event(self, event: HistoryEvent, first_run: bool) -> None:
        a: Any  # the event's attributes, one message type per branch
        t = event.event_type
        d = self.decoder
        where = f"run {self.run_id} event {event.event_id}"
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            a = event.workflow_execution_started_event_attributes
            if a.continued_execution_run_id:
                self.add(
                    event,
                    "run_continued",
                    f"run {self.run_id} continues run {a.continued_execution_run_id}",
                    actor=ENGINE,
                    role="system",
                    details={"previous_run_id": a.continued_execution_run_id},
                )
                return
            create = await d.first(a.input, where)
            if isinstance(create, dict) and "actor" in create:
                # The status comes from the record the reducer wrote, whatever the lifecycle.
                first = self.records.get(1)
                to_status = first.to_status if first else "draft"
                if a.workflow_type.name == "EnrollmentWorkflow":
                    what = (
                        f"{create.get('form')} enrollment {create.get('enrollment_id')} "
                        f"({create.get('source')})"
                    )
                    keys: tuple[str, ...] = ("enrollment_id", "organization_id", "form", "source")
                else:
                    what = (
                        f"{create.get('form')} {create.get('purpose')} application "
                        f"{create.get('application_id')}"
                    )
                    keys = ("application_id", "organization_id", "form", "purpose")
                self.add(
                    event,
                    "created",
                    f"created {what} for organization {create.get('organization_id')} by "
                    f"{create['actor']} ({create.get('role') or 'no role'}): -> {to_status}",
                    actor=create["actor"],
                    role=create.get("role"),
                    event="created",
                    reason=mask_text(str(create.get("reason", ""))),
                    to_status=to_status,
                    details={k: create.get(k) for k in keys}
                    | {"workflow_type": a.workflow_type.name, "seq": 1},
                )
                self.emitted_seq = max(self.emitted_seq, 1)
            else:
                self.add(
                    event,
                    "created",
                    f"workflow {a.workflow_type.name} started",
                    details={"workflow_type": a.workflow_type.name},
                )
        elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            self.batch_notices = []
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request
            request = await d.first(accepted.input.args, where)
            if isinstance(request, dict):
                self.pending.append(request)
            # The event's record (and any consequence applied first) is shown where the
            # update entered history, before the checks and notices it caused.
            for record in self.by_update.get(accepted.meta.update_id, []):
                if record.seq > self.emitted_seq:
                    self.emit_record(event, record)
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED:
            a = event.workflow_execution_update_rejected_event_attributes
            request = await d.first(a.rejected_request.input.args, where)
            self.refused(event, request, a.failure.message)
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            a = event.workflow_execution_update_completed_event_attributes
            if a.outcome.HasField("failure"):
                request = self.pending.pop(0) if self.pending else None
                self.refused(event, request, a.outcome.failure.message)
                return
            state = await d.first(a.outcome.success, where)
            if isinstance(state, dict):
                for record in _RECORDS.validate_python(state.get("events", [])):
                    if record.seq > self.emitted_seq:
                        self.emit_record(event, record)
        elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = event.activity_task_scheduled_event_attributes
            name = a.activity_type.name
            value = await d.first(a.input, where)
            self.activities[event.event_id] = (name, value, await d.summary(event))
            if name == "record_notification" and isinstance(value, dict):
                self.batch_notices.append(value.get("notice") or {})
            elif name == "project_application" and isinstance(value, dict):
                seq = int(value.get("seq") or 0)
                if seq > self.emitted_seq:
                    self.emit_up_to(event, seq, value)
                self.projection = value
        elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            a = event.activity_task_completed_event_attributes
            name, value, summary = self.activities.get(a.scheduled_event_id, ("?", None, None))
            if name not in _ACTIVITY_SHOWN:
                return
            result = await d.first(a.result, where)
            self.activity(event, name, value, summary, result)
        elif t in (
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        ):
            failed = t == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
            a = (
                event.activity_task_failed_event_attributes
                if failed
                else event.activity_task_timed_out_event_attributes
            )
            name, _, summary = self.activities.get(a.scheduled_event_id, ("?", None, None))
            self.add(
                event,
                "activity_failed",
                f"{name} ({summary or 'no summary'}) "
                f"{'failed' if failed else 'timed out'}: {a.failure.message}",
                actor=ENGINE,
                role="system",
                event=name,
                details={"activity_type": name, "failure": mask_text(a.failure.message)},
            )
        elif t == EventType.EVENT_TYPE_TIMER_STARTED:
            a = event.timer_started_event_attributes
            self.timers[event.event_id] = (a.timer_id, await d.summary(event))
        elif t == EventType.EVENT_TYPE_TIMER_FIRED:
            a = event.timer_fired_event_attributes
            timer_id, summary = self.timers.get(a.started_event_id, (a.timer_id, None))
            self.add(
                event,
                "timer_fired",
                f"timer fired: {summary or 'timer ' + timer_id}",
                actor=ENGINE,
                role="system",
                event="timer_fired",
                details={"timer_id": timer_id, "summary": summary},
            )
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            a = event.workflow_execution_signaled_event_attributes
            self.add(
                event,
                "signal",
                f"signal {a.signal_name} from {a.identity or 'unknown'}",
                event=a.signal_name,
                details={"signal": a.signal_name},
            )
        else:
            await self.closing(event, where)

    def refused(self, event: HistoryEvent, request: Any, message: str) -> None:
        request = request if isinstance(request, dict) else {}
        self.add(
            event,
            "event_refused",
            f"{request.get('event', 'event')} by {request.get('actor', '?')} refused: {message}",
            actor=request.get("actor"),
            role=request.get("role"),
            event=request.get("event"),
            reason=mask_text(str(request.get("reason", ""))) or None,
            details={"refusal": mask_text(message), "data": _event_data(request)},
        )

    def activity(
        self, event: HistoryEvent, name: str, value: Any, summary: str | None, result: Any
    ) -> None:
        if name == "check_application":
            findings = result if isinstance(result, list) else []
            shown = [
                _mask({k: f.get(k) for k in ("code", "severity", "field", "message")})
                for f in findings
                if isinstance(f, dict)
            ]
            codes = ", ".join(str(f["code"]) for f in shown) or "none"
            self.add(
                event,
                "activity",
                f"pre-submission checks: {len(shown)} finding(s) ({codes})",
                actor=ENGINE,
                role="system",
                event=name,
                details={"activity_type": name, "summary": summary, "findings": shown},
            )
            return
        notice = (value or {}).get("notice") or {} if isinstance(value, dict) else {}
        kind = notice.get("kind", "notice")
        self.add(
            event,
            "activity",
            f"{kind} notification {notice.get('key')} "
            f"{'delivered' if result else 'already delivered'}: {notice.get('subject', '')}",
            actor=ENGINE,
            role="system",
            event=name,
            details={
                "activity_type": name,
                "notice_key": notice.get("key"),
                "notice_kind": kind,
                "subject": mask_text(str(notice.get("subject", ""))),
                "clock_id": notice.get("clock_id"),
                "due_date": notice.get("due_date"),
                "delivered": bool(result),
            },
        )

    async def closing(self, event: HistoryEvent, where: str) -> None:
        a: Any
        t = event.event_type
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            state = await self.decoder.first(
                event.workflow_execution_completed_event_attributes.result, where
            )
            status = state.get("status") if isinstance(state, dict) else None
            self.add(
                event,
                "closed",
                f"workflow completed: final status {status}",
                actor=ENGINE,
                role="system",
                to_status=status,
                details={"close": "completed"},
            )
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            a = event.workflow_execution_continued_as_new_event_attributes
            self.add(
                event,
                "closed",
                f"run continued as new: run {a.new_execution_run_id}",
                actor=ENGINE,
                role="system",
                details={"close": "continued_as_new", "next_run_id": a.new_execution_run_id},
            )
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            a = event.workflow_execution_terminated_event_attributes
            self.add(
                event,
                "closed",
                f"workflow terminated by {a.identity or 'unknown'}: {a.reason}",
                actor=a.identity or None,
                details={"close": "terminated", "reason": mask_text(a.reason)},
            )
        elif t in (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        ):
            how = EventType.Name(t).removeprefix("EVENT_TYPE_WORKFLOW_EXECUTION_").lower()
            message = (
                event.workflow_execution_failed_event_attributes.failure.message
                if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
                else ""
            )
            self.add(
                event,
                "closed",
                f"workflow {how}{': ' + message if message else ''}",
                actor=ENGINE,
                role="system",
                details={"close": how, "failure": mask_text(message) or None},
            )


async def _collect_records(
    histories: Sequence[WorkflowHistory], decoder: _Decoder
) -> tuple[dict[int, EventRecord], dict[str, list[EventRecord]]]:
    """Every EventRecord any recorded state carries (update results, final results), by seq;
    and each successful update's resulting records, by update id."""
    records: dict[int, EventRecord] = {}
    by_update: dict[str, list[EventRecord]] = {}
    for history in histories:
        for event in history.events:
            payloads: Payloads | None = None
            update_id: str | None = None
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                a = event.workflow_execution_update_completed_event_attributes
                payloads = a.outcome.success if a.outcome.HasField("success") else None
                update_id = a.meta.update_id
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                payloads = event.workflow_execution_completed_event_attributes.result
            if payloads is None:
                continue
            state = await decoder.first(payloads, f"event {event.event_id}")
            if isinstance(state, dict) and isinstance(state.get("events"), list):
                found = _RECORDS.validate_python(state["events"])
                for record in found:
                    records.setdefault(record.seq, record)
                if update_id:
                    by_update[update_id] = found
    return records, by_update


async def build_timeline(
    histories: Sequence[WorkflowHistory], converter: DataConverter
) -> tuple[list[AuditEntry], list[str]]:
    """The timeline of a chain's histories (oldest run first) and any decoding warnings."""
    decoder = _Decoder(converter)
    records, by_update = await _collect_records(histories, decoder)
    builder = _Builder(decoder, records, by_update)
    for i, history in enumerate(histories):
        await builder.run(history, first_run=i == 0)
    return builder.entries, decoder.warnings


# --- Exports ------------------------------------------------------------------------------------


async def build_export(
    histories: Sequence[WorkflowHistory],
    converter: DataConverter,
    *,
    generated_by: dict[str, str] | None = None,
    generated_at: datetime | None = None,
    include_history: bool = True,
) -> dict[str, Any]:
    """The JSON export: the timeline, the runs, the digest and (by default) the raw history."""
    if not histories:
        raise ValueError("no histories to export")
    timeline, warnings = await build_timeline(histories, converter)
    raw = [h.to_json_dict() for h in histories]
    runs = []
    for history in histories:
        first, last = history.events[0], history.events[-1]
        started = first.workflow_execution_started_event_attributes
        runs.append(
            {
                "run_id": history.run_id,
                "workflow_type": started.workflow_type.name,
                "started_at": _time(first).isoformat(),
                "last_event_at": _time(last).isoformat(),
                "last_event": EventType.Name(last.event_type).removeprefix("EVENT_TYPE_"),
                "events": len(history.events),
            }
        )
    export: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "workflow_id": histories[0].workflow_id,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(),
        "generated_by": generated_by,
        "digest_algorithm": DIGEST_ALGORITHM,
        "history_sha256": history_digest(raw),
        "runs": runs,
        "warnings": warnings,
        "timeline": [e.model_dump(mode="json") for e in timeline],
    }
    if include_history:
        export["raw_history"] = [
            {"run_id": h.run_id, "history": r} for h, r in zip(histories, raw, strict=True)
        ]
    return export


CSV_COLUMNS = (
    "n",
    "time",
    "kind",
    "actor",
    "role",
    "event",
    "reason",
    "from_status",
    "to_status",
    "clocks_opened",
    "clocks_closed",
    "summary",
    "run_id",
    "history_event_id",
    "workflow_id",
    "history_sha256",
)


def render_csv(export: dict[str, Any]) -> str:
    """One row per timeline entry; every row names the workflow and the history digest (the
    raw history itself is in the JSON export with the same digest)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in export["timeline"]:
        row = {k: entry.get(k) for k in CSV_COLUMNS}
        row["clocks_opened"] = " ".join(entry.get("clocks_opened") or [])
        row["clocks_closed"] = " ".join(entry.get("clocks_closed") or [])
        row["workflow_id"] = export["workflow_id"]
        row["history_sha256"] = export["history_sha256"]
        writer.writerow(row)
    return out.getvalue()


def _line(entry: dict[str, Any]) -> str:
    return str(entry.get("summary", ""))


def render_text(export: dict[str, Any]) -> str:
    """A plain-text timeline (the CLI's ``audit show``)."""
    lines = [
        f"Audit of {export['workflow_id']} ({len(export['runs'])} run(s)); "
        f"history sha256 {export['history_sha256']}"
    ]
    for entry in export["timeline"]:
        time = str(entry["time"]).replace("+00:00", "Z")
        who = entry.get("actor") or "-"
        if entry.get("role"):
            who += f" ({entry['role']})"
        line = f"{entry['n']:>3}  {time[:19]}Z  {entry['kind']:<14} {who:<32} {_line(entry)}"
        if entry.get("reason") and entry["kind"] in ("event", "engine", "created"):
            line += f"  reason: {entry['reason']}"
        if entry.get("clocks_opened"):
            line += f"  opened: {', '.join(entry['clocks_opened'])}"
        if entry.get("clocks_closed"):
            line += f"  closed: {', '.join(entry['clocks_closed'])}"
        lines.append(line)
    for warning in export.get("warnings") or []:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def render_html(export: dict[str, Any]) -> str:
    """A printable report; it embeds the whole JSON export so it verifies offline too."""
    e = html.escape
    rows = []
    for entry in export["timeline"]:
        states = ""
        if entry.get("to_status"):
            states = f"{e(entry.get('from_status') or '')} &rarr; {e(entry['to_status'])}"
        clocks = []
        if entry.get("clocks_opened"):
            clocks.append("opened: " + e(", ".join(entry["clocks_opened"])))
        if entry.get("clocks_closed"):
            clocks.append("closed: " + e(", ".join(entry["clocks_closed"])))
        rows.append(
            "<tr>"
            f"<td>{entry['n']}</td><td>{e(str(entry['time']))}</td><td>{e(entry['kind'])}</td>"
            f"<td>{e(entry.get('actor') or '')}</td><td>{e(entry.get('role') or '')}</td>"
            f"<td>{e(entry.get('event') or '')}</td><td>{e(entry.get('reason') or '')}</td>"
            f"<td>{states}</td><td>{'<br>'.join(clocks)}</td><td>{e(entry['summary'])}</td>"
            "</tr>"
        )
    embedded = json.dumps(export, sort_keys=True).replace("</", "<\\/")
    runs = ", ".join(f"{e(r['run_id'])} ({r['events']} events)" for r in export["runs"])
    who = export.get("generated_by") or {}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Audit of {e(export["workflow_id"])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.85em; }}
th, td {{ border: 1px solid #999; padding: 0.3em; vertical-align: top; text-align: left; }}
th {{ background: #eee; }}
code {{ word-break: break-all; }}
@media print {{ body {{ margin: 0; }} tr {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>Audit of {e(export["workflow_id"])}</h1>
<p>Generated {e(export["generated_at"])} for {e(str(who.get("actor", "")))}
({e(str(who.get("role", "")))}). Runs: {runs}.</p>
<p>History SHA-256: <code>{e(export["history_sha256"])}</code><br>
({e(export["digest_algorithm"])}). Verify with <code>enroll audit verify THIS_FILE</code>.</p>
<table><thead><tr><th>#</th><th>Time (UTC)</th><th>Kind</th><th>Actor</th><th>Role</th>
<th>Event</th><th>Reason</th><th>State</th><th>Clocks</th><th>Summary</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<script type="application/json" id="{HTML_EXPORT_ID}">{embedded}</script>
</body></html>
"""


# --- Verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    message: str
    recorded: str | None = None
    computed: str | None = None
    runs: int = 0

    def __str__(self) -> str:
        return ("OK: " if self.ok else "TAMPERED: ") + self.message


_HTML_BLOCK = re.compile(
    rf'<script type="application/json" id="{HTML_EXPORT_ID}">(.*?)</script>', re.DOTALL
)


def export_from_text(text: str) -> dict[str, Any]:
    """The JSON export from a JSON export file or an HTML report. Raises AuditExportError."""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        match = _HTML_BLOCK.search(text)
        if match is None:
            raise AuditExportError(
                "this HTML has no embedded audit export (script id 'audit-export')"
            )
        text = match.group(1)
    elif not stripped.startswith("{"):
        raise AuditExportError(
            "not a JSON export or HTML report (a CSV export carries the digest but not the raw "
            "history: verify the JSON export with the same history_sha256)"
        )
    try:
        export = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuditExportError(f"the export is not valid JSON ({exc})") from None
    if not isinstance(export, dict) or export.get("format") != EXPORT_FORMAT:
        raise AuditExportError(f"not an audit export (format is not {EXPORT_FORMAT!r})")
    return export


async def verify_export(
    export: dict[str, Any] | str, *, converter: DataConverter | None = None
) -> VerifyResult:
    """Recompute the digest from the export's embedded raw history and compare.

    With `converter` (the production one, with the key ring), also rebuild the timeline from
    that history and compare it with the export's timeline, so an edited timeline is caught
    too. Never raises for a damaged export: it reports TAMPERED with the reason.
    """
    if isinstance(export, str):
        try:
            export = export_from_text(export)
        except AuditExportError as exc:
            return VerifyResult(False, str(exc))
    recorded = export.get("history_sha256")
    raw = export.get("raw_history")
    if not isinstance(raw, list) or not raw:
        return VerifyResult(
            False, "the export embeds no raw history (exported without it?)", recorded
        )
    try:
        histories = [item["history"] for item in raw]
        computed = history_digest(histories)
    except Exception as exc:
        return VerifyResult(
            False, f"the embedded raw history is unreadable ({type(exc).__name__})", recorded
        )
    if computed != recorded:
        return VerifyResult(
            False,
            f"history digest {computed} does not match the recorded {recorded}",
            recorded,
            computed,
            len(raw),
        )
    message = f"history sha256 {computed} over {len(raw)} run(s) matches"
    if converter is not None:
        workflow_id = str(export.get("workflow_id"))
        try:
            rebuilt, _ = await build_timeline(
                [WorkflowHistory.from_json(workflow_id, h) for h in histories], converter
            )
        except Exception as exc:
            return VerifyResult(
                False,
                f"{message}, but its timeline could not be rebuilt ({type(exc).__name__}: {exc})",
                recorded,
                computed,
                len(raw),
            )
        if [e.model_dump(mode="json") for e in rebuilt] != export.get("timeline"):
            return VerifyResult(
                False,
                f"{message}, but the timeline differs from the one rebuilt from that history",
                recorded,
                computed,
                len(raw),
            )
        message += "; the timeline matches the history"
    return VerifyResult(True, message, recorded, computed, len(raw))
