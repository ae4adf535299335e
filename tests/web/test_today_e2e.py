"""The Today page over real HTTP and in headless Chromium: what needs action now comes first,
then the clocks by last day, each marked with its bucket; search, filters and paging happen on
the server; the exports carry the same filtered list; a keyboard alone can use the page; and
nothing on it comes from another origin."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from playwright.async_api import expect

from models.calendar import add_months, last_day_of_month
from tests.integration.test_api_reads import npi
from tests.integration.test_auth import KEYS
from tests.web.browser import browser_page, sign_in
from tests.web.conftest import WebStack


def _signed_in(
    stack: WebStack, role: str = "operator"
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return signed_in_at(stack.url, role)


@asynccontextmanager
async def signed_in_at(url: str, role: str = "operator") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client signed in to the web app at `url` through its sign-in form."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        form = await http.get("/app/sign-in")
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
        assert nonce
        r = await http.post(
            "/app/sign-in", data={"api_key": KEYS[role][0], "nonce": nonce.group(1)}
        )
        assert r.status_code == 303
        yield http


async def _seed(stack: WebStack) -> dict[str, str]:
    today = await stack.today()
    ids = {
        "stayed": f"I2019{random.randrange(10**10):010d}",
        "later": f"I2024{random.randrange(10**10):010d}",
        "app": f"{stack.org}-app",
    }
    # Its revalidation due date (a month end) passed: stayed (42 CFR 424.541), action now.
    passed = last_day_of_month(add_months(today, -2))
    await stack.enrollment(ids["stayed"], npi(701), passed, legal_name="Stella Stayed")
    await stack.enrollment(
        ids["later"],
        npi(702),
        last_day_of_month(add_months(today, 20)),
        legal_name="Lorenzo Later",
    )
    await stack.create(ids["app"], legal_name="Dana Developing", npi=npi(703), ssn="123-45-6789",
                       state="FL")  # fmt: skip
    d = today.isoformat()
    await stack.event(ids["app"], "submit", web_tracking_id="WT-2026-000999", signed_on=d)
    await stack.event(ids["app"], "received_by_mac", case_number="JN-9", receipt_date=d)
    await stack.event(ids["app"], "development_requested", request_date=d, items=["W-9"])
    await stack.projected("/v1/deadlines", ids["app"])
    await stack.projected("/v1/deadlines", ids["stayed"])
    await stack.projected("/v1/deadlines", ids["later"])
    return ids


async def test_today_orders_by_urgency_and_filters_on_the_server(web_stack: WebStack) -> None:
    stack = web_stack
    ids = await _seed(stack)
    async with _signed_in(stack) as http:
        page = (await http.get("/app/today", params={"organization": stack.org})).text
        buckets = re.findall(r'<tr data-bucket="([a-z]+)">', page)
        assert buckets[0] == "standing"  # the stayed enrollment leads
        order = {"standing": 0, "overdue": 1, "week": 2, "month": 3, "later": 4}
        assert buckets == sorted(buckets, key=order.__getitem__)
        assert "month" in buckets and "later" in buckets
        assert page.index("Stella Stayed") < page.index("Dana Developing")

        for q in ("developing", npi(703), "WT-2026-000999"):
            found = (await http.get("/app/today", params={"q": q})).text
            assert "Dana Developing" in found and "Stella Stayed" not in found, q
        only_standing = await http.get("/app/today", params={"kind": "standing"})
        assert re.findall(r'data-bucket="([a-z]+)"', only_standing.text) == ["standing"]
        within = await http.get("/app/today", params={"within": "30", "organization": stack.org})
        assert "Lorenzo Later" not in within.text and "Dana Developing" in within.text
        bad = await http.get("/app/today", params={"state": "ZZ"})
        assert bad.status_code == 422 and "state" in bad.text

        csv = await http.get("/app/today.csv", params={"q": "developing"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        rows = csv.text.strip().splitlines()
        assert rows[0].startswith("last_day,days_left,clock_kind") and len(rows) == 2
        assert ids["app"] in rows[1] and "Dana Developing" in rows[1]
        ics = await http.get("/app/today.ics", params={"organization": stack.org})
        assert ics.headers["content-type"].startswith("text/calendar")
        assert ics.text.count("BEGIN:VEVENT") == len(buckets)
        assert "Dana Developing" not in ics.text  # a calendar feed carries no names


async def test_today_pages_on_the_server(web_stack: WebStack) -> None:
    stack = web_stack
    await _seed(stack)
    async with _signed_in(stack) as http:
        first = (await http.get("/app/today", params={"organization": stack.org})).text
        total = int(re.search(r"<caption>(\d+) item", first).group(1))  # type: ignore[union-attr]
        pages = [
            (
                await http.get(
                    "/app/today", params={"organization": stack.org, "page": n, "per_page": 2}
                )
            ).text
            for n in (1, 2)
        ]
        rows = [re.findall(r'<a href="/app/[a-z]+s/([^"]+)">', p) for p in pages]
        assert len(rows[0]) == 2 and len(rows[1]) == min(2, total - 2)
        assert not set(rows[0]) & set(rows[1])
        assert 'rel="next"' in pages[0] and 'rel="prev"' in pages[1]
        assert "per_page=2" in pages[0]  # the links keep the page size
        # The Next link carries the keyset of the page's last clock, and lands on page 2.
        next_href = re.search(r'<a href="([^"]+)" rel="next">', pages[0])
        assert next_href and "after=" in next_href.group(1)
        followed = (await http.get(next_href.group(1).replace("&amp;", "&"))).text
        assert re.findall(r'<a href="/app/[a-z]+s/([^"]+)">', followed) == rows[1]


async def test_today_works_from_the_keyboard_with_nothing_from_elsewhere(
    web_stack: WebStack,
) -> None:
    stack = web_stack
    await _seed(stack)
    async with browser_page() as page:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        await sign_in(page, stack.url, "operator")
        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        await expect(skip).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#main")).to_be_focused()
        # Tab to the search box, type, Enter submits the filters.
        for _ in range(10):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "f-q":
                break
        await expect(page.get_by_label("Search")).to_be_focused()
        await page.keyboard.type("Dana")
        await page.keyboard.press("Enter")
        await expect(page.locator("#today tbody tr")).to_have_count(1)
        # Every row's record link is reachable and opens the record with Enter.
        link = page.locator("#today tbody a").first
        await link.focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#state")).to_have_text("development requested")
    assert requests and all(url.startswith(stack.url) for url in requests), requests
