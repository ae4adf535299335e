"""The import contract (docs: design "Layout"): dependencies point one way.

    cli -> api, worker -> workflows, activities -> models

``models`` is the pure domain and imports nothing of the project above it; ``workflows`` never
import ``activities`` (they call activities by the names in ``models.contracts``); ``api`` never
imports ``cli`` or ``worker``; no domain module imports the read-model tables
(``models.read_model``). Every import counts: module level, inside functions, under
``TYPE_CHECKING``, relative, and ``importlib.import_module("...")`` with a literal name.
The CLI may be ``cli.py`` or a ``cli/`` package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]

MAY_IMPORT: dict[str, frozenset[str]] = {
    "models": frozenset({"models"}),
    "workflows": frozenset({"workflows", "models"}),
    "activities": frozenset({"activities", "models"}),
    "api": frozenset({"api", "workflows", "activities", "models"}),
    "worker": frozenset({"worker", "workflows", "activities", "models"}),
    # The CLI starts the processes (`enroll dev`, `enroll api`, `enroll worker`).
    "cli": frozenset({"cli", "api", "worker", "workflows", "activities", "models"}),
}
"""Each layer, and the layers of the project it may import."""
PROJECT = frozenset(MAY_IMPORT) | {"tests", "bench"}
"""Top-level names that are this project (production code imports no tests or benchmarks)."""
READ_MODEL = "models.read_model"
READ_MODEL_FILE = "models/read_model.py"

KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()
"""(file, imported layer) pairs that break the contract today and are being fixed by another
change. The contract test fails once a pair no longer occurs: delete it then, so the list only
shrinks."""


@dataclass(frozen=True)
class Import:
    path: str  # relative to the root, with "/"
    line: int
    modules: tuple[str, ...]
    """Absolute dotted names it may load (``from a import b`` loads ``a`` and maybe ``a.b``)."""


def _module_name(path: Path) -> tuple[str, ...]:
    parts = path.with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _package(path: Path) -> tuple[str, ...]:
    module = _module_name(path)
    return module if path.name == "__init__.py" else module[:-1]


def _imports(root: Path, path: Path) -> Iterator[Import]:
    relative = path.relative_to(root)
    where = relative.as_posix()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=where)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(where, node.lineno, (alias.name,))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package(relative)
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names = tuple(f"{module}.{alias.name}" for alias in node.names)
            yield Import(where, node.lineno, (module, *names))
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(where, node.lineno, (node.args[0].value,))


def _layer_files(root: Path) -> Iterator[tuple[str, Path]]:
    for layer in MAY_IMPORT:
        if (root / f"{layer}.py").is_file():
            yield layer, root / f"{layer}.py"
        if (root / layer).is_dir():
            for path in sorted((root / layer).rglob("*.py")):
                yield layer, path


def _broken(layer: str, path: str, module: str) -> str | None:
    """What `module` is that a file of `layer` at `path` may not import, or None."""
    target = module.split(".")[0]
    if target in PROJECT and target not in MAY_IMPORT[layer]:
        return target
    if (
        layer == "models"
        and path != READ_MODEL_FILE
        and (module == READ_MODEL or module.startswith(READ_MODEL + "."))
    ):
        return READ_MODEL
    return None


def violations(root: Path) -> list[tuple[str, str, str]]:
    """Every import that breaks the contract, as (file:line, module, what it may not import)."""
    found: list[tuple[str, str, str]] = []
    for layer, path in _layer_files(root):
        for imp in _imports(root, path):
            for module in imp.modules:
                target = _broken(layer, imp.path, module)
                if target is not None:
                    found.append((f"{imp.path}:{imp.line}", module, target))
                    break
    return sorted(set(found))


def test_the_layers_import_only_downward() -> None:
    assert {layer for layer, _ in _layer_files(ROOT)} == set(MAY_IMPORT), "a layer moved?"
    broken = [
        f"{where} imports {module}"
        for where, module, target in violations(ROOT)
        if (where.split(":")[0], target) not in KNOWN_VIOLATIONS
    ]
    assert not broken, "imports against the contract (see this file's docstring):\n" + "\n".join(
        broken
    )


def test_every_known_violation_still_exists() -> None:
    left = {(where.split(":")[0], target) for where, _, target in violations(ROOT)}
    fixed = sorted(KNOWN_VIOLATIONS - left)
    assert not fixed, f"fixed, delete from KNOWN_VIOLATIONS: {fixed}"


def test_the_contract_sees_every_kind_of_import(tmp_path: Path) -> None:
    files = {
        "models/__init__.py": "",
        "models/rules.py": "from models.calendar import add_days\nimport datetime\n",
        "models/table_user.py": "from . import read_model\n",
        "models/deep/__init__.py": "",
        "models/deep/x.py": "from ..read_model import Row\nfrom models import forms\n",
        "models/read_model.py": "from models.rules import RULES\n",
        "models/late.py": "def f():\n    from workflows.settings import Settings\n",
        "workflows/wf.py": "if TYPE_CHECKING:\n    from activities.checks import check\n",
        "activities/act.py": "import importlib\nimportlib.import_module('workflows.client')\n",
        "api/app.py": "from cli.render import table\nfrom tests.conftest import X\n",
        "api/routes/r.py": "from ..views import view\nfrom workflows.audit import fetch_chain\n",
        "cli/__init__.py": "import api.app, worker\n",
        "worker.py": "import api\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert [(where, module) for where, module, _ in violations(tmp_path)] == [
        ("activities/act.py:2", "workflows.client"),
        ("api/app.py:1", "cli.render"),
        ("api/app.py:2", "tests.conftest"),
        ("models/deep/x.py:1", "models.read_model"),
        ("models/late.py:2", "workflows.settings"),
        ("models/table_user.py:1", "models.read_model"),
        ("worker.py:1", "api"),
        ("workflows/wf.py:2", "activities.checks"),
    ]
