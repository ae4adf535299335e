"""What the audit timeline makes of each kind of history event: two tables.

:data:`RENDERERS` maps a history event type to the function that reads it (adding timeline
entries, or remembering what a later event needs); a type not in the table adds nothing.
:data:`ACTIVITY_RENDERERS` maps an activity type to the entry its completion adds; other
activities (the read-model projection) are shown only through what they tell the timeline.
Showing a new kind of event is one function and one entry in a table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from models.contracts import CHECK_APPLICATION, PROJECT_APPLICATION, RECORD_NOTIFICATION
from models.privacy import mask, mask_text
from models.read_model import RECORD_EFFECTS
from workflows.audit.builder import RECORDS, TimelineBuilder

__all__ = ["ACTIVITY_RENDERERS", "RENDERERS", "ActivityRenderer", "EventRenderer"]

EventRenderer = Callable[[TimelineBuilder, HistoryEvent, str], Awaitable[None]]
"""Reads one history event (``where`` names it in decoding warnings)."""
ActivityRenderer = Callable[[TimelineBuilder, HistoryEvent, Any, str | None, Any], None]
"""Shows one completed activity from its input, its summary and its decoded result."""

_E = EventType


# --- Operator events and the workflow's own records ----------------------------------------------


async def _started(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.workflow_execution_started_event_attributes
    if a.continued_execution_run_id:
        b.add_engine(
            event,
            "run_continued",
            f"run {b.run_id} continues run {a.continued_execution_run_id}",
            details={"previous_run_id": a.continued_execution_run_id},
        )
        return
    create = await b.decoder.first(a.input, where)
    if not (isinstance(create, dict) and "actor" in create):
        b.add(
            event,
            "created",
            f"workflow {a.workflow_type.name} started",
            details={"workflow_type": a.workflow_type.name},
        )
        return
    # The status comes from the record the reducer wrote, whatever the lifecycle.
    first = b.records.get(1)
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
    b.add(
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
    b.emitted_seq = max(b.emitted_seq, 1)


async def _task_completed(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    # The notices scheduled by one workflow task belong to the records of that task.
    b.batch_notices = []


async def _update_accepted(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request
    request = await b.decoder.first(accepted.input.args, where)
    if isinstance(request, dict):
        b.pending.append(request)
    # The event's record (and any consequence applied first) is shown where the update
    # entered history, before the checks and notices it caused.
    b.emit_new(event, b.by_update.get(accepted.meta.update_id, []))


async def _update_rejected(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.workflow_execution_update_rejected_event_attributes
    request = await b.decoder.first(a.rejected_request.input.args, where)
    b.refused(event, request, await b.decoder.failure_message(a.failure, where))


async def _update_completed(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.workflow_execution_update_completed_event_attributes
    if a.outcome.HasField("failure"):
        request = b.pending.pop(0) if b.pending else None
        b.refused(event, request, await b.decoder.failure_message(a.outcome.failure, where))
        return
    state = await b.decoder.first(a.outcome.success, where)
    if isinstance(state, dict):
        b.emit_new(event, RECORDS.validate_python(state.get("events", [])))


async def _signaled(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.workflow_execution_signaled_event_attributes
    report = await b.decoder.first(a.input, where)
    if a.signal_name == "application_progress" and isinstance(report, dict):
        # A linked revalidation or reactivation application reports to its enrollment: who
        # recorded it there, what and when, as the enrollment applies it.
        actor = str(report.get("actor") or "unknown")
        b.add(
            event,
            "signal",
            f"application {report.get('application_id')} reports its {report.get('purpose')} "
            f"{report.get('stage')} on {report.get('on')} (recorded by {actor})",
            actor=actor,
            role=report.get("role"),
            event=a.signal_name,
            reason=mask_text(str(report.get("reason", ""))),
            details={
                "signal": a.signal_name,
                **{k: report.get(k) for k in ("application_id", "purpose", "stage", "on")},
            },
        )
        return
    if a.signal_name == "record_findings" and isinstance(report, dict):
        # The outward data checks (after a reference file was loaded, or monthly): codes,
        # sources and their dates; the evidence stays on the record.
        findings = [f for f in report.get("findings") or [] if isinstance(f, dict)]
        shown = [
            mask({k: f.get(k) for k in ("code", "severity", "field", "source", "source_date")})
            for f in findings
        ]
        load = report.get("load_id")
        b.add_engine(
            event,
            "signal",
            f"data checks ({', '.join(report.get('checks') or [])})"
            + (f" after reference load {load}" if load is not None else "")
            + f": {len(shown)} finding(s) ({', '.join(str(f['code']) for f in shown) or 'none'})",
            event=a.signal_name,
            details={"signal": a.signal_name, "load_id": load, "findings": shown},
        )
        return
    b.add(
        event,
        "signal",
        f"signal {a.signal_name} from {a.identity or 'unknown'}",
        event=a.signal_name,
        details={"signal": a.signal_name},
    )


# --- Activities and timers -----------------------------------------------------------------------


def _checks(
    b: TimelineBuilder, event: HistoryEvent, value: Any, summary: str | None, result: Any
) -> None:
    findings = result if isinstance(result, list) else []
    shown = [
        mask({k: f.get(k) for k in ("code", "severity", "field", "message")})
        for f in findings
        if isinstance(f, dict)
    ]
    codes = ", ".join(str(f["code"]) for f in shown) or "none"
    b.add_engine(
        event,
        "activity",
        f"pre-submission checks: {len(shown)} finding(s) ({codes})",
        event=CHECK_APPLICATION,
        details={"activity_type": CHECK_APPLICATION, "summary": summary, "findings": shown},
    )


def _notification(
    b: TimelineBuilder, event: HistoryEvent, value: Any, summary: str | None, result: Any
) -> None:
    notice = (value or {}).get("notice") or {} if isinstance(value, dict) else {}
    kind = notice.get("kind", "notice")
    b.add_engine(
        event,
        "activity",
        f"{kind} notification {notice.get('key')} "
        f"{'delivered' if result else 'already delivered'}: {notice.get('subject', '')}",
        event=RECORD_NOTIFICATION,
        details={
            "activity_type": RECORD_NOTIFICATION,
            "notice_key": notice.get("key"),
            "notice_kind": kind,
            "subject": mask_text(str(notice.get("subject", ""))),
            "clock_id": notice.get("clock_id"),
            "due_date": notice.get("due_date"),
            "delivered": bool(result),
        },
    )


def _round(
    b: TimelineBuilder, event: HistoryEvent, value: Any, summary: str | None, result: Any
) -> None:
    """A side-effect round (activities/effects.py): an entry per notice it delivered, as one
    record_notification activity each shows, and an `activity_failed` entry per effect that
    failed (its last attempt reports failures in its result rather than failing, so that only
    those effects become incidents: the auditor still reads what failed, as before)."""
    outcome = result if isinstance(result, dict) else {}
    failures = [f for f in outcome.get("failures") or [] if isinstance(f, dict)]
    for f in failures:
        message = f"{f.get('error_type')}: {f.get('message')}"
        b.add_engine(
            event,
            "activity_failed",
            f"{RECORD_EFFECTS} ({f.get('key')}) failed: {message}",
            event=RECORD_EFFECTS,
            details={
                "activity_type": RECORD_EFFECTS,
                "effect": f.get("key"),
                "failure": mask_text(message),
            },
        )
    failed = {f.get("key") for f in failures}
    delivered = set(outcome.get("delivered") or [])
    for request in (value or {}).get("notices") or [] if isinstance(value, dict) else []:
        notice = request.get("notice") or {} if isinstance(request, dict) else {}
        if f"notice:{notice.get('key')}" not in failed:
            _notification(b, event, request, summary, notice.get("key") in delivered)


ACTIVITY_RENDERERS: Mapping[str, ActivityRenderer] = {
    CHECK_APPLICATION: _checks,
    RECORD_NOTIFICATION: _notification,
    RECORD_EFFECTS: _round,
}


async def _activity_scheduled(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.activity_task_scheduled_event_attributes
    name = a.activity_type.name
    value = await b.decoder.first(a.input, where)
    b.activities[event.event_id] = (name, value, await b.decoder.summary(event))
    if name == RECORD_EFFECTS and isinstance(value, dict):
        # A round: its notices, then its projection, as the separate activities were read.
        for request in value.get("notices") or []:
            b.batch_notices.append(request.get("notice") or {})
        value = value.get("application")
        name = PROJECT_APPLICATION
    if name == RECORD_NOTIFICATION and isinstance(value, dict):
        b.batch_notices.append(value.get("notice") or {})
    elif name == PROJECT_APPLICATION and isinstance(value, dict):
        # The projection names the last record: consequences the engine applied before it
        # are shown here, even when no later state carries their records.
        seq = int(value.get("seq") or 0)
        if seq > b.emitted_seq:
            b.emit_up_to(event, seq, value)
        b.projection = value


async def _activity_completed(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.activity_task_completed_event_attributes
    name, value, summary = b.activities.get(a.scheduled_event_id, ("?", None, None))
    render = ACTIVITY_RENDERERS.get(name)
    if render is not None:
        render(b, event, value, summary, await b.decoder.first(a.result, where))


async def _activity_failed(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    failed = event.event_type == _E.EVENT_TYPE_ACTIVITY_TASK_FAILED
    a = (
        event.activity_task_failed_event_attributes
        if failed
        else event.activity_task_timed_out_event_attributes
    )
    name, _, summary = b.activities.get(a.scheduled_event_id, ("?", None, None))
    message = await b.decoder.failure_message(a.failure, where)
    b.add_engine(
        event,
        "activity_failed",
        f"{name} ({summary or 'no summary'}) {'failed' if failed else 'timed out'}: {message}",
        event=name,
        details={"activity_type": name, "failure": mask_text(message)},
    )


async def _timer_started(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.timer_started_event_attributes
    b.timers[event.event_id] = (a.timer_id, await b.decoder.summary(event))


async def _timer_fired(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.timer_fired_event_attributes
    timer_id, summary = b.timers.get(a.started_event_id, (a.timer_id, None))
    b.add_engine(
        event,
        "timer_fired",
        f"timer fired: {summary or 'timer ' + timer_id}",
        event="timer_fired",
        details={"timer_id": timer_id, "summary": summary},
    )


# --- How a run ends ------------------------------------------------------------------------------


async def _completed(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    state = await b.decoder.first(event.workflow_execution_completed_event_attributes.result, where)
    status = state.get("status") if isinstance(state, dict) else None
    b.add_engine(
        event,
        "closed",
        f"workflow completed: final status {status}",
        to_status=status,
        details={"close": "completed"},
    )


async def _continued_as_new(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.workflow_execution_continued_as_new_event_attributes
    b.add_engine(
        event,
        "closed",
        f"run continued as new: run {a.new_execution_run_id}",
        details={"close": "continued_as_new", "next_run_id": a.new_execution_run_id},
    )


async def _terminated(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    a = event.workflow_execution_terminated_event_attributes
    b.add(
        event,
        "closed",
        f"workflow terminated by {a.identity or 'unknown'}: {a.reason}",
        actor=a.identity or None,
        details={"close": "terminated", "reason": mask_text(a.reason)},
    )


async def _ended(b: TimelineBuilder, event: HistoryEvent, where: str) -> None:
    """Failed, timed out or canceled: only a failure carries a message."""
    how = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_WORKFLOW_EXECUTION_").lower()
    message = (
        await b.decoder.failure_message(
            event.workflow_execution_failed_event_attributes.failure, where
        )
        if event.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
        else ""
    )
    b.add_engine(
        event,
        "closed",
        f"workflow {how}{': ' + message if message else ''}",
        details={"close": how, "failure": mask_text(message) or None},
    )


RENDERERS: Mapping[EventType.ValueType, EventRenderer] = {
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: _started,
    _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: _task_completed,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: _update_accepted,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED: _update_rejected,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: _update_completed,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: _signaled,
    _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: _activity_scheduled,
    _E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: _activity_completed,
    _E.EVENT_TYPE_ACTIVITY_TASK_FAILED: _activity_failed,
    _E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: _activity_failed,
    _E.EVENT_TYPE_TIMER_STARTED: _timer_started,
    _E.EVENT_TYPE_TIMER_FIRED: _timer_fired,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: _completed,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: _continued_as_new,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: _terminated,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: _ended,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: _ended,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: _ended,
}
