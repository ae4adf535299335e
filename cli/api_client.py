"""The operator commands' way to the engine: its HTTP API only (no Temporal SDK in these
processes), with the options every such command takes (--api-url, --api-key, --json).

Exit status: 0 done, 1 the API refused or could not be reached, 2 a bad command line, or an
import with problem rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import httpx
import typer

from cli.keys import default_api_key
from cli.process import exit_process
from cli.render import print_error

DEFAULT_API_URL = "http://127.0.0.1:8000"

ApiUrlOption = Annotated[
    str,
    typer.Option(
        "--api-url",
        envvar="ENROLL_API_URL",
        help="Base URL of the engine's HTTP API.",
        rich_help_panel="Connection",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="ENROLL_API_KEY",
        show_default=False,
        help="Bearer API key (default: the operator key in ./.enroll/api-keys.json, which "
        "`enroll dev` writes).",
        rich_help_panel="Connection",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of tables.")]


class ApiUnreachable(Exception):
    pass


class ApiProblem(Exception):
    """A 4xx/5xx answer: RFC 9457 problem details when the API sent them."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.path = response.request.url.path
        try:
            body = response.json()
        except ValueError:
            body = None
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        self.text = response.text
        super().__init__(self.line())

    def line(self) -> str:
        """One line: title, detail, then field errors, state and allowed events when given."""
        body = self.body
        title = body.get("title") or ""
        detail = body.get("detail")
        if self.status == 404 and body == {"detail": "Not Found"}:
            return f"404: the API has no route {self.path} (is it an older version of the engine?)"
        if not isinstance(detail, str):
            detail = json.dumps(detail) if detail is not None else self.text.strip()[:300]
        parts = [f"{self.status} {title}".strip() + ": " + (detail or "no detail")]
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        fields = []
        for e in errors:
            field, reason = str(e.get("field", "")), str(e.get("reason", ""))
            # The detail often already says "field: reason"; name only what it does not say.
            if f"{field}: {reason}" in detail or (reason and reason in detail):
                fields.append(field)
            else:
                fields.append(f"{field}: {reason}")
        if fields:
            parts.append("fields: " + "; ".join(dict.fromkeys(fields)))
        if body.get("state"):
            parts.append(f"state: {body['state']}")
        if "allowed_events" in body:
            allowed = body.get("allowed_events") or []
            parts.append("allowed events: " + (", ".join(map(str, allowed)) if allowed else "none"))
        allowed_values = body.get("allowed_values")
        if isinstance(allowed_values, dict):
            for name, values in allowed_values.items():
                parts.append(f"allowed {name}: {', '.join(map(str, values))}")
        if self.status == 401:
            parts.append("give a key with --api-key or ENROLL_API_KEY")
        return " · ".join(parts)


class Api:
    """A small synchronous client: JSON in, JSON out, problems raised as ApiProblem."""

    def __init__(self, url: str, key: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        params = {k: v for k, v in (params or {}).items() if v not in (None, [], ())}
        try:
            response = self.http.request(method, path, params=params, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiUnreachable(self.url) from exc
        except httpx.TimeoutException:
            raise RuntimeError(f"the API at {self.url} did not answer within 120 s") from None
        if response.status_code >= 400:
            raise ApiProblem(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.send(method, path, **kwargs).json()

    def today(self) -> date:
        """The engine's date in its time zone (the sandbox's date in the sandbox), which is
        what an operator who types `today` means."""
        if not hasattr(self, "_today"):
            body = self.json("GET", "/v1/deadlines", params={"limit": 1, "within_days": 0})
            self._today = date.fromisoformat(body["today"])
        return self._today

    def pages(self, path: str, params: dict[str, Any], follow: bool) -> dict[str, Any]:
        """One page, or with `follow` every page (items joined, next_cursor null)."""
        page: dict[str, Any] = self.json("GET", path, params=params)
        if not follow:
            return page
        items = list(page.get("items") or [])
        while page.get("next_cursor"):
            page = self.json("GET", path, params={**params, "cursor": page["next_cursor"]})
            items += page.get("items") or []
        return {"items": items, "next_cursor": None}


def operate(api_url: str, api_key: str | None, work: Callable[[Api], int | None]) -> None:
    """Run one operator command against the API; exit with its status (1 on any error)."""
    status = 0
    try:
        with Api(api_url, api_key or default_api_key()) as client:
            status = work(client) or 0
    except ApiUnreachable as exc:
        print_error(f"cannot reach the API at {exc}: is `enroll dev` running?")
        status = 1
    except ApiProblem as exc:
        print_error(exc.line())
        status = 1
    except KeyboardInterrupt:
        status = 130
    except Exception as exc:
        print_error(str(exc) or type(exc).__name__)
        status = 1
    exit_process(status)
