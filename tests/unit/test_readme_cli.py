"""What the README says about the roster and the terminal is what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from cli.imports import ROSTER_HELP
from models.due_date_list import CMS_HEADERS
from models.roster import OPTIONAL, REQUIRED

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_the_roster_columns_the_readme_and_the_help_name_are_the_parsers() -> None:
    section = README[README.index("Roster columns") :]
    section = section[: section.index("\n\n")]
    required = re.search(r"required (.*?);\s+optional", section, re.S)
    optional = re.search(r"optional (.*?)\.\s+Dates", section, re.S)
    assert required and optional
    assert re.findall(r"`(\w+)`", required.group(1)) == list(REQUIRED)
    assert re.findall(r"`(\w+)`", optional.group(1)) == list(OPTIONAL)
    for header in CMS_HEADERS.values():
        assert f"`{header}`" in section and header in ROSTER_HELP
    for column in (*REQUIRED, *OPTIONAL):
        assert column in ROSTER_HELP
