"""A disposition of a suspected exclusion match is one line of the record's log, numbered
after the lines before it, on applications and enrollments alike."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from models.application.dispositions import apply_disposition
from models.data_checks import FindingDispositionRequest
from models.enrollment import apply_event
from models.enrollment.dispositions import apply_enrollment_disposition
from models.findings import Finding, Severity
from tests.unit.test_application_reducer import at, create, plausible, run
from tests.unit.test_enrollment_domain import enrolled, ev, noon

SUSPECTED = Finding(
    code="exclusion_suspected",
    severity=Severity.ERROR,
    field="legal_name",
    message="A name on the LEIE",
    key="leie-jane-doe",
)
CLEARED = FindingDispositionRequest(
    finding_key="leie-jane-doe",
    disposition="cleared",
    actor="ops@example.org",
    reason="another person: date of birth differs",
)


def test_an_applications_disposition_is_the_next_line_of_its_log() -> None:
    state = create().model_copy(update={"findings": [SUSPECTED]})
    when = date(2025, 1, 3)
    state = run(state, plausible("update_draft", when), at(when)).state
    after = apply_disposition(state, CLEARED, at(when))
    assert [e.seq for e in after.events] == list(range(1, len(state.events) + 2))
    assert after.events[-1].event == "finding_disposition"


def test_an_enrollments_disposition_is_the_next_line_of_its_log() -> None:
    state = enrolled()
    now: datetime = noon(date(2024, 3, 1))
    state = apply_event(state, ev("claim_activity", latest_claim_date=now.date()), now).state
    state = state.model_copy(update={"findings": [SUSPECTED]})
    after = apply_enrollment_disposition(state, CLEARED, now + timedelta(hours=1))
    seqs = [e.seq for e in after.events]
    assert seqs == sorted(set(seqs)) and seqs[-1] == state.seq + 1
    assert after.seq == seqs[-1]  # the next event is numbered after it
