"""The README shows every screenshot the web app's browser tests take (docs/screens/web-*.png),
and every screenshot it links exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TAKEN = ("web-today", "web-record", "web-refused", "web-portfolio", "web-import", "web-auditor")


def test_the_readme_shows_each_web_app_screenshot_and_each_file_exists() -> None:
    linked = re.findall(r"!\[[^\]]*\]\((docs/screens/[^)]+\.png)\)", README)
    assert {f"docs/screens/{name}.png" for name in TAKEN} <= set(linked)
    for path in linked:
        assert (ROOT / path).is_file(), path
    taken_in_tests = set()
    for test in (ROOT / "tests" / "web").glob("test_*.py"):
        taken_in_tests |= set(re.findall(r'screenshot\(page, "([a-z-]+)"\)', test.read_text()))
    assert taken_in_tests == set(TAKEN)
