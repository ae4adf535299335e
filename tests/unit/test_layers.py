"""Dependencies point one way: `api`, `cli`, `worker` -> `workflows`, `activities` -> `models`
(README, Architecture). Every import counts, the ones inside functions too."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"models", "workflows", "activities", "api", "cli", "worker"}
# What each part may import of the project, besides itself.
ALLOWED = {
    "models": set(),
    "workflows": {"models"},
    "activities": {"models"},
    "api": {"workflows", "activities", "models"},
    "worker": {"workflows", "activities", "models"},
    "cli": {"api", "worker", "workflows", "activities", "models"},
}


def _sources(part: str) -> list[Path]:
    module = ROOT / f"{part}.py"
    return [module] if module.exists() else sorted((ROOT / part).rglob("*.py"))


def project_imports(path: Path) -> set[str]:
    """The project's top-level parts that `path` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & PROJECT
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_lies_below_it(part: str) -> None:
    sources = _sources(part)
    assert sources, f"no sources for {part}"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[part] - {part})
        for path in sources
        if (imported := project_imports(path)) - ALLOWED[part] - {part}
    }
    assert wrong == {}, f"{part} imports what it must not: {wrong}"


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import json\nfrom models.rules import RULES\n\n"
        "def f():\n    from cli.render import out\n    import worker\n"
    )
    assert project_imports(module) == {"models", "cli", "worker"}
