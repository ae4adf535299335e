"""Rendering the web app's pages: one Jinja2 environment over the package's templates
(autoescaped), and the answer for a page."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from api.web.session import WebSession

# Pages show provider names: never cached by a shared cache, never framed by another site.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}

TEMPLATES = Environment(
    loader=PackageLoader("api.web", "templates"),
    autoescape=select_autoescape(("html", "svg")),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def days_phrase(days: int) -> str:
    """A countdown in words: 'due today', '3 days left', '2 days overdue'."""
    if days == 0:
        return "due today"
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} left"
    return f"{-days} day{'s' if days != -1 else ''} overdue"


def words(name: str) -> str:
    """An event, state or clock kind as words: development_requested -> development requested."""
    return name.replace("_", " ")


TEMPLATES.filters["days"] = days_phrase
TEMPLATES.filters["words"] = words


def render(
    request: Request,
    template: str,
    session: WebSession | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(
        request=request, session=session, path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def iso(value: date | None) -> str:
    return value.isoformat() if value else ""


TEMPLATES.filters["iso"] = iso
