"""Which workflow patches a run takes without writing a marker for each.

A run that takes a patch (`workflow.patched`) records a marker, so that a worker replaying it
later knows which side of the patch it ran: nine markers per application and its enrollment,
each an event the server writes and every replay reads (bench/README.md, throughput). A run
started knowing every patch of its generation does not need them: its input says its
generation, so every replay takes the same side, marker or not. Runs started before a
generation existed (generation 0, the field absent from their input) call `workflow.patched`
as they always did, and so does every run for a patch added after its generation: a
generation-1 run started today was recorded without that patch.

Adding a patch: guard the change with `taken("<id>", generation)` as before; only a new
generation, for runs started after it, lists it.
"""

from __future__ import annotations

from temporalio import workflow

# The patches each generation takes without a marker.
GENERATIONS: dict[int, frozenset[str]] = {
    0: frozenset(),
    1: frozenset(
        {
            "effects-queue",
            "effects-round",
            "run-timeout-handover",
            "late-recording-grace",
            "search-attributes",
            "finding-notices",
            "enrollment-links",
            "provisional-enrollment",
            "enrollment-outcomes",
            "revocation-appeals",
            "history-bound",
            "request-ids-carried",
        }
    ),
}
# The generation of every run this code starts (an API create or import, a child, a next run).
CURRENT_GENERATION = 1


def taken(patch_id: str, generation: int) -> bool:
    """Whether the run takes the patch: at once for a patch its generation lists, else as
    `workflow.patched` says (and records)."""
    try:
        listed = GENERATIONS[generation]
    except KeyError:
        # Started by a newer worker: fail the workflow task (retried), so that a worker that
        # knows this generation runs it; never guess which side of a patch it took.
        raise RuntimeError(
            f"run of generation {generation}, unknown to this worker (it knows "
            f"{sorted(GENERATIONS)}): a newer worker must run it"
        ) from None
    return patch_id in listed or workflow.patched(patch_id)
