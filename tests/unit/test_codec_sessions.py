"""Codec session tokens: opened with a key, checked without storage, refused when forged,
expired, or when the key that opened them is gone or changed role."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from api.auth import ApiKeys, parse_api_keys
from api.codec_sessions import SessionRefused, check_session, open_session

AUDITOR = "auditor-key-" + "a" * 24
OTHER = "other-auditor-key-" + "b" * 24
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def keys(role: str = "auditor", *extra: str) -> ApiKeys:
    spec = {AUDITOR: {"actor": "audit@example.org", "role": role}}
    spec |= {k: {"actor": "x@example.org", "role": "auditor"} for k in extra}
    return parse_api_keys(json.dumps(spec))


def test_a_session_names_its_auditor_until_it_expires() -> None:
    ring = keys("auditor", OTHER)
    session = open_session(ring, AUDITOR, NOW, hours=8)
    assert AUDITOR not in session.token
    assert session.expires_at == NOW + timedelta(hours=8)
    principal = check_session(ring, session.token, NOW + timedelta(hours=7))
    assert (principal.actor, principal.role) == ("audit@example.org", "auditor")
    with pytest.raises(SessionRefused, match="expired"):
        check_session(ring, session.token, NOW + timedelta(hours=8))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"), "not signed"),
        (lambda t: "e30." + t.split(".")[1], "malformed"),
        (lambda t: "not a token", "malformed"),
    ],
)
def test_a_forged_or_damaged_token_is_refused(change: Callable[[str], str], reason: str) -> None:
    ring = keys()
    token = open_session(ring, AUDITOR, NOW, hours=1).token
    with pytest.raises(SessionRefused, match=reason):
        check_session(ring, change(token), NOW)


def test_removing_the_key_or_changing_its_role_ends_its_sessions() -> None:
    token = open_session(keys("auditor", OTHER), AUDITOR, NOW, hours=1).token
    with pytest.raises(SessionRefused, match="no longer configured"):
        check_session(
            parse_api_keys(json.dumps({OTHER: {"actor": "x", "role": "auditor"}})), token, NOW
        )
    with pytest.raises(SessionRefused, match="role changed"):
        check_session(keys("operator"), token, NOW)
