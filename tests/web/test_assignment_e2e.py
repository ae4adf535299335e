"""Assignee and notes in headless Chromium against the real stack: an operator assigns an
application to themself from its page, filters Today by "mine" and by another assignee's name,
adds a note and sees it in the notes list and the audit timeline; an auditor sees both and has
no form to change them."""

from __future__ import annotations

from playwright.async_api import expect

from tests.integration.test_api_reads import npi
from tests.integration.test_auth import headers
from tests.web.browser import browser_page, screenshot, sign_in
from tests.web.conftest import WebStack


async def _seed(stack: WebStack) -> tuple[str, str]:
    """Two applications waiting on a development response; the second is Bea's."""
    today = (await stack.today()).isoformat()
    mine, beas = f"{stack.org}-mine", f"{stack.org}-beas"
    for app_id, name, n in ((mine, "Cordelia Assignwell", 91), (beas, "Desmond Othershift", 92)):
        await stack.create(app_id, legal_name=name, npi=npi(n), ssn="123-45-6789", state="FL")
        await stack.event(app_id, "submit", web_tracking_id=f"WT-{n}", signed_on=today)
        await stack.event(app_id, "received_by_mac", case_number=f"JN-{n}", receipt_date=today)
        await stack.event(app_id, "development_requested", request_date=today, items=["W-9"])
    await stack.event(beas, "assigned", assignee="bea@example.org")
    await stack.projected(f"/v1/applications?organization_id={stack.org}", "bea@example.org")
    return mine, beas


async def test_assign_to_me_filter_today_by_mine_and_add_a_note(web_stack: WebStack) -> None:
    stack = web_stack
    mine, _ = await _seed(stack)
    async with browser_page() as page:
        await sign_in(page, stack.url, "operator", f"/app/applications/{mine}")
        await expect(page.locator("#assignee")).to_have_text("nobody")
        await page.get_by_role("button", name="Assign to me").click()
        await expect(page.get_by_role("status")).to_contain_text("Recorded: assigned")
        await expect(page.locator("#assignee")).to_have_text("ops@example.org")
        # Assigning moves nothing: the state and its clock are as they were.
        await expect(page.locator("#state")).to_have_text("development requested")
        await expect(page.locator('[data-clock="development_response"]')).to_have_count(1)

        form = page.get_by_role("form", name="Add a note")
        await form.get_by_label("Note").fill("Called the provider: W-9 comes Friday.")
        await form.get_by_role("button", name="Add the note").click()
        await expect(page.get_by_role("status")).to_contain_text("Recorded: note added")
        await expect(page.locator("#notes li").first).to_contain_text("W-9 comes Friday")
        await expect(page.locator("#notes li").first).to_contain_text("ops@example.org")
        first = page.locator("ol.timeline li").first
        await expect(first).to_contain_text("note added")
        await expect(first).to_contain_text("development requested → development requested")
        await expect(page.locator("ol.timeline li").nth(1)).to_contain_text(
            "Assigned to ops@example.org."
        )
        await screenshot(page, "web-record-assigned")

        await stack.projected(f"/v1/applications?organization_id={stack.org}", "ops@example.org")
        await page.goto(f"{stack.url}/app/today?organization={stack.org}")
        await expect(page.locator("#today tbody tr")).to_have_count(2)
        await page.get_by_label("Assignee").fill("mine")
        await page.get_by_role("button", name="Apply").click()
        rows = page.locator("#today tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Cordelia Assignwell")
        await expect(rows.first).to_contain_text("Assigned to ops@example.org")
        await screenshot(page, "web-today-mine")
        await page.get_by_label("Assignee").fill("bea@example.org")
        await page.get_by_role("button", name="Apply").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Desmond Othershift")

    r = await stack.http.get(f"/v1/applications/{mine}", headers=headers("auditor"))
    body = r.json()
    assert body["assignee"] == "ops@example.org" and body["status"] == "development_requested"
    assert [n["text"] for n in body["notes"]] == ["Called the provider: W-9 comes Friday."]
    assert [e["event"] for e in body["events"][-2:]] == ["assigned", "note_added"]


async def test_an_auditor_sees_assignee_and_notes_and_cannot_change_them(
    web_stack: WebStack,
) -> None:
    stack = web_stack
    _, beas = await _seed(stack)
    await stack.event(beas, "note_added", text="Bea is on it.")
    async with browser_page() as page:
        await sign_in(page, stack.url, "auditor", f"/app/applications/{beas}")
        await expect(page.locator("#assignee")).to_have_text("bea@example.org")
        await expect(page.locator("#notes li").first).to_contain_text("Bea is on it.")
        await expect(page.get_by_role("button", name="Assign to me")).to_have_count(0)
        await expect(page.get_by_role("form", name="Add a note")).to_have_count(0)
        refused = await page.request.post(
            f"{stack.url}/app/applications/{beas}/events",
            form={"event": "assigned", "data.assignee": "audit", "reason": "no", "csrf": "x"},
        )
        assert refused.status == 403
    r = await stack.http.get(f"/v1/applications/{beas}", headers=headers("auditor"))
    assert r.json()["assignee"] == "bea@example.org"
