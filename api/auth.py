"""Who is calling: bearer API keys from ENROLL_API_KEYS, each naming an actor and a role.

ENROLL_API_KEYS is a JSON object mapping each key to `{"actor": ..., "role": ...}`. Roles:
`operator` starts applications and records events, `auditor` reads everything and changes
nothing, `admin` may do both. A request without a known key answers 401 (with
`WWW-Authenticate: Bearer`), a known key without the role the route needs answers 403.

Key material never reaches a log line, an error message or a repr: configuration errors name a
key by its position (key #2) and its actor. Keys are held as SHA-256 digests and compared in
constant time against every configured key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Problem, problem_responses

OPERATOR = "operator"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (OPERATOR, AUDITOR, ADMIN)
READ_ROLES = (OPERATOR, AUDITOR, ADMIN)
WRITE_ROLES = (OPERATOR, ADMIN)

MIN_KEY_LENGTH = 24
MAX_ACTOR_LENGTH = 200  # models.clocks.Actor
ENV = "ENROLL_API_KEYS"

HOW_TO_AUTHENTICATE = (
    "Send an API key as 'Authorization: Bearer <key>'. Keys are configured in ENROLL_API_KEYS "
    "(`enroll dev` generates local ones and prints them at startup)."
)


class ApiKeyError(ValueError):
    """ENROLL_API_KEYS cannot be used; the message says why and never contains a key."""


@dataclass(frozen=True)
class Principal:
    actor: str
    role: str


@dataclass(frozen=True)
class ApiKeys:
    """The configured keys, as digests. Empty means every protected route answers 401."""

    entries: tuple[tuple[bytes, Principal], ...] = ()

    def __repr__(self) -> str:
        return f"ApiKeys({len(self.entries)} keys)"

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, key: str) -> Principal | None:
        digest = _digest(key)
        found: Principal | None = None
        for known, principal in self.entries:  # no early exit: every key is compared
            if hmac.compare_digest(known, digest):
                found = principal
        return found

    def principals(self) -> list[Principal]:
        return [p for _, p in self.entries]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n, (key, value) in enumerate(pairs, 1):
        if key in out:
            raise ApiKeyError(f"entry #{n} repeats an earlier key or field; give each one once")
        out[key] = value
    return out


def parse_api_keys(text: str | None, source: str = ENV) -> ApiKeys:
    """Parse and check the keys; raise ApiKeyError naming the entry and the fix."""
    if text is None or not text.strip():
        return ApiKeys()
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates)
    except ApiKeyError as exc:
        raise ApiKeyError(f"{source}: {exc}") from None
    except json.JSONDecodeError as exc:
        # The decoder's message gives the position only, never the text around it.
        raise ApiKeyError(
            f"{source} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            'expected an object like {"<key>": {"actor": "ops@example.org", "role": "operator"}}'
        ) from None
    if not isinstance(raw, dict):
        raise ApiKeyError(
            f"{source} must be a JSON object mapping each key to "
            f'{{"actor": ..., "role": ...}}, not a JSON {type(raw).__name__}'
        )
    entries: list[tuple[bytes, Principal]] = []
    for n, (key, spec) in enumerate(raw.items(), 1):
        where = f"{source}: key #{n}"
        if not isinstance(spec, dict):
            raise ApiKeyError(f'{where} must map to {{"actor": ..., "role": ...}}')
        unknown = sorted(set(spec) - {"actor", "role"})
        if unknown:
            raise ApiKeyError(
                f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; use actor and role"
            )
        actor = spec.get("actor")
        if not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_ACTOR_LENGTH:
            raise ApiKeyError(
                f"{where} needs an actor: who the key belongs to, e.g. an email "
                f"(a string of 1 to {MAX_ACTOR_LENGTH} characters)"
            )
        whose = f" (actor {actor!r})"
        role = spec.get("role")
        if role not in ROLES:
            raise ApiKeyError(f"{where} has role {role!r}; use operator, auditor or admin{whose}")
        if len(key) < MIN_KEY_LENGTH or key != key.strip():
            raise ApiKeyError(
                f"{where}{whose} is shorter than {MIN_KEY_LENGTH} characters or has surrounding "
                "spaces; generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        entries.append((_digest(key), Principal(actor=actor, role=str(role))))
    return ApiKeys(tuple(entries))


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from ENROLL_API_KEYS: `Authorization: Bearer <key>`.",
)


def _unauthorized(detail: str, error: str | None) -> Problem:
    challenge = 'Bearer realm="enrollment-engine"'
    if error:
        challenge += f', error="{error}"'
    return Problem(
        401,
        "Authentication required",
        detail,
        kind="unauthenticated",
        headers={"WWW-Authenticate": challenge},
    )


def _roles(roles: Iterable[str]) -> str:
    roles = list(roles)
    return roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} or {roles[-1]}"


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller's Principal, refusing callers without one of `roles`."""
    unknown = set(roles) - set(ROLES)
    assert roles and not unknown, f"unknown roles {unknown}"

    async def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Principal:
        keys: ApiKeys = request.app.state.api_keys
        if credentials is None or not credentials.credentials:
            request.state.auth = "missing"
            raise _unauthorized(f"No API key. {HOW_TO_AUTHENTICATE}", None)
        found = keys.lookup(credentials.credentials)
        if found is None:
            request.state.auth = "invalid"
            why = (
                "This API has no keys configured (ENROLL_API_KEYS is empty)."
                if not keys
                else "The API key is not recognised."
            )
            raise _unauthorized(f"{why} {HOW_TO_AUTHENTICATE}", "invalid_token")
        request.state.principal = found
        if found.role not in roles:
            request.state.auth = "forbidden"
            raise Problem(
                403,
                "Role not allowed",
                f"Actor '{found.actor}' has role '{found.role}'; this needs the "
                f"{_roles(roles)} role.",
                kind="forbidden",
                role=found.role,
                required_roles=list(roles),
            )
        request.state.auth = "ok"
        return found

    return principal


Reader = Annotated[Principal, Security(require(*READ_ROLES))]
Writer = Annotated[Principal, Security(require(*WRITE_ROLES))]

AUTH_RESPONSES = problem_responses(
    {
        401: "No API key, or an unknown one",
        403: "The key's role may not do this (names the role needed)",
    }
)
AUTH_RESPONSES[401]["headers"] = {
    "WWW-Authenticate": {
        "required": True,
        "description": 'Bearer realm="enrollment-engine", with error="invalid_token" for '
        "an unknown key",
        "schema": {"type": "string"},
    }
}
