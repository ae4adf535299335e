"""What the README's "Notifications" section says is what the code has: every configuration
key it names is a setting (and every notification setting is named), its routing example is a
valid routing file, and the failure reasons it quotes are the ones the channel tests assert."""

from __future__ import annotations

import re
from pathlib import Path

from models.routing import RoutingTable
from workflows.settings import Settings

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
SECTION = README[README.index("## Notifications") : README.index("## Audit and data protection")]
NOTIFY_FIELDS = {f for f in Settings.model_fields if f.startswith(("notify_", "smtp_", "webhook_"))}


def test_every_key_the_readme_names_is_a_setting_and_every_setting_is_named() -> None:
    named = {k.removeprefix("ENROLL_").lower() for k in re.findall(r"`(ENROLL_[A-Z_]+)`", SECTION)}
    assert named == NOTIFY_FIELDS


def test_the_routing_example_is_a_valid_routing_file() -> None:
    example = SECTION[SECTION.index("```json\n") + 8 :]
    table = RoutingTable.model_validate_json(example[: example.index("```")])
    assert [r.escalate_days_before for r in table.routes] == [5]


def test_the_reasons_the_readme_quotes_are_the_ones_the_tests_assert() -> None:
    down = SECTION[SECTION.index("### When a channel is down") :]
    tests = (ROOT / "tests/integration/test_channels.py").read_text()
    tests += (ROOT / "tests/integration/test_notifications_api.py").read_text()
    quoted = [q for q in re.findall(r"`([^`]+)`", down) if " " in q and "/" not in q]
    reasons = [q for q in quoted if "refused" in q or "Error from" in q]
    assert len(reasons) == 3
    for reason in reasons:
        assert f'"{reason}"' in tests, reason


def test_the_pecos_access_section_says_what_the_model_does() -> None:
    from models.pecos_access import (
        LOCK_DAYS,
        LOGIN_REMINDER_DAYS,
        MIN_ACTORS,
        PASSWORD_DAYS,
        PASSWORD_REMINDER_DAYS,
        AccessEvent,
        PecosRole,
    )

    section = SECTION[SECTION.index("### PECOS access hygiene") :]
    text = " ".join(section.split())
    assert f"expires ({PASSWORD_DAYS} days after" in text
    assert f"locks ({LOCK_DAYS} days without a login)" in text
    assert (
        "reminds {} and {} days before a password expires".format(*PASSWORD_REMINDER_DAYS) in text
    )
    assert "and {} and {} days before a lock".format(*LOGIN_REMINDER_DAYS) in text
    assert MIN_ACTORS == 2 and "fewer than two can act" in text
    events = AccessEvent.model_fields["event"].annotation.__args__  # type: ignore[union-attr]
    for name in (*events, *(r.value for r in PecosRole)):
        assert f"`{name}`" in section, name
