"""Who signs (refused with the rule) and credentials with their expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter

from models.application import (
    ApplicationCreate,
    ApplicationEventRequest,
    check_event,
    new_application,
)
from models.checks import Severity
from models.credentials import Credential, credential_findings
from models.forms import Form, Purpose
from models.records import EventRefused
from models.signatures import signer_problem

ON = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
EVENTS: TypeAdapter[object] = TypeAdapter(ApplicationEventRequest)


@pytest.mark.parametrize(
    ("form", "purpose", "signers", "ok"),
    [
        (Form.CMS_855B, Purpose.INITIAL, ["authorized_official"], True),
        (Form.CMS_855B, Purpose.INITIAL, ["delegated_official"], False),
        (Form.CMS_855A, Purpose.REVALIDATION, ["delegated_official"], True),
        (Form.CMS_855A, Purpose.CHANGE_OF_INFORMATION, ["practitioner"], False),
        (Form.CMS_855I, Purpose.INITIAL, ["practitioner"], True),
        (Form.CMS_855I, Purpose.INITIAL, ["authorized_official"], False),
        (Form.CMS_855I, Purpose.REASSIGNMENT, ["practitioner", "delegated_official"], True),
        (Form.CMS_855I, Purpose.REASSIGNMENT, ["practitioner"], False),
    ],
)
def test_who_signs(form: Form, purpose: Purpose, signers: list[str], ok: bool) -> None:
    problem = signer_problem(form, purpose, signers)
    assert (problem is None) == ok
    if problem:
        assert "42 CFR 424.502" in problem and "signed by" in problem


def test_a_submission_signed_by_the_wrong_kind_of_person_is_refused_with_the_rule() -> None:
    state = new_application(
        ApplicationCreate(
            application_id="a1",
            organization_id="o",
            form=Form.CMS_855B,
            purpose=Purpose.INITIAL,
            details={  # type: ignore[arg-type]
                "legal_name": "Sunshine Group LLC",
                "npi": "1245319599",
                "ein": "12-3456789",
                "state": "FL",
            },
            actor="ops@example.org",
        ),
        NOW,
    )
    submit = {"event": "submit", "actor": "ops@example.org", "reason": "filed"}
    wrong = EVENTS.validate_python(
        {**submit, "web_tracking_id": "WT-1", "signers": ["delegated_official"]}
    )
    with pytest.raises(EventRefused) as refused:
        check_event(state, wrong, NOW)  # type: ignore[arg-type]
    assert refused.value.field == "signers"
    assert "an initial CMS-855B is signed by an authorized official" in refused.value.message
    right = EVENTS.validate_python(
        {**submit, "web_tracking_id": "WT-1", "signers": ["authorized_official"]}
    )
    check_event(state, right, NOW)  # type: ignore[arg-type]


def test_credentials_expired_expiring_and_fine() -> None:
    credentials = [
        Credential(kind="state_license", state="FL", expires_on=date(2026, 11, 1)),
        Credential(kind="dea", expires_on=date(2027, 2, 1)),  # before the decision (180 days)
        Credential(kind="board_certification", expires_on=date(2030, 1, 1)),
    ]
    found = credential_findings(credentials, ON, Purpose.INITIAL)
    assert [(f.code, f.severity, f.field) for f in found] == [
        ("credential_expired", Severity.ERROR, "credentials[0]"),
        ("credential_expiring", Severity.WARNING, "credentials[1]"),
    ]
    assert "expected decision (2027-05-29" in found[1].message
    assert credential_findings(credentials[2:], ON, Purpose.INITIAL) == []
