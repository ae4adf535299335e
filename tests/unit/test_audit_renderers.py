"""The audit's renderer tables (workflows/audit/renderers.py) over a made-up history with the
events the recorded ones never contain: refused updates, failed and timed-out activities,
signals, a run continued as new, and every way a run can end. Payloads are encrypted like in
production, with the recorded histories' test key ring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from workflows.audit import build_timeline
from workflows.audit.renderers import RENDERERS, EventRenderer
from workflows.converter import KeyRing, build_data_converter

HISTORIES = Path(__file__).parents[1] / "histories"
T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
E = EventType
SSN, EIN = "123-45-6789", "12-3456789"


@pytest.fixture(scope="module")
def converter() -> DataConverter:
    return build_data_converter(
        KeyRing.from_config((HISTORIES / "keyring.txt").read_text().strip())
    )


class Run:
    """One run's history, event by event (ids and times count up); payloads are encrypted."""

    def __init__(self, converter: DataConverter, run_id: str) -> None:
        self.converter = converter
        self.run_id = run_id
        self.events: list[HistoryEvent] = []

    async def payloads(self, value: Any) -> Payloads:
        return Payloads(payloads=await self.converter.encode([value]))

    def add(self, event_type: EventType.ValueType, **attributes: Any) -> HistoryEvent:
        n = len(self.events) + 1
        time = Timestamp()
        time.FromDatetime(T0 + timedelta(minutes=n))
        event = HistoryEvent(event_id=n, event_time=time, event_type=event_type, **attributes)
        self.events.append(event)
        return event

    async def started(self, create: Any = None, *, previous: str = "") -> None:
        self.add(
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            workflow_execution_started_event_attributes={
                "workflow_type": {"name": "ApplicationWorkflow"},
                "original_execution_run_id": self.run_id,
                "continued_execution_run_id": previous,
                "input": await self.payloads(create) if create is not None else None,
            },
        )

    async def update(self, update_id: str, request: Any, **outcome: Any) -> None:
        """An accepted update and its outcome (``success=state`` or ``failure=Failure``)."""
        self.add(
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            workflow_execution_update_accepted_event_attributes={
                "accepted_request": {
                    "meta": {"update_id": update_id},
                    "input": {"args": await self.payloads(request)},
                }
            },
        )
        if "success" in outcome:
            outcome["success"] = await self.payloads(outcome["success"])
        self.add(
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
            workflow_execution_update_completed_event_attributes={
                "meta": {"update_id": update_id},
                "outcome": outcome,
            },
        )

    async def activity(self, name: str, value: Any, summary: str | None = None, **end: Any) -> None:
        """A scheduled activity and how it ended (``completed=result``, ``failed=Failure`` or
        ``timed_out=Failure``)."""
        metadata = {}
        if summary is not None:
            metadata["user_metadata"] = {"summary": (await self.converter.encode([summary]))[0]}
        scheduled = self.add(
            E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            activity_task_scheduled_event_attributes={
                "activity_type": {"name": name},
                "input": await self.payloads(value),
            },
            **metadata,
        )
        [(how, outcome)] = end.items()
        attributes: dict[str, Any] = {"scheduled_event_id": scheduled.event_id}
        if how == "completed":
            attributes["result"] = await self.payloads(outcome)
        else:
            attributes["failure"] = outcome
        self.add(
            getattr(E, f"EVENT_TYPE_ACTIVITY_TASK_{how.upper()}"),
            **{f"activity_task_{how}_event_attributes": attributes},
        )

    def history(self) -> WorkflowHistory:
        return WorkflowHistory("application-made-up", self.events)


def record(seq: int, event: str, before: str | None, after: str, **extra: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "event": event,
        "actor": "ops@example.org",
        "role": "operator",
        "reason": f"reason {seq}",
        "event_date": "2026-11-02",
        "recorded_at": (T0 + timedelta(seconds=seq)).isoformat(),
        "from_status": before,
        "to_status": after,
        **extra,
    }


CREATE = {
    "application_id": "made-up",
    "organization_id": "org-1",
    "form": "CMS-855I",
    "purpose": "initial",
    "actor": "ops@example.org",
    "role": "operator",
    "reason": f"new hire {SSN}",
}
DRAFT = {"event": "update_draft", "actor": "ops@example.org", "reason": "W-9"}


async def _chain(converter: DataConverter) -> list[WorkflowHistory]:
    first = Run(converter, "run-1")
    await first.started(CREATE)
    first.add(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    changes = {"ssn": SSN, "legal_name": "Jane Doe", "npi": None}
    edited = record(2, "update_draft", "draft", "draft", notes=[f"EIN {EIN} on file"])
    state = {"status": "draft", "events": [record(1, "created", None, "draft"), edited]}
    await first.update("u1", {**DRAFT, "changes": changes}, success=state)
    early = {"event": "approved", "actor": "ops@example.org", "role": "operator", "ptan": "P1"}
    first.add(
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
        workflow_execution_update_rejected_event_attributes={
            "rejected_request": {"input": {"args": await first.payloads(early)}},
            "failure": Failure(message="approved is not allowed from draft"),
        },
    )
    refused = Failure(message=f"EIN {EIN} is not valid")
    await first.update("u2", {**DRAFT, "changes": {"ein": EIN}}, failure=refused)
    finding = {"code": "npi_missing", "severity": "error", "field": "npi", "hint": "h"}
    await first.activity(
        "check_application",
        {"workflow_id": "x"},
        "pre-submission checks",
        completed=[{**finding, "message": "no NPI beside SSN 123456789"}],
    )
    notice = {"key": "event-2", "kind": "event", "subject": f"draft {SSN}"}
    await first.activity(
        "record_notification", {"notice": notice}, failed=Failure(message=f"no mail {SSN}")
    )
    projection = {"seq": 2, "row": {"status": "draft"}, "deadlines": []}
    await first.activity(
        "project_application", projection, "read model", timed_out=Failure(message="timeout")
    )
    timer = first.add(E.EVENT_TYPE_TIMER_STARTED, timer_started_event_attributes={"timer_id": "7"})
    first.add(
        E.EVENT_TYPE_TIMER_FIRED,
        timer_fired_event_attributes={"timer_id": "7", "started_event_id": timer.event_id},
    )
    first.add(
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        workflow_execution_signaled_event_attributes={"signal_name": "progress", "identity": "w"},
    )
    first.add(
        E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        workflow_execution_continued_as_new_event_attributes={"new_execution_run_id": "run-2"},
    )
    second = Run(converter, "run-2")
    await second.started(CREATE, previous="run-1")
    second.add(
        E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        workflow_execution_failed_event_attributes={"failure": Failure(message=f"bug {EIN}")},
    )
    return [first.history(), second.history()]


async def test_every_renderer_of_the_table(converter: DataConverter) -> None:
    entries, warnings = await build_timeline(await _chain(converter), converter)
    assert warnings == []
    assert [(e.run_id, e.history_event_id, e.kind, e.summary) for e in entries] == [
        (
            "run-1",
            1,
            "created",
            "created CMS-855I initial application made-up for organization org-1 by "
            "ops@example.org (operator): -> draft",
        ),
        ("run-1", 3, "event", "update_draft by ops@example.org (operator): stays draft"),
        (
            "run-1",
            5,
            "event_refused",
            "approved by ops@example.org refused: approved is not allowed from draft",
        ),
        (
            "run-1",
            7,
            "event_refused",
            "update_draft by ops@example.org refused: EIN **-***6789 is not valid",
        ),
        ("run-1", 9, "activity", "pre-submission checks: 1 finding(s) (npi_missing)"),
        (
            "run-1",
            11,
            "activity_failed",
            "record_notification (no summary) failed: no mail ***-**-6789",
        ),
        ("run-1", 13, "activity_failed", "project_application (read model) timed out: timeout"),
        ("run-1", 15, "timer_fired", "timer fired: timer 7"),
        ("run-1", 16, "signal", "signal progress from w"),
        ("run-1", 17, "closed", "run continued as new: run run-2"),
        ("run-2", 1, "run_continued", "run run-2 continues run run-1"),
        ("run-2", 2, "closed", "workflow failed: bug **-***6789"),
    ]
    created, edited, early, refused, checks, failed, timed_out = entries[:7]
    assert created.reason == "new hire ***-**-6789" and created.details["seq"] == 1
    # An edit shows the fields it changed, never their values (and not the ones it cleared).
    assert edited.details == {
        "seq": 2,
        "event_date": "2026-11-02",
        "notes": ["EIN **-***6789 on file"],
        "data": {"changed_fields": ["legal_name", "ssn"]},
    }
    assert early.details == {
        "refusal": "approved is not allowed from draft",
        "data": {"ptan": "P1"},
    }
    assert refused.details["data"] == {"changed_fields": ["ein"]}
    # A finding shows its code, severity, field and (masked) message.
    assert checks.details["findings"] == [
        {
            "code": "npi_missing",
            "severity": "error",
            "field": "npi",
            "message": "no NPI beside SSN ***-**-6789",
        }
    ]
    assert failed.details == {
        "activity_type": "record_notification",
        "failure": "no mail ***-**-6789",
    }
    assert timed_out.actor == "engine" and timed_out.role == "system"


@pytest.mark.parametrize(
    ("event_type", "attributes", "summary"),
    [
        (
            E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
            {"reason": f"cleanup {SSN}", "identity": "admin"},
            "workflow terminated by admin: cleanup ***-**-6789",
        ),
        (E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, {}, "workflow timed_out"),
        (E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, {}, "workflow canceled"),
    ],
)
async def test_every_way_a_run_ends_closes_the_timeline(
    converter: DataConverter,
    event_type: EventType.ValueType,
    attributes: dict[str, Any],
    summary: str,
) -> None:
    run = Run(converter, "run-1")
    await run.started()
    name = EventType.Name(event_type).removeprefix("EVENT_TYPE_").lower()
    run.add(event_type, **{f"{name}_event_attributes": attributes})
    entries, _ = await build_timeline([run.history()], converter)
    assert [(e.kind, e.summary) for e in entries] == [
        ("created", "workflow ApplicationWorkflow started"),
        ("closed", summary),
    ]


async def test_showing_a_new_kind_of_event_is_one_entry_in_the_table(
    converter: DataConverter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def marker(b: Any, event: HistoryEvent, where: str) -> None:
        b.add_engine(
            event, "marker", f"marker {event.marker_recorded_event_attributes.marker_name}"
        )

    renderer: EventRenderer = marker
    monkeypatch.setitem(cast(dict[Any, Any], RENDERERS), E.EVENT_TYPE_MARKER_RECORDED, renderer)
    run = Run(converter, "run-1")
    await run.started()
    run.add(E.EVENT_TYPE_MARKER_RECORDED, marker_recorded_event_attributes={"marker_name": "m"})
    entries, _ = await build_timeline([run.history()], converter)
    assert [(e.kind, e.summary, e.actor) for e in entries][1:] == [("marker", "marker m", "engine")]
