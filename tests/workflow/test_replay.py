"""Replay verification (issue #7): the recorded histories in tests/histories/ must replay on the
current workflow code. A failure here means a change would break workflows already running;
guard it with ``workflow.patched`` instead of re-recording (tests/histories/README.md).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from temporalio import workflow
from temporalio.client import WorkflowHistory

# The sandbox re-imports this module for the SleepFirst workflows; pass everything else
# through (re-importing cryptography's Rust extension inside the sandbox fails).
with workflow.unsafe.imports_passed_through():
    import pytest
    from temporalio.api.enums.v1 import EventType

    from models.application import ApplicationCreate, ApplicationState
    from models.enrollment import EnrollmentStart, EnrollmentState
    from workflows.application import ApplicationWorkflow
    from workflows.converter import KeyRing
    from workflows.enrollment import EnrollmentWorkflow
    from workflows.patches import GENERATIONS
    from workflows.replay import (
        REPLAY_WORKFLOWS,
        load_history_dir,
        load_history_file,
        replay_histories,
    )

# No I/O at import: the sandbox re-imports this module and refuses file access.
HISTORIES = Path(__file__).parent.parent / "histories"
# Every recorded file (its name is the workflow id the replay reports); a missing file fails.
APPLICATIONS = {
    "application-approval",
    "application-approval-effects-round",
    "application-approval-generation-1",
    "application-development-expired",
    "application-reconsideration-reversed",
    "application-withdrawal",
    "application-enrollment-revalidation",
    "application-approval-starts-enrollment",
}
ENROLLMENTS = {
    "enrollment-revalidation-run1",
    "enrollment-revalidation-run2",
    "enrollment-missed-revalidation-run1",
    "enrollment-missed-revalidation-run2",
    "enrollment-revocation",
}
# Continue-as-new chains: each run after the first must be the one its predecessor started.
CHAINS = [
    ["enrollment-revalidation-run1", "enrollment-revalidation-run2"],
    ["enrollment-missed-revalidation-run1", "enrollment-missed-revalidation-run2"],
]


async def _grace_timer(*, guarded: bool) -> None:
    """The change under test: a timer before anything else the workflow does. Unguarded it is
    incompatible with every recorded history; behind ``workflow.patched`` old histories take
    the old path. (Each workflow needs its own subclass: the SDK wants ``run`` on the class.)"""
    if not guarded or workflow.patched("initial-grace-timer"):
        await workflow.sleep(1)


@workflow.defn(name="ApplicationWorkflow")
class SleepFirstApplicationWorkflow(ApplicationWorkflow):
    @workflow.run
    async def run(self, create: ApplicationCreate) -> ApplicationState:
        await _grace_timer(guarded=False)
        return await super().run(create)


@workflow.defn(name="ApplicationWorkflow")
class PatchedSleepFirstApplicationWorkflow(ApplicationWorkflow):
    @workflow.run
    async def run(self, create: ApplicationCreate) -> ApplicationState:
        await _grace_timer(guarded=True)
        return await super().run(create)


@workflow.defn(name="EnrollmentWorkflow")
class SleepFirstEnrollmentWorkflow(EnrollmentWorkflow):
    @workflow.run
    async def run(self, start: EnrollmentStart) -> EnrollmentState:
        await _grace_timer(guarded=False)
        return await super().run(start)


@workflow.defn(name="EnrollmentWorkflow")
class PatchedSleepFirstEnrollmentWorkflow(EnrollmentWorkflow):
    @workflow.run
    async def run(self, start: EnrollmentStart) -> EnrollmentState:
        await _grace_timer(guarded=True)
        return await super().run(start)


@pytest.fixture(scope="module")
def histories() -> list[WorkflowHistory]:
    return load_history_dir(HISTORIES)


@pytest.fixture(scope="module")
def keyring() -> KeyRing:
    """Test-only key: it protects the synthetic recorded histories and nothing else."""
    return KeyRing.from_config((HISTORIES / "keyring.txt").read_text().strip())


def _approval(histories: list[WorkflowHistory]) -> WorkflowHistory:
    return next(h for h in histories if h.workflow_id == "application-approval")


def _by_id(histories: list[WorkflowHistory]) -> dict[str, WorkflowHistory]:
    return {h.workflow_id: h for h in histories}


def _workflow_type(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def test_recorded_set_is_complete(histories: list[WorkflowHistory]) -> None:
    assert {h.workflow_id for h in histories} == APPLICATIONS | ENROLLMENTS
    assert len({h.run_id for h in histories}) == len(histories)
    types = {h.workflow_id: _workflow_type(h) for h in histories}
    assert {i for i, t in types.items() if t == "ApplicationWorkflow"} == APPLICATIONS
    assert {i for i, t in types.items() if t == "EnrollmentWorkflow"} == ENROLLMENTS


def test_the_effects_round_history_runs_one_activity_per_round(
    histories: list[WorkflowHistory],
) -> None:
    """The same approval recorded before and after the `effects-round` patch: the newer one
    schedules the projection and notices as round activities, the older one each on its own."""
    by_id = _by_id(histories)

    def activities(workflow_id: str) -> list[str]:
        return [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in by_id[workflow_id].events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]

    def patches(workflow_id: str) -> set[str]:
        return {
            json.loads(p.data)["id"]
            for e in by_id[workflow_id].events
            if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            for p in e.marker_recorded_event_attributes.details["patch-data"].payloads
        }

    old, new = activities("application-approval"), activities("application-approval-effects-round")
    assert "record_effects" not in old and "effects-round" not in patches("application-approval")
    assert set(new) == {"record_effects", "check_application"}
    assert "effects-round" in patches("application-approval-effects-round")
    assert len(new) < len(old)


def test_a_generation_1_run_took_every_patch_without_a_marker(
    histories: list[WorkflowHistory],
) -> None:
    """The approval as a run started today records it (workflows/patches.py): the patched side
    of every patch it meets, and not one marker, where the run before generations wrote one per
    patch; the replay above shows it still takes the same path."""
    by_id = _by_id(histories)
    new = by_id["application-approval-generation-1"]
    old = by_id["application-approval-effects-round"]

    def markers(history: WorkflowHistory) -> int:
        return sum(
            1 for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        )

    def activities(history: WorkflowHistory) -> set[str]:
        return {
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        }

    assert markers(new) == 0 < markers(old)
    assert activities(new) == activities(old) == {"record_effects", "check_application"}


def test_a_generation_never_changes_its_patches() -> None:
    """A running generation-1 run was recorded without markers for exactly these patches: one
    taken from the list would send its replay down the unpatched side. A new patch goes into a
    new generation."""
    assert GENERATIONS[1] == {
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


def test_continued_runs_are_recorded_as_chains(histories: list[WorkflowHistory]) -> None:
    """Both runs of each chain: the first ends in continue-as-new into exactly the second, so
    the second replays from the state the first carried over (the next cycle's input)."""
    by_id = _by_id(histories)
    for chain in CHAINS:
        for earlier, later in itertools.pairwise(by_id[name] for name in chain):
            last = earlier.events[-1]
            assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            carried = last.workflow_execution_continued_as_new_event_attributes
            assert carried.new_execution_run_id == later.run_id, (earlier.workflow_id, chain)
            started = later.events[0].workflow_execution_started_event_attributes
            assert started.continued_execution_run_id == earlier.run_id


def test_replayer_knows_every_workflow_the_worker_runs() -> None:
    from worker import WORKFLOWS

    assert set(REPLAY_WORKFLOWS) == set(WORKFLOWS)


async def test_every_recorded_history_replays_on_current_code(
    histories: list[WorkflowHistory], keyring: KeyRing
) -> None:
    outcomes = await replay_histories(histories, keyring=keyring)
    assert [o.workflow_id for o in outcomes] == [h.workflow_id for h in histories]
    failed = [str(o) for o in outcomes if not o.ok]
    assert not failed, "changed workflow code no longer replays:\n" + "\n".join(failed)


async def test_an_incompatible_change_is_reported_as_nondeterminism(
    histories: list[WorkflowHistory], keyring: KeyRing
) -> None:
    [outcome] = await replay_histories(
        [_approval(histories)],
        keyring=keyring,
        workflows=[SleepFirstApplicationWorkflow],
    )
    assert not outcome.ok
    assert outcome.nondeterministic, outcome
    assert outcome.error_type == "NondeterminismError"
    assert outcome.workflow_id == "application-approval"
    assert outcome.error is not None
    assert "Nondeterminism error: Timer machine does not handle this event" in outcome.error
    assert "ActivityTaskScheduled" in outcome.error


async def test_an_incompatible_enrollment_change_is_caught_in_every_run(
    histories: list[WorkflowHistory], keyring: KeyRing
) -> None:
    """Each enrollment history has teeth, the runs started by continue-as-new included."""
    outcomes = await replay_histories(
        histories, keyring=keyring, workflows=[ApplicationWorkflow, SleepFirstEnrollmentWorkflow]
    )
    caught = {o.workflow_id for o in outcomes if o.nondeterministic}
    assert caught == ENROLLMENTS, [str(o) for o in outcomes]
    assert all(o.ok for o in outcomes if o.workflow_id in APPLICATIONS)


async def test_the_same_change_behind_a_patch_replays(
    histories: list[WorkflowHistory], keyring: KeyRing
) -> None:
    outcomes = await replay_histories(
        histories,
        keyring=keyring,
        workflows=[PatchedSleepFirstApplicationWorkflow, PatchedSleepFirstEnrollmentWorkflow],
    )
    assert all(o.ok for o in outcomes), [str(o) for o in outcomes]


async def test_replay_needs_the_key_ring(histories: list[WorkflowHistory]) -> None:
    [without] = await replay_histories([_approval(histories)], keyring=None)
    assert not without.ok and not without.nondeterministic
    assert without.error is not None
    assert "Unknown payload encoding binary/encrypted" in without.error
    assert "replay with the key ring" in without.error
    [wrong] = await replay_histories(
        [_approval(histories)], keyring=KeyRing.generate("histories-v1")
    )
    assert not wrong.ok and wrong.error is not None
    assert wrong.error.startswith("payload encrypted with key 'histories-v1' failed authentication")


def test_workflow_id_from_start_event_else_file_name(tmp_path: Path) -> None:
    source = HISTORIES / "application-withdrawal.json"
    assert load_history_file(source).workflow_id == "application-withdrawal"
    document = json.loads(source.read_text())
    document["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"] = "from-event"
    copy = tmp_path / "exported.json"
    copy.write_text(json.dumps(document))
    assert load_history_file(copy).workflow_id == "from-event"
    assert load_history_file(copy, workflow_id="given").workflow_id == "given"


def test_not_a_history_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"workflowId": "x"}')
    with pytest.raises(ValueError, match=r"bad\.json: not a workflow history"):
        load_history_file(bad)
