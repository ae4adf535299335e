"""An enrollment's page over real HTTP: its identifiers, its clocks, the enrollment lifecycle
with its state highlighted, and the enrollment's own events as forms; an unknown record is a
page that says so."""

from __future__ import annotations

import asyncio
import random
import re

import httpx

from models.calendar import add_months, last_day_of_month
from tests.integration.test_api_reads import npi
from tests.web.conftest import WebStack
from tests.web.test_today_e2e import _signed_in


async def test_an_enrollment_page_shows_its_clocks_and_its_events(web_stack: WebStack) -> None:
    stack = web_stack
    enrollment_id = f"I2024{random.randrange(10**10):010d}"
    due = last_day_of_month(add_months(await stack.today(), 14))
    await stack.enrollment(enrollment_id, npi(801), due, legal_name="Enid Enrolled")
    async with _signed_in(stack) as http:
        for _ in range(100):
            r = await http.get(f"/app/enrollments/{enrollment_id}")
            if r.status_code == 200:
                break
        assert r.status_code == 200, r.text
        page = r.text
        assert "Enid Enrolled" in page and npi(801) in page
        assert f"<dd>{due.isoformat()}</dd>" in page  # revalidation due
        assert 'data-clock="revalidation_due"' in page
        assert re.search(r'<g class="state current" data-state="active">', page)
        events = re.findall(r'<details\s*data-event="([a-z_]+)"', page)
        assert "revalidation_notice_received" in events and "submit" not in events
        missing = await http.get("/app/enrollments/I20249999999999")
        assert missing.status_code == 404 and "No enrollment" in missing.text
        nowhere = await http.get("/app/widgets/x")
        assert nowhere.status_code == 404


async def test_the_provider_page_gathers_an_npis_records(web_stack: WebStack) -> None:
    stack = web_stack
    enrollment_id = f"I2024{random.randrange(10**10):010d}"
    due = last_day_of_month(add_months(await stack.today(), 14))
    await stack.enrollment(enrollment_id, npi(802), due, legal_name="Pat Provider")
    await stack.create(f"{stack.org}-p", legal_name="Pat Provider", npi=npi(802), state="FL")
    await stack.projected(f"/v1/providers/{npi(802)}", enrollment_id)
    await stack.projected(f"/v1/providers/{npi(802)}", f"{stack.org}-p")
    async with _signed_in(stack) as http:
        page = (await http.get(f"/app/providers/{npi(802)}")).text
        assert "Pat Provider" in page
        assert f'href="/app/enrollments/{enrollment_id}"' in page
        assert f'href="/app/applications/{stack.org}-p"' in page
        record = (await http.get(f"/app/enrollments/{enrollment_id}")).text
        assert f'href="/app/providers/{npi(802)}"' in record
        bad = await http.get("/app/providers/1234567890")
        assert bad.status_code == 422 and "npi" in bad.text.lower()


async def test_an_application_links_its_printable_support_packet(web_stack: WebStack) -> None:
    stack = web_stack
    app_id = f"{stack.org}-s"
    await stack.create(app_id, legal_name="Sam Support", npi=npi(803), state="FL")
    async with _signed_in(stack, "auditor") as http:
        record = (await http.get(f"/app/applications/{app_id}")).text
        assert f'href="/app/applications/{app_id}/support"' in record
        packet = await http.get(f"/app/applications/{app_id}/support")
        assert packet.status_code == 200 and packet.headers["content-type"].startswith("text/html")
        assert "Sam Support" in packet.text and "<script" not in packet.text
        assert (await http.get("/app/applications/nope!/support")).status_code == 404
    async with httpx.AsyncClient(base_url=stack.url) as anonymous:
        r = await anonymous.get(f"/app/applications/{app_id}/support")
        assert r.status_code == 303 and "/app/sign-in" in r.headers["location"]


async def test_a_record_page_lists_the_notifications_queued_for_it(web_stack: WebStack) -> None:
    stack = web_stack
    app_id = f"{stack.org}-n"
    await stack.create(app_id, legal_name="Nora Notified", npi=npi(804), state="FL")
    await stack.event(app_id, "withdrawn")
    async with _signed_in(stack, "auditor") as http:
        for _ in range(150):
            page = (await http.get(f"/app/applications/{app_id}")).text
            if "withdrawn (draft -&gt; withdrawn)" in page:
                break
            await asyncio.sleep(0.2)
        assert 'id="notifications"' in page
        assert f"{app_id}: withdrawn (draft -&gt; withdrawn)" in page


async def test_an_enrollment_event_is_recorded_from_its_form(web_stack: WebStack) -> None:
    stack = web_stack
    enrollment_id = f"I2024{random.randrange(10**10):010d}"
    today = await stack.today()
    await stack.enrollment(
        enrollment_id, npi(805), last_day_of_month(add_months(today, 14)), legal_name="Cy Change"
    )
    async with _signed_in(stack) as http:
        page = (await http.get(f"/app/enrollments/{enrollment_id}")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
        assert csrf and key
        form = {
            "csrf": csrf.group(1),
            "idempotency_key": key.group(1),
            "event": "change_occurred",
            "data.kind": "practice_location",
            "data.change_date": today.isoformat(),
            "data.description": "",
            "reason": "new suite number",
        }
        r = await http.post(f"/app/enrollments/{enrollment_id}/events", data=form)
        assert r.status_code == 303, r.text
        assert r.headers["location"].endswith("?recorded=change_occurred")
        # The same form sent again (a double click, a retry) records nothing more.
        again = await http.post(f"/app/enrollments/{enrollment_id}/events", data=form)
        assert again.status_code == 303
        page = (await http.get(r.headers["location"])).text
        assert "Recorded: change occurred." in page
        assert page.count("<strong>change occurred</strong>") == 1  # one line in the timeline
        # A choice the event does not know comes back with the field named.
        bad = await http.post(
            f"/app/enrollments/{enrollment_id}/events",
            data={**form, "idempotency_key": "k2", "data.kind": "haircut"},
        )
        assert bad.status_code == 422
        assert "was not recorded" in bad.text and "data.kind" in bad.text
