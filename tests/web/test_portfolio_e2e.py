"""The Portfolio page in headless Chromium: the revalidation chart's bars have the heights of a
seeded portfolio (value / largest value x the chart's 170 px), month by month."""

from __future__ import annotations

import asyncio
import random

from playwright.async_api import expect

from models.calendar import add_months, last_day_of_month
from tests.integration.test_api_reads import npi
from tests.integration.test_auth import headers
from tests.web.browser import browser_page, screenshot, sign_in
from tests.web.conftest import WebStack

CHART_PX = 170  # api/web/svg.py: bar_chart_svg's height less its 10 px headroom


async def test_the_revalidation_chart_has_the_seeded_bar_heights(web_stack: WebStack) -> None:
    stack = web_stack
    today = await stack.today()
    first = today.replace(day=1)
    seeded = {2: 3, 5: 1, 30: 2}  # months from now -> enrollments due that month
    n = 0
    for months, count in seeded.items():
        for _ in range(count):
            n += 1
            enrollment_id = f"I2024{random.randrange(10**10):010d}"
            due = last_day_of_month(add_months(first, months))
            await stack.enrollment(enrollment_id, npi(500 + n), due, legal_name=f"Provider {n}")
    for _ in range(150):
        r = await stack.http.get(
            "/v1/enrollments", params={"organization_id": stack.org}, headers=headers("auditor")
        )
        if len(r.json()["items"]) == n:
            break
        await asyncio.sleep(0.2)
    assert len(r.json()["items"]) == n

    async with browser_page() as page:
        await sign_in(page, stack.url, "operator", f"/app/portfolio?organization={stack.org}")
        bars = page.locator("#due-chart rect.bar")
        await expect(bars).to_have_count(36)
        top = max(seeded.values())
        for i in range(36):
            month = add_months(first, i).strftime("%Y-%m")
            bar = page.locator(f'#due-chart rect.bar[data-label="{month}"]')
            want = round(seeded.get(i, 0) / top * CHART_PX)
            assert await bar.get_attribute("height") == str(want), month
            assert await bar.get_attribute("data-value") == str(seeded.get(i, 0))
        # Drawn at that size on the screen, not only written in the markup.
        box = await page.locator(
            f'#due-chart rect.bar[data-label="{add_months(first, 2).strftime("%Y-%m")}"]'
        ).bounding_box()
        assert box is not None and abs(box["height"] - CHART_PX) < 1
        await expect(page.locator("table.counts").first).to_contain_text(f"Enrollments ({n})")
        await screenshot(page, "web-portfolio")
