"""One structlog line per API request: who (actor and role, or anonymous), which route template,
the outcome (status code) and how long it took. Never bodies, query strings or credentials."""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Principal

log = structlog.get_logger("api.access")

ANONYMOUS = "anonymous"


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except BaseException:
            status = 500
            raise
        finally:
            _log(scope, status, (time.perf_counter() - started) * 1000)


def _log(scope: Scope, status: int, duration_ms: float) -> None:
    state: dict[str, Any] = scope.get("state") or {}
    principal = state.get("principal")
    route = scope.get("route")
    fields: dict[str, Any] = {
        "method": scope.get("method"),
        "route": getattr(route, "path", None) or "(no route)",
        "status": status,
        "actor": principal.actor if isinstance(principal, Principal) else ANONYMOUS,
        "role": principal.role if isinstance(principal, Principal) else ANONYMOUS,
        "duration_ms": round(duration_ms, 1),
    }
    if state.get("auth") in ("missing", "invalid", "forbidden"):
        fields["auth"] = state["auth"]
    # A route may add its own facts to its one line (the codec: operation, payload count).
    fields.update(state.get("access_log") or {})
    if status >= 500:
        log.error("api request", **fields)
    else:
        log.info("api request", **fields)
