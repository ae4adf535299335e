"""The readable timeline of a continued-as-new chain: every history event, oldest run first,
through the renderer table (:mod:`workflows.audit.renderers`)."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from workflows.audit.builder import RECORDS, AuditEntry, Decoder, EventRecord, TimelineBuilder
from workflows.audit.renderers import RENDERERS


async def _collect_records(
    histories: Sequence[WorkflowHistory], decoder: Decoder
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
                found = RECORDS.validate_python(state["events"])
                for record in found:
                    records.setdefault(record.seq, record)
                if update_id:
                    by_update[update_id] = found
    return records, by_update


async def build_timeline(
    histories: Sequence[WorkflowHistory], converter: DataConverter
) -> tuple[list[AuditEntry], list[str]]:
    """The timeline of a chain's histories (oldest run first) and any decoding warnings."""
    decoder = Decoder(converter)
    records, by_update = await _collect_records(histories, decoder)
    builder = TimelineBuilder(decoder, records, by_update)
    for history in histories:
        builder.run_id = history.run_id
        for event in history.events:
            render = RENDERERS.get(event.event_type)
            if render is not None:
                await render(builder, event, f"run {builder.run_id} event {event.event_id}")
    return builder.entries, decoder.warnings
