"""The Portfolio page in headless Chromium: the revalidation chart's bars have the heights of a
seeded portfolio (value / largest value x the chart's 170 px), month by month."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

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


async def _enrollment_event(stack: WebStack, enrollment_id: str, event: str, **data: str) -> None:
    r = await stack.http.post(
        f"/v1/enrollments/{enrollment_id}/events",
        json={"event": event, "data": data, "reason": f"test {event}"},
        headers=headers("operator"),
    )
    assert r.status_code == 200, r.text


async def test_the_portfolio_shows_ages_in_status_and_gap_days_of_12_months(
    web_stack: WebStack,
) -> None:
    """Two applications: a draft made today (under a week) and one submitted 40 days ago (1 to
    3 months). Two enrollments with a billing gap each: one of 100 days that began 400 days ago
    (64 inside the last 12 months, in most years) and one of 30 days inside them: 94 days."""
    stack = web_stack
    today = await stack.today()
    ago = lambda days: (today - timedelta(days=days)).isoformat()  # noqa: E731
    draft, filed = f"{stack.org}-draft", f"{stack.org}-filed"
    await stack.create(draft, legal_name="Una Draft", npi=npi(601), state="FL")
    await stack.create(filed, legal_name="Filed Forty", npi=npi(602), ssn="123-45-6789", state="FL")
    await stack.event(
        filed, "submit", web_tracking_id="WT-602", submitted_on=ago(40), signed_on=ago(40)
    )
    for n, (start, receipt) in enumerate(((400, 300), (60, 30))):
        enrollment_id = f"I2023{random.randrange(10**10):010d}"
        due = last_day_of_month(add_months(today, 20))
        await stack.enrollment(enrollment_id, npi(610 + n), due, legal_name=f"Gap {n}")
        await _enrollment_event(
            stack, enrollment_id, "deactivated", letter_date=ago(start), effective_date=ago(start)
        )
        await _enrollment_event(
            stack, enrollment_id, "reactivation_submitted", receipt_date=ago(receipt)
        )
        await _enrollment_event(
            stack, enrollment_id, "reactivation_approved", approval_date=ago(receipt - 5)
        )
    await stack.projected(f"/v1/applications?organization_id={stack.org}", "submitted")
    for _ in range(150):
        r = await stack.http.get(
            "/v1/enrollments", params={"organization_id": stack.org}, headers=headers("auditor")
        )
        if sorted(e["unbillable_days"] for e in r.json()["items"]) == [30, 100]:
            break
        await asyncio.sleep(0.2)
    assert sorted(e["unbillable_days"] for e in r.json()["items"]) == [30, 100]

    async with browser_page() as page:
        await sign_in(page, stack.url, "operator", f"/app/portfolio?organization={stack.org}")
        ages = page.locator("#ages")
        await expect(ages.locator('tr[data-age="under a week"] td')).to_have_text("1")
        await expect(ages.locator('tr[data-age="1 to 3 months"] td')).to_have_text("1")
        await expect(ages.locator('tr[data-age="1 to 4 weeks"] td')).to_have_text("0")
        # 64 days (65 when the 12 months hold a 29 February) of the first gap, 30 of the second.
        first_day = add_months(today, -12) + timedelta(days=1)
        want = (today - timedelta(days=301) - first_day).days + 1 + 30
        assert want in (94, 95)
        gaps = page.locator("#gap-12-months")
        await expect(gaps).to_contain_text(f"{want} unbillable days in the last 12 months")
        await expect(gaps).to_contain_text("across 2 enrollments")
        await expect(page.locator("#gap-all-time")).to_contain_text("130 unbillable days")
