"""Every page of the web app passes axe-core's WCAG 2.1 A and AA rules (labels, names, contrast,
landmarks, ...), in headless Chromium. axe-core comes inside the axe-playwright-python wheel:
nothing is fetched at run time."""

from __future__ import annotations

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

from tests.integration.test_api_reads import npi
from tests.web.browser import browser_page, sign_in
from tests.web.conftest import WebStack
from tests.web.test_record_e2e import _seed

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


async def _violations(page: Page) -> str:
    results = await Axe().run(page, options=WCAG_AA)
    return results.generate_report() if results.violations_count else ""


async def test_every_page_passes_wcag_aa_checks(web_stack: WebStack) -> None:
    stack = web_stack
    waiting, draft = await _seed(stack)
    reports: dict[str, str] = {}
    async with browser_page() as page:
        await page.goto(f"{stack.url}/app/sign-in")
        reports["sign-in"] = await _violations(page)
        await sign_in(page, stack.url, "operator")
        for name, path in {
            "today": "/app/today",
            "today searched": "/app/today?q=quincy&within=30",
            "record": f"/app/applications/{waiting}",
            "draft": f"/app/applications/{draft}",
            "provider": f"/app/providers/{npi(81)}",
            "portfolio": "/app/portfolio",
            "import": "/app/import",
        }.items():
            await page.goto(stack.url + path)
            if name == "record":  # the event forms too, open
                for summary in await page.locator("details summary").all():
                    await summary.click()
            reports[name] = await _violations(page)
        # The check can fail: an unlabelled field added to the page is reported.
        await page.evaluate(
            "document.querySelector('main').insertAdjacentHTML('beforeend', "
            '\'<input type="text" id="unlabelled">\')'
        )
        assert "label" in await _violations(page)
    failing = {name: report for name, report in reports.items() if report}
    assert not failing, "\n\n".join(f"== {n}\n{r}" for n, r in failing.items())
