"""The audit timeline of every recorded history (tests/histories/) is exactly what it was when
the expected outputs in tests/histories/audit/ were written: the JSON export (without the raw
history), the text, CSV and HTML renderings. A change that alters what an auditor reads must
show up here as a diff of those files.

Regenerate them only for an intended change of the audit output, and review the diff:

    python -m tests.unit.test_audit_golden
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from workflows.audit import build_export, render_csv, render_html, render_text
from workflows.converter import KeyRing, build_data_converter
from workflows.replay import load_history_file

HISTORIES = Path(__file__).parents[1] / "histories"
EXPECTED = HISTORIES / "audit"
NAMES = sorted(p.stem for p in HISTORIES.glob("*.json"))
RENDERINGS = {"txt": render_text, "csv": render_csv, "html": render_html}


async def _export(name: str) -> dict[str, Any]:
    keyring = KeyRing.from_config((HISTORIES / "keyring.txt").read_text().strip())
    return await build_export(
        [load_history_file(HISTORIES / f"{name}.json")],
        build_data_converter(keyring),
        generated_by={"actor": "auditor@example.org", "role": "auditor"},
        generated_at=datetime(2027, 1, 1, tzinfo=UTC),
        include_history=False,
    )


def _dump(export: dict[str, Any]) -> str:
    return json.dumps(export, indent=1, sort_keys=True) + "\n"


@pytest.mark.parametrize("name", NAMES)
async def test_the_audit_of_a_recorded_history_is_unchanged(name: str) -> None:
    export = await _export(name)
    assert _dump(export) == (EXPECTED / f"{name}.json").read_text()
    for suffix, render in RENDERINGS.items():
        assert render(export) == (EXPECTED / f"{name}.{suffix}").read_text(), suffix


async def _write_all() -> None:
    EXPECTED.mkdir(exist_ok=True)
    for name in NAMES:
        export = await _export(name)
        (EXPECTED / f"{name}.json").write_text(_dump(export))
        for suffix, render in RENDERINGS.items():
            (EXPECTED / f"{name}.{suffix}").write_text(render(export))


if __name__ == "__main__":
    asyncio.run(_write_all())
