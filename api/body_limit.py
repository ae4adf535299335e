"""A bound on request bodies: a body larger than its route's limit answers 413 problem+json
without being read. A declared Content-Length over the limit is refused before a byte of the body
is read; a body sent without one (chunked) is refused as soon as it passes the limit."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_JSON, Problem

# Every body the API takes is a small JSON document or form, except the roster imports (a roster
# and the CMS due-date list, up to 60 million characters: api/routes/imports.py), through the
# API or the web app's import page.
DEFAULT_BODY_LIMIT = 1024 * 1024
IMPORT_LIMIT = 64 * 1024 * 1024
BODY_LIMITS = {"/v1/imports": IMPORT_LIMIT, "/app/import": IMPORT_LIMIT}


def body_limit(path: str) -> int:
    """The largest body, in bytes, that `path` takes."""
    for prefix, limit in BODY_LIMITS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return limit
    return DEFAULT_BODY_LIMIT


class BodyTooLarge(Problem):
    """413: raised while the body is read, once it passes the limit (the problem handler, or the
    400 handler FastAPI turns a body-reading failure into, answers it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "Request body too large",
            f"The body is larger than this route takes ({limit:,} bytes). Send a smaller body "
            "(a roster too large to import at once can be split into several imports).",
            kind="body-too-large",
            limit_bytes=limit,
        )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(scope, send, BodyTooLarge(limit))
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, bounded_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(scope: Scope, send: Send, problem: Problem) -> None:
    body = json.dumps(problem.body(scope.get("path"))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                # The body was not read: the connection cannot carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
