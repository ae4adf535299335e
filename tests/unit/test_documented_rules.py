"""What the OpenAPI document says of a request field is what its validator takes (issue 16:
schemathesis sends what the document allows and demands it accepted, and what it forbids and
demands it refused), and a written date is never a number."""

from __future__ import annotations

import itertools
import re
from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from models.application import EVENT_MODELS
from models.application.details import EMAIL_PATTERN, ApplicationDetails
from models.checks import ApplicationParty
from models.claims import ClaimHeader
from models.enrollment import ENROLLMENT_EVENT_MODELS
from models.identifiers import EIN, SSN, validate_ein, validate_ssn
from models.pecos_access import AccessEvent


def _accepts(check: Any, value: str) -> bool:
    try:
        check(value)
    except (ValueError, ValidationError):
        return False
    return True


def _pattern(annotated: Any) -> str:
    pattern: str = TypeAdapter(annotated).json_schema()["pattern"]
    return pattern


def test_the_ssn_pattern_takes_exactly_the_ssns_the_validator_takes() -> None:
    pattern = _pattern(SSN)
    areas = [f"{a:03d}" for a in (0, 1, 9, 99, 100, 599, 665, 666, 667, 699, 899, 900, 999)]
    groups, serials = ["00", "01", "99"], ["0000", "0001", "9999"]
    for area, group, serial in itertools.product(areas, groups, serials):
        for ssn in (f"{area}-{group}-{serial}", f"{area}{group}{serial}"):
            assert bool(re.fullmatch(pattern, ssn)) == _accepts(validate_ssn, ssn), ssn


def test_the_ein_pattern_takes_exactly_the_eins_the_validator_takes() -> None:
    pattern = _pattern(EIN)
    for ein in ("12-3456789", "123456789", "1-23456789", "12-345678", "AB-CDEFGHI", ""):
        assert bool(re.fullmatch(pattern, ein)) == _accepts(validate_ein, ein), ein


@pytest.mark.parametrize("email", ["a@b", "x@y@z", "a b@c", "@a", "a@", "a@@", "@", "ab"])
def test_the_email_pattern_takes_exactly_the_addresses_the_model_takes(email: str) -> None:
    def model(value: str) -> None:
        ApplicationDetails.model_validate({"contact_email": value})

    assert bool(re.fullmatch(EMAIL_PATTERN, email)) == _accepts(model, email)


def test_a_claim_and_a_pecos_access_event_refuse_a_number_as_a_date() -> None:
    with pytest.raises(ValidationError, match="not a date: write it YYYY-MM-DD"):
        ClaimHeader.model_validate({"billing_npi": "1234567893", "date_of_service": 0})
    with pytest.raises(ValidationError, match="not a date: write it YYYY-MM-DD"):
        AccessEvent.model_validate({"event": "login_recorded", "user": "ann", "on": 0})
    claim = ClaimHeader.model_validate(
        {"billing_npi": "1234567893", "date_of_service": "2026-11-30"}
    )
    assert claim.date_of_service == date(2026, 11, 30)
    event = AccessEvent.model_validate({"event": "login_recorded", "user": "ann", "on": date.min})
    assert event.on == date.min


def _date_fields(model: type[Any]) -> list[str]:
    return [
        name
        for name, field in model.model_fields.items()
        if field.annotation in (date, date | None)
    ]


def test_every_operator_event_refuses_a_number_as_a_date() -> None:
    """Each event's date field (the document says `format: date`): a number is refused, naming
    the field, where pydantic alone would read `0` as 1970-01-01."""
    models = [*EVENT_MODELS.values(), *ENROLLMENT_EVENT_MODELS.values()]
    checked = 0
    for model in models:
        for name in _date_fields(model):
            with pytest.raises(ValidationError, match="not a date: write it YYYY-MM-DD") as err:
                model.model_validate(
                    {"event": "x", "actor": "a@example.org", "reason": "r", name: 0}
                )
            assert any(e["loc"] == (name,) for e in err.value.errors()), (model, name)
            checked += 1
    assert checked >= 20, checked  # every lifecycle's dated events, not a few


def test_an_applications_dates_and_a_credentials_expiry_refuse_a_number() -> None:
    for name in ("date_of_birth", "requested_effective_date", "revalidation_due_date"):
        with pytest.raises(ValidationError, match="not a date: write it YYYY-MM-DD"):
            ApplicationDetails.model_validate({name: 0})
    with pytest.raises(ValidationError, match="not a date: write it YYYY-MM-DD"):
        ApplicationDetails.model_validate(
            {"credentials": [{"kind": "state_license", "expires_on": 0}]}
        )


def test_a_partys_share_refuses_true_or_false_and_its_birth_date_a_number() -> None:
    party = {"role": "owner", "name": "Ann Owner"}
    for not_a_number in (False, "25"):
        with pytest.raises(
            ValidationError, match="ownership_percent\n  Value error, a number, not"
        ):
            ApplicationParty.model_validate({**party, "ownership_percent": not_a_number})
    with pytest.raises(ValidationError, match="not a date: write it YYYY-MM-DD"):
        ApplicationParty.model_validate({**party, "date_of_birth": 0})
    assert (
        ApplicationParty.model_validate({**party, "ownership_percent": 25}).ownership_percent == 25
    )
