"""What the workflow sandbox passes through must be unable to break determinism: no clock,
randomness, environment, file or network is read in those modules (workflows/sandbox.py)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import worker
from workflows.replay import REPLAY_WORKFLOWS
from workflows.sandbox import PASSTHROUGH_MODULES

ROOT = Path(__file__).resolve().parents[2]
# What reads the clock, randomness, the environment or the world, by the name it is called on
# (`datetime.now()`, `date.today()`, `random.random()`, `os.getenv()`...); the domain's own
# methods of the same names (`state.today(now)`, `step.open(...)`) take time as an argument.
CLOCK_READS = {"now", "utcnow", "today"}  # of datetime and date (fromisoformat etc. are pure)
FORBIDDEN_OWNERS = {"time", "random", "uuid", "os", "secrets", "socket"}
FORBIDDEN_IMPORTS = {"random", "secrets", "uuid", "os", "socket", "subprocess", "time", "httpx"}
FORBIDDEN_NAMES = {"open", "input"}


def _files(module: str) -> list[Path]:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    if spec.submodule_search_locations:
        paths = [Path(spec.origin)]
        for info in pkgutil.walk_packages(spec.submodule_search_locations, f"{module}."):
            sub = importlib.util.find_spec(info.name)
            assert sub is not None and sub.origin is not None
            paths.append(Path(sub.origin))
        return paths
    return [Path(spec.origin)]


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            func = node.func
            owner = func.value if isinstance(func, ast.Attribute) else None
            if isinstance(func, ast.Attribute) and isinstance(owner, ast.Name):
                clock = owner.id in ("datetime", "date") and func.attr in CLOCK_READS
                if clock or owner.id in FORBIDDEN_OWNERS:
                    found.append(f"{where}: calls {owner.id}.{func.attr}()")
            elif isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"{where}: calls {func.id}()")
        elif isinstance(node, ast.Import):
            found += [
                f"{where}: imports {a.name}"
                for a in node.names
                if a.name.split(".")[0] in FORBIDDEN_IMPORTS
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(f"{where}: imports from {node.module}")
    return found


def test_passed_through_modules_read_no_clock_randomness_environment_or_file() -> None:
    files = [path for module in PASSTHROUGH_MODULES for path in _files(module)]
    assert len(files) > 50  # the whole of models/ is covered, not one file
    violations = [v for path in files for v in _violations(path)]
    assert violations == []


def test_the_check_sees_a_non_deterministic_call(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from datetime import datetime\nimport random\n\n"
        "def due():\n    return datetime.now(), random.random(), workflow.now()\n"
    )
    assert _violations(sample) == [
        "sample.py:2: imports random",
        "sample.py:5: calls datetime.now()",
        "sample.py:5: calls random.random()",
    ]


def test_workflow_modules_stay_in_the_sandbox() -> None:
    """The workflows' own modules are re-imported per workflow, so the sandbox checks them."""
    modules = {w.__module__ for w in [*worker.WORKFLOWS, *REPLAY_WORKFLOWS]} | {"workflows.record"}
    passed = [m for m in modules for p in PASSTHROUGH_MODULES if m == p or m.startswith(f"{p}.")]
    assert passed == []
