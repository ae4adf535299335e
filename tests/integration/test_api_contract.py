"""The API's own contract, over real HTTP: /docs and /redoc need no internet."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.integration.test_api_reads import Stack, stack

__all__ = ["stack"]  # the fixture, used by name


# --- Offline docs ---------------------------------------------------------------------------------


class _Assets(HTMLParser):
    """Every URL a page loads: src and href attributes, ReDoc's spec-url, Swagger UI's url."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.script = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url") and v]

    def handle_data(self, data: str) -> None:
        self.script += data


CONTENT_TYPES = {
    ".js": ("application/javascript", "text/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_local_assets(stack: Stack, page: str) -> None:
    r = await stack.http.get(page, headers={"Authorization": ""})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    parsed = _Assets()
    parsed.feed(r.text)
    urls = parsed.urls + re.findall(r"\burl:\s*'([^']+)'", parsed.script)
    assert "/openapi.json" in urls
    assert any(u.endswith(".js") for u in urls)
    assert not re.search(r"https?://|//[a-z]", r.text.replace("window.location.origin", ""))
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await stack.http.get(url, headers={"Authorization": ""})
        assert asset.status_code == 200, url
        expected = CONTENT_TYPES[url[url.rindex(".") :]]
        assert asset.headers["content-type"].startswith(expected), (url, asset.headers)
        assert asset.content, url
