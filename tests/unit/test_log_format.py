"""Logs read well where a person reads them (a terminal) and parse where a machine does (a pipe,
a file, a log shipper), unless ENROLL_LOG_JSON says otherwise."""

from __future__ import annotations

import io
import json
import re
import sys

import pytest
import structlog

from activities.structured_logging import configure_logging
from workflows.settings import Settings


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_unset_means_readable_in_a_terminal_and_json_elsewhere(
    terminal: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENROLL_LOG_JSON", raising=False)
    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    settings = Settings()
    assert settings.log_json is None
    try:
        configure_logging("INFO", json=settings.log_json)
        structlog.get_logger("t").info("worker started", task_queue="enrollment")
    finally:
        configure_logging("INFO", json=True)
    [line] = stream.getvalue().splitlines()
    if terminal:
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)  # the colours
        assert "worker started" in line and "task_queue=enrollment" in line
        with pytest.raises(ValueError):
            json.loads(line)
    else:
        assert json.loads(line)["event"] == "worker started"


def test_asked_for_json_in_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENROLL_LOG_JSON", "true")
    stream = _Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        configure_logging("INFO", json=Settings().log_json)
        structlog.get_logger("t").info("asked")
    finally:
        configure_logging("INFO", json=True)
    assert json.loads(stream.getvalue())["event"] == "asked"
