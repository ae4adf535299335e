"""What README.md says of the two lifecycles is what their tables hold: every state and every
operator event, in both directions."""

from __future__ import annotations

import re
from pathlib import Path

from models.application import APPLICATION_LIFECYCLE
from models.enrollment import ENROLLMENT_LIFECYCLE

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _listed(after: str, until: str) -> list[str]:
    """The `code` words of the README between `after` and the next `until`."""
    start = README.index(after) + len(after)
    return re.findall(r"`([a-z_]+)`", README[start : README.index(until, start)])


def test_the_application_lifecycle_as_the_readme_lists_it() -> None:
    states = _listed("\nStates: ", "\n\n")
    assert states == [s.value for s in APPLICATION_LIFECYCLE.states]
    events = _listed("\nOperator events: ", "\n\n")
    assert events == APPLICATION_LIFECYCLE.operator_events


def test_the_enrollment_lifecycle_as_the_readme_lists_it() -> None:
    states = _listed("Enrollment states: ", "(the revalidation window")
    assert states == [s.value for s in ENROLLMENT_LIFECYCLE.states]
    events = _listed("throughout). Operator events: ", ". An enrollment opens")
    assert events == ENROLLMENT_LIFECYCLE.operator_events
