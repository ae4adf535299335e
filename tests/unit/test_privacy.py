"""One definition of what is sensitive and how it is hidden (models/privacy.py): masked for
people (audit, views), redacted for logs; NPIs and dates untouched."""

from __future__ import annotations

import pytest

from models.privacy import REDACTED, mask, mask_details, mask_text, redact, redact_text

NPI = "1234567893"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("123-45-6789", "***-**-6789"),
        ("123456789", "***-**-6789"),
        ("123 45 6789", "***-**-6789"),
        ("12-3456789", "**-***6789"),
        ("12 3456789", "**-***6789"),
        ("ssn 123-45-6789 ein 12-3456789.", "ssn ***-**-6789 ein **-***6789."),
    ],
)
def test_tin_shaped_text_keeps_its_last_four_when_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert "6789" not in redact_text(text) and REDACTED in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        f"NPI {NPI}",
        f"enrollment-{NPI}",
        "I20200101000001",  # a PECOS enrollment id
        "born 1980-02-29, due 02/29/2031, 20310228",
        "WT-2026-000123 case JN-CASE-42",
        "call 555-123-4567",
        "1234567890123",
    ],
)
def test_npis_ids_and_dates_are_never_touched(text: str) -> None:
    assert mask_text(text) == text
    assert redact_text(text) == text


def test_mask_shows_tins_by_their_last_four_and_hides_the_rest() -> None:
    details = {
        "legal_name": "Jane Q. Doe",
        "npi": NPI,
        "ssn": "123456789",
        "EIN": "12-3456789",
        "tin": "bad",
        "date_of_birth": "1980-02-29",
        "contact_email": "jane@example.org",
        "ptan": None,
        "home_address": "",
        "notes": ["asked for 123-45-6789"],
        "nested": {"dob": "1980-02-29", "state": "FL"},
    }
    assert mask_details(details) == {
        "legal_name": "Jane Q. Doe",
        "npi": NPI,
        "ssn": "***-**-6789",
        "EIN": "**-***6789",
        "tin": REDACTED,
        "date_of_birth": REDACTED,
        "contact_email": REDACTED,
        "ptan": None,
        "home_address": "",
        "notes": ["asked for ***-**-6789"],
        "nested": {"dob": REDACTED, "state": "FL"},
    }
    assert mask(details) == mask_details(details)
    assert mask(("12-3456789", 7)) == ["**-***6789", 7]


def test_redact_hides_every_sensitive_key_names_included() -> None:
    line = {
        "legal_name": "Jane Q. Doe",
        "api-key": "secret",
        "npi": NPI,
        "items": [{"ssn": "123-45-6789"}, "ein 12 3456789"],
        "count": 3,
    }
    assert redact(line) == {
        "legal_name": REDACTED,
        "api-key": REDACTED,
        "npi": NPI,
        "items": [{"ssn": REDACTED}, f"ein {REDACTED}"],
        "count": 3,
    }


def test_the_values_a_database_error_quotes_are_redacted() -> None:
    error = (
        '(psycopg.errors.CheckViolation) new row violates check constraint "c"\n'
        "DETAIL:  Failing row contains (a-1, Jane Doe, 1234567893).\n"
        "[SQL: INSERT INTO application (id, legal_name) VALUES (%(id)s, %(legal_name)s)]\n"
        "[parameters: {'id': 'a-1', 'legal_name': 'Jane Doe', 'npi': '1234567893'}]"
    )
    redacted = redact_text(error)
    assert "Jane" not in redacted and "1234567893" not in redacted
    assert "DETAIL: [REDACTED]" in redacted and "[parameters: [REDACTED]" in redacted
    assert "[SQL: INSERT INTO application" in redacted  # the statement itself holds no value
