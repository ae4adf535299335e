"""The Today and record pages in headless Chromium against the real stack (Temporal dev
server, worker, read model, uvicorn): an operator finds an application from Today by provider
name, records a development response and sees the state and the clocks change, and sees the
engine's message when it refuses an event; an auditor sees no action buttons and a POST from
their session is refused. Screenshots go to docs/screens/."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from tests.integration.test_api_reads import npi
from tests.integration.test_auth import KEYS, headers
from tests.web.browser import browser_page, screenshot, sign_in
from tests.web.conftest import WebStack

NAME = "Ophelia Quincy-Marlowe"


async def _seed(stack: WebStack) -> tuple[str, str]:
    """An application waiting on a development response, and a draft missing its SSN."""
    today = (await stack.today()).isoformat()
    waiting, draft = f"{stack.org}-dev", f"{stack.org}-draft"
    await stack.create(waiting, legal_name=NAME, npi=npi(81), ssn="123-45-6789", state="FL")
    await stack.event(waiting, "submit", web_tracking_id="WT-2026-000777", signed_on=today)
    await stack.event(waiting, "received_by_mac", case_number="JN-1", receipt_date=today)
    await stack.event(
        waiting, "development_requested", request_date=today, items=["State license copy"]
    )
    await stack.create(draft, legal_name="Bartholomew Draftsman", npi=npi(82), state="FL")
    await stack.projected("/v1/deadlines", waiting)
    return waiting, draft


async def test_an_operator_finds_an_application_and_records_a_response(
    web_stack: WebStack,
) -> None:
    stack = web_stack
    waiting, draft = await _seed(stack)
    async with browser_page() as page:
        await sign_in(page, stack.url, "operator")
        await page.get_by_label("Search").fill("quincy")  # any part of the name, any case
        await page.get_by_role("button", name="Apply").click()
        rows = page.locator("#today tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text(NAME)
        await expect(rows.first).to_contain_text("development response")
        await expect(rows.first).to_contain_text("Within 30 days")
        await screenshot(page, "web-today")

        await page.get_by_role("link", name=f"application {waiting}").click()
        await expect(page.locator("#state")).to_have_text("development requested")
        await expect(page.locator('[data-clock="development_response"]')).to_contain_text(
            "30 days left"
        )
        await expect(page.locator("g.state.current")).to_have_attribute(
            "data-state", "development_requested"
        )
        await screenshot(page, "web-record")

        await page.get_by_text("Development responded", exact=True).click()
        form = page.get_by_role("form", name="Record development responded")
        await form.get_by_label("Reason (for the audit log)").fill("response uploaded to PECOS")
        await form.get_by_role("button", name="Record development responded").click()
        await expect(page.get_by_role("status")).to_contain_text("Recorded: development responded")
        await expect(page.locator("#state")).to_have_text("in review")
        await expect(page.locator('[data-clock="development_response"]')).to_have_count(0)
        await expect(page.locator("g.state.current")).to_have_attribute("data-state", "in_review")
        await expect(page.locator("ol.timeline li").first).to_contain_text("development responded")

        # A refusal comes back on the page with the engine's own message.
        await page.goto(f"{stack.url}/app/applications/{draft}")
        await page.get_by_text("Submit", exact=True).click()
        form = page.get_by_role("form", name="Record submit")
        await form.get_by_label("Web tracking id").fill("WT-2026-000888")
        await form.get_by_label("Reason (for the audit log)").fill("signed by the provider")
        await form.get_by_role("button", name="Record submit").click()
        refusal = page.get_by_role("alert")
        await expect(refusal).to_contain_text("submit was not recorded")
        await expect(refusal).to_contain_text("The practitioner's SSN is required on the CMS-855I")
        await expect(page.locator("#state")).to_have_text("draft")
        await screenshot(page, "web-refused")

    r = await stack.http.get(f"/v1/applications/{waiting}", headers=headers("auditor"))
    assert r.json()["status"] == "in_review"
    assert r.json()["events"][-1]["actor"] == "ops@example.org"


async def test_an_auditor_sees_no_action_buttons_and_cannot_post(web_stack: WebStack) -> None:
    stack = web_stack
    waiting, _ = await _seed(stack)
    async with browser_page() as page:
        await sign_in(page, stack.url, "auditor", f"/app/applications/{waiting}")
        await expect(page.locator("#state")).to_have_text("development requested")
        await expect(page.get_by_text("read everything and change nothing")).to_be_visible()
        await expect(page.locator('form[action$="/events"]')).to_have_count(0)
        await expect(page.get_by_role("button", name=re.compile("^Record"))).to_have_count(0)
        await screenshot(page, "web-auditor")
        # The auditor's own session cookie, posting what an operator's form would.
        refused = await page.request.post(
            f"{stack.url}/app/applications/{waiting}/events",
            form={"event": "development_responded", "reason": "not allowed", "csrf": "x"},
        )
        assert refused.status == 403
        assert "reads everything and changes nothing" in await refused.text()
    r = await stack.http.get(f"/v1/applications/{waiting}", headers=headers("auditor"))
    assert r.json()["status"] == "development_requested"


async def test_an_operator_post_without_the_form_token_is_refused(web_stack: WebStack) -> None:
    stack = web_stack
    waiting, _ = await _seed(stack)
    async with httpx.AsyncClient(base_url=stack.url) as http:
        form = await http.get("/app/sign-in")
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
        assert nonce
        r = await http.post(
            "/app/sign-in", data={"api_key": KEYS["operator"][0], "nonce": nonce.group(1)}
        )
        assert r.status_code == 303
        r = await http.post(
            f"/app/applications/{waiting}/events",
            data={"event": "development_responded", "reason": "forged", "csrf": "forged"},
        )
        assert r.status_code == 403 and "CSRF" in r.text
    r = await stack.http.get(f"/v1/applications/{waiting}", headers=headers("auditor"))
    assert r.json()["status"] == "development_requested"
