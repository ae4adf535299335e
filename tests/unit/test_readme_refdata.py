"""What the README's "Data checks" section says is what the code has."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from cli.commands import app
from models.refdata import ReferenceKind
from workflows.reference_checks import MONTHLY_SCHEDULE_ID
from workflows.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()
SECTION = README[README.index("## Data checks") : README.index("## Sandbox")]


def test_the_kinds_listed_are_the_loaders() -> None:
    listed = SECTION[SECTION.index("Reference kinds:") : SECTION.index("Columns are bound")]
    assert re.findall(r"`(\w+)`", listed) == [k.value for k in ReferenceKind]


def test_the_commands_shown_exist() -> None:
    root = get_command(app)
    for line in re.findall(r"^enroll ([a-z]+ [a-z]+)", SECTION, re.M):
        group, command = line.split()
        assert command in root.commands[group].commands, line  # type: ignore[attr-defined]


def test_the_schedule_and_the_setting_named_are_the_codes() -> None:
    assert f"`{MONTHLY_SCHEDULE_ID}`" in SECTION
    assert "nppes_base_url" in Settings.model_fields and "ENROLL_NPPES_BASE_URL" in SECTION
