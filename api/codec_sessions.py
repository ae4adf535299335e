"""Codec sessions: how an auditor's Temporal Web UI decrypts payloads without sending a key.

The Web UI of `temporal server start-dev` calls the codec endpoint with no credentials (it has
no sign-in of its own), so `/codec/decode` with a bearer key cannot serve it. An auditor (or an
admin) instead opens a session through the API with their key and gets a codec endpoint URL
that carries a short-lived token: `<api>/codec/s/<token>`. Pasted once into the UI's codec
setting (a browser setting, so it reaches no one else's UI), it decodes for that browser until
it expires. Anyone else's UI keeps the cluster-wide endpoint, which refuses them.

The token is stateless: `<claims>.<signature>`, the claims naming the key (by a prefix of its
SHA-256 digest, never the key), the role and the expiry, signed with HMAC-SHA-256 keyed by that
digest. Every API replica that knows the key can check it; removing the key from
ENROLL_API_KEYS revokes its sessions at once; a token cannot be widened or prolonged without the
key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.auth import ApiKeys, Principal

KEY_ID_BYTES = 8
DEFAULT_HOURS = 8  # a working day
MAX_HOURS = 12


class SessionRefused(ValueError):
    """The token is malformed, forged, expired, or its key is gone (the message says which)."""


@dataclass(frozen=True)
class CodecSession:
    token: str
    principal: Principal
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(digest: bytes, claims: str) -> str:
    return _b64(hmac.new(digest, claims.encode(), hashlib.sha256).digest())


def open_session(keys: ApiKeys, key: str, now: datetime, hours: int) -> CodecSession:
    """A session for the caller's key (which the route has already authenticated)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    principal = keys.lookup(key)
    if principal is None:
        raise SessionRefused("the API key is not recognised")
    expires = (now + timedelta(hours=hours)).replace(microsecond=0)
    claims = _b64(
        json.dumps(
            {
                "k": digest[:KEY_ID_BYTES].hex(),
                "r": principal.role,
                "exp": int(expires.timestamp()),
            },
            separators=(",", ":"),
        ).encode()
    )
    return CodecSession(f"{claims}.{_sign(digest, claims)}", principal, expires)


def check_session(keys: ApiKeys, token: str, now: datetime) -> Principal:
    """The principal a token was opened for; SessionRefused if it may not be used."""
    claims, _, signature = token.partition(".")
    try:
        data = json.loads(_unb64(claims))
        key_id, role, expires = bytes.fromhex(data["k"]), data["r"], int(data["exp"])
    except (ValueError, KeyError, TypeError):
        raise SessionRefused("the codec session token is malformed") from None
    for digest, principal in keys.entries:
        if digest[:KEY_ID_BYTES] != key_id:
            continue
        if not hmac.compare_digest(_sign(digest, claims), signature):
            raise SessionRefused("the codec session token is not signed by its key")
        if principal.role != role:
            raise SessionRefused("the key's role changed since the session was opened")
        if datetime.fromtimestamp(expires, UTC) <= now:
            raise SessionRefused("the codec session has expired: open a new one")
        return principal
    raise SessionRefused("the key that opened this codec session is no longer configured")
