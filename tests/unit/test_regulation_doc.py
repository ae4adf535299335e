"""docs/regulation.md and the rules module say the same thing, both ways: every rule of the code
has its section (headed by its key) quoting the citation of each of its versions, every section
names a rule the code has, and the code cites only sections the document has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.rules import RULES, RuleKey, all_rules

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "regulation.md"
SOURCES = ("models", "workflows", "activities", "api", "cli", "tests", "worker.py", "README.md")
RULE_HEADING = re.compile(r"^### `([a-z_]+)`", re.MULTILINE)
HEADING = re.compile(r"^#{2,3} (.+)$", re.MULTILINE)
# `docs/regulation.md, "Counting days"` and the like: the quoted names after the path.
REFERENCE = re.compile(r"docs/regulation\.md[ ,(]*((?:[\"'][^\"'\n]+[\"'](?: and )?)+)")


def _text(s: str) -> str:
    return " ".join(s.split())


def _rule_sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    starts = [(m.start(), m.group(1)) for m in RULE_HEADING.finditer(text)]
    keys = [k for _, k in starts]
    assert len(keys) == len(set(keys)), f"a rule documented twice: {keys}"
    sections: dict[str, str] = {}
    for (start, key), nxt in zip(starts, [*starts[1:], (len(text), "")], strict=True):
        body = text[start : nxt[0]]
        end = re.search(r"^## ", body, re.MULTILINE)  # a section that is not a rule's
        sections[key] = _text(body[: end.start()] if end else body)
    return sections


def _files() -> list[Path]:
    out: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        out += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return out


def test_every_rule_of_the_code_is_documented() -> None:
    assert set(RuleKey) - set(_rule_sections()) == set()


def test_every_documented_rule_is_in_the_code() -> None:
    assert set(_rule_sections()) - {k.value for k in RuleKey} == set()


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: f"{r.key}@{r.version}")
def test_each_section_quotes_the_citation_of_every_version(rule) -> None:  # type: ignore[no-untyped-def]
    section = _rule_sections()[rule.key.value]
    assert _text(rule.citation) in section, (rule.key, rule.citation)
    if len(RULES[rule.key]) > 1:
        assert rule.version in section, (rule.key, rule.version)
    if not rule.confirmed:
        assert "**Unconfirmed**" in section, rule.key


def test_the_code_cites_only_sections_the_document_has() -> None:
    headings = {h.strip().strip("`") for h in HEADING.findall(DOC.read_text(encoding="utf-8"))}
    cited: dict[str, set[str]] = {}
    for path in _files():
        for match in REFERENCE.finditer(path.read_text(encoding="utf-8")):
            for name in re.findall(r"[\"']([^\"'\n]+)[\"']", match.group(1)):
                cited.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert cited, "no reference found: the pattern no longer matches how the code cites"
    missing = {name: files for name, files in cited.items() if name not in headings}
    assert missing == {}


def test_nothing_cites_a_document_outside_the_repository() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _files()
        if path.name != Path(__file__).name
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "domain.md" in line
    ]
    assert outside == []
