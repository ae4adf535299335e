"""Headless Chromium for the web app's tests: Debian's `chromium` driven by Playwright (never a
browser Playwright downloads), as tests/integration/test_temporal_ui.py does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page, async_playwright

from tests.integration.test_auth import KEYS
from tests.integration.test_temporal_ui import CHROMIUM

SCREENS = Path(__file__).parents[2] / "docs" / "screens"


@asynccontextmanager
async def browser_page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            context = await browser.new_context(viewport={"width": 1366, "height": 900})
            yield await context.new_page()
        finally:
            await browser.close()


async def sign_in(page: Page, base_url: str, role: str, path: str = "/app/today") -> None:
    """Open a page, get sent to sign-in, sign in with the role's key, land on the page."""
    await page.goto(base_url + path)
    assert "/app/sign-in" in page.url
    await page.get_by_label("API key").fill(KEYS[role][0])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**{path}*")


async def screenshot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
