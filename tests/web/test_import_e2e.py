"""The Import page in headless Chromium: a roster with good and bad rows is uploaded, the good
rows become enrollments, the bad ones are listed with their line, column and reason, and the
problems download as CSV."""

from __future__ import annotations

import html
import random
import re

from playwright.async_api import expect

from tests.integration.test_api_reads import npi
from tests.integration.test_auth import headers
from tests.web.browser import browser_page, screenshot, sign_in
from tests.web.conftest import WebStack
from tests.web.test_today_e2e import _signed_in


async def test_a_roster_upload_shows_and_downloads_its_row_problems(web_stack: WebStack) -> None:
    stack = web_stack
    ids = [f"I2024{random.randrange(10**10):010d}" for _ in range(2)]
    roster = (
        "enrollment_id,npi,ptan,form,state,effective_date,legal_name\n"
        f"{ids[0]},{npi(601)},PT601,CMS-855I,FL,2024-03-01,Avery Goodrow\n"
        f"{ids[1]},{npi(602)},PT602,CMS-855I,FL,2024-04-01,Blake Goodrow\n"
        "I20240000000003,123,PT603,CMS-855I,FL,2024-05-01,Casey Badrow\n"
    )
    async with browser_page() as page:
        await sign_in(page, stack.url, "operator", "/app/import")
        await expect(page.locator("#columns")).to_contain_text("effective_date")
        await page.get_by_label("Roster (CSV)").set_input_files(
            files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": roster.encode()}]
        )
        await page.get_by_label("Organisation (for rows without one)").fill(stack.org)
        await page.get_by_role("button", name="Import").click()
        await expect(page.get_by_role("status")).to_contain_text("3 rows read: 2 created")
        # The page streamed a line as rows were done (a roster of two: each row).
        await expect(page.locator("#progress li")).to_have_text(
            ["1 of 2 rows imported", "2 of 2 rows imported"]
        )
        problems = page.locator("#problems tbody tr")
        await expect(problems).to_have_count(1)
        await expect(problems.first).to_contain_text("npi")
        await expect(problems.first.locator("td").nth(1)).to_have_text("4")  # header = line 1
        await screenshot(page, "web-import")
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download the problems (CSV)").click()
        download = await download_info.value
        text = open(await download.path()).read()
        lines = text.strip().splitlines()
        assert lines[0] == "file,line,column,enrollment_id,reason"
        assert len(lines) == 2 and lines[1].startswith("roster,4,npi,")
    for enrollment_id in ids:
        r = await stack.http.get(f"/v1/enrollments/{enrollment_id}", headers=headers("auditor"))
        assert r.status_code == 200 and r.json()["organization_id"] == stack.org


async def test_the_problems_of_a_big_roster_download_whole(web_stack: WebStack) -> None:
    """Thousands of bad rows: the problems posted back for download are larger than a form
    field may usually be (1 MB), and still come back whole."""
    stack = web_stack
    bad = "".join(
        f"I2024{n:010d},123,PT{n},CMS-855I,FL,2024-05-01,{'Long Name ' * 8}{n}\n"
        for n in range(9000)
    )
    roster = "enrollment_id,npi,ptan,form,state,effective_date,legal_name\n" + bad
    async with _signed_in(stack) as http:
        page = await http.get("/app/import")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        r = await http.post(
            "/app/import",
            data={"csrf": csrf.group(1), "organization": stack.org, "reason": "big"},
            files={"roster": ("roster.csv", roster.encode(), "text/csv")},
        )
        assert r.status_code == 200, r.text[:500]
        value = re.search(r'name="problems" value="([^"]*)"', r.text, re.S)
        assert value
        problems = html.unescape(value.group(1))
        assert len(problems) > 1024 * 1024
        download = await http.post(
            "/app/import/problems.csv", data={"csrf": csrf.group(1), "problems": problems}
        )
        assert download.status_code == 200, download.text[:300]
        lines = download.text.strip().splitlines()
        assert len(lines) == 1 + 9000 and lines[-1].startswith("roster,9001,npi,")


async def test_a_roster_import_streams_its_progress_then_the_outcome(web_stack: WebStack) -> None:
    stack = web_stack
    rows = "".join(
        f"I2025{random.randrange(10**10):010d},{npi(900 + n)},PT9{n:03d},CMS-855I,FL,"
        f"2024-06-01,Row {n}\n"
        for n in range(45)
    )
    roster = "enrollment_id,npi,ptan,form,state,effective_date,legal_name\n" + rows
    async with _signed_in(stack) as http:
        csrf = re.search(r'name="csrf" value="([^"]+)"', (await http.get("/app/import")).text)
        assert csrf
        r = await http.post(
            "/app/import",
            data={"csrf": csrf.group(1), "organization": stack.org, "reason": "many"},
            files={"roster": ("roster.csv", roster.encode(), "text/csv")},
        )
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        lines = re.findall(r"<li>(\d+) of 45 rows imported</li>", r.text)
        done = [int(n) for n in lines]
        assert done[0] == 1 and done[-1] == 45 and done == sorted(done) and len(done) <= 22
        assert "45 rows read: 45 created" in r.text
        assert r.text.count("<html") == 1 and r.text.rstrip().endswith("</html>")
