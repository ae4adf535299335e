"""Reading a workflow's continued-as-new chain from Temporal, and the digest over its history."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import google.protobuf.json_format
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHistory

DIGEST_ALGORITHM = (
    "sha256 over History.SerializeToString(deterministic=True) of each run, oldest run first"
)


# The memo key of a run started to reopen a closed record for a correction: the run it
# carries on from (not a continue-as-new, so the server does not link them itself).
REOPENS_RUN = "reopens_run_id"


async def fetch_chain(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """The histories of every run of `workflow_id`'s continued-as-new chain, oldest first.

    Starts from the latest run and follows each run's ``continued_execution_run_id`` (or the
    run a correction reopened) back to the first. Raises ``temporalio.service.RPCError``
    (NOT_FOUND) for an unknown workflow id.
    """
    latest = await client.get_workflow_handle(workflow_id).fetch_history()
    chain = [latest]
    seen = {latest.run_id}
    while True:
        started = chain[-1].events[0].workflow_execution_started_event_attributes
        previous = started.continued_execution_run_id
        if not previous and REOPENS_RUN in started.memo.fields:
            (previous,) = await client.data_converter.decode([started.memo.fields[REOPENS_RUN]])
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
