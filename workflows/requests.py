"""The requests a record has answered, by update id, so that a retry never applies twice.

Temporal refuses a second update with an id it has seen, but only within one run: an enrollment
that continues as new would take a retry of an event from its previous run as a new event. So
a record remembers the update ids it applied (bounded: the last `MAX_REMEMBERED`, at most
`RETENTION_DAYS` old) and hands them to its next run. An id it remembers is a retry: answered
with the record as it is, applied no second time.

The API derives every update id from the request (api/temporal.py `event_id`): `req-<digest of
the request>` without an Idempotency-Key, `key-<digest of the key>-<digest of the request>`
with one, so that the same key sent with another body is told apart from a retry and refused.
"""

from __future__ import annotations

from datetime import date, timedelta

KEYED = "key-"
DERIVED = "req-"
RETENTION_DAYS = 30
MAX_REMEMBERED = 500
# Runs that continue as new hand their remembered ids to the next run (workflow.patched).
REQUESTS_PATCH = "request-ids-carried"


def _key_of(update_id: str) -> tuple[str, str] | None:
    """(key digest, request digest) of an id sent with an Idempotency-Key, else None."""
    if not update_id.startswith(KEYED):
        return None
    key_digest, sep, request_digest = update_id[len(KEYED) :].partition("-")
    return (key_digest, request_digest) if sep else None


class RecentRequests:
    """Update id -> the day (ISO) it was applied, oldest first."""

    def __init__(self, carried: dict[str, str] | None = None) -> None:
        self._applied: dict[str, str] = dict(carried or {})

    def __contains__(self, update_id: object) -> bool:
        return update_id in self._applied

    def reuses_key(self, update_id: str) -> bool:
        """Whether `update_id` carries an Idempotency-Key already applied to another request."""
        keyed = _key_of(update_id)
        if keyed is None:
            return False
        key_digest, request_digest = keyed
        for seen in self._applied:
            other = _key_of(seen)
            if other is not None and other[0] == key_digest and other[1] != request_digest:
                return True
        return False

    def remember(self, update_id: str, today: date) -> None:
        self._applied[update_id] = today.isoformat()
        oldest = (today - timedelta(days=RETENTION_DAYS)).isoformat()
        kept = [(k, d) for k, d in self._applied.items() if d >= oldest]
        self._applied = dict(kept[-MAX_REMEMBERED:])

    def carried(self) -> dict[str, str]:
        return dict(self._applied)
