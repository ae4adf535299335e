"""Log lines never carry a TIN or a name, whatever shape the TIN is written in; NPIs, which are
public (NPPES), and dates stay readable (models/privacy.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from activities.structured_logging import configure_logging

NPI = "1234567893"


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """A function that logs one line through production logging (JSON lines on stderr) and
    gives it back parsed. Logging is configured inside the test, on the stderr the test
    captures; the previous configuration is restored afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def log(event: str, **fields: Any) -> dict[str, Any]:
        configure_logging("DEBUG", json=True)
        capsys.readouterr()
        structlog.get_logger("test").info(event, **fields)
        [line] = capsys.readouterr().err.splitlines()
        parsed: dict[str, Any] = json.loads(line)
        return parsed

    try:
        yield log
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.parametrize(
    "tin", ["987654321", "987-65-4321", "987 65 4321", "98-7654321", "98 7654321"]
)
def test_a_tin_in_a_log_line_is_redacted_in_any_spelling(log_lines: Any, tin: str) -> None:
    line = log_lines(f"provider {tin} refused", error=f"bad TIN {tin} for NPI {NPI}")
    assert tin not in json.dumps(line)
    assert line["event"] == "provider [REDACTED] refused"
    assert line["error"] == f"bad TIN [REDACTED] for NPI {NPI}"


def test_an_npi_and_dates_in_a_log_line_stay_readable(log_lines: Any) -> None:
    text = f"NPI {NPI} filed 2026-11-30, due 11/30/2031, case 20261130"
    line = log_lines(text, npi=NPI, workflow_id=f"enrollment-{NPI}")
    assert line["event"] == text
    assert line["npi"] == NPI and line["workflow_id"] == f"enrollment-{NPI}"


def test_sensitive_fields_of_a_log_line_are_redacted(log_lines: Any) -> None:
    line = log_lines(
        "draft saved",
        legal_name="Jane Q. Doe",
        details={"ssn": "123-45-6789", "Date_Of_Birth": "1980-02-29", "state": "FL"},
        changes=[{"contact_email": "jane@example.org", "npi": NPI}],
    )
    assert line["legal_name"] == "[REDACTED]"
    assert line["details"] == {
        "ssn": "[REDACTED]",
        "Date_Of_Birth": "[REDACTED]",
        "state": "FL",
    }
    assert line["changes"] == [{"contact_email": "[REDACTED]", "npi": NPI}]
