"""The Temporal Web UI as auditors and everyone else meet it, in headless Chromium (Debian's
`chromium`, driven by Playwright): the dev server's UI points at the engine's codec routes; an
anonymous page shows event data still encrypted (the codec answers 401), an auditor's page,
after the one sign-in step (a codec session opened with their key, pasted into the UI's codec
setting), shows it decrypted. Screenshots go to docs/screens/."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.conftest import TEMPORAL_CLI, TEST_CONVERTER
from tests.integration.test_api_reads import _closed_port, _listening_socket, _Server, npi
from tests.integration.test_auth import API_KEYS, KEYS, headers
from worker import build_worker
from workflows.search_attributes import ALL_KEYS
from workflows.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ENROLL = Path(sys.executable).parent / "enroll"
SCREENS = Path(__file__).parents[2] / "docs" / "screens"
NAME = "Ophelia Quincy-Marlowe"  # a legal name: only in encrypted payloads


@dataclass
class UiStack:
    api: httpx.AsyncClient
    ui: str
    workflow_id: str


@pytest.fixture
async def ui_stack(sqlite_engine: Engine) -> AsyncIterator[UiStack]:
    ui_port = _closed_port()
    with _listening_socket() as sock:
        api_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(TEMPORAL_CLI),
            data_converter=TEST_CONVERTER,
            ui=True,
            ui_port=ui_port,
            search_attributes=ALL_KEYS,
            dev_server_extra_args=[
                "--log-level", "error", "--ui-codec-endpoint", f"{api_url}/codec",
            ],
        )  # fmt: skip
        try:
            task_queue = f"ui-{uuid.uuid4()}"
            settings = Settings(task_queue=task_queue, log_json=False, api_keys=API_KEYS)
            app = create_app(settings, client=env.client, engine=sqlite_engine)
            ui = f"http://127.0.0.1:{ui_port}"
            app.state.codec_cors_origins = (ui, f"http://localhost:{ui_port}")
            server = _Server(uvicorn.Config(app, log_level="warning", access_log=False))
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            async with build_worker(env.client, sqlite_engine, task_queue=task_queue):
                async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
                    while not server.started:
                        await asyncio.sleep(0.02)
                    app_id = f"ui-{uuid.uuid4().hex[:8]}"
                    r = await api.post(
                        "/v1/applications",
                        json={
                            "application_id": app_id, "form": "CMS-855I", "purpose": "initial",
                            "details": {"legal_name": NAME, "npi": npi(71), "state": "FL"},
                            "reason": "new hire",
                        },
                        headers=headers("operator"),
                    )  # fmt: skip
                    assert r.status_code == 201, r.text
                    yield UiStack(api, ui, r.json()["workflow_id"])
            server.should_exit = True
            await asyncio.wait_for(serving, 10)
        finally:
            await env.shutdown()


async def _history_page(browser: Browser, stack: UiStack, codec_endpoint: str | None) -> Page:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    if codec_endpoint is not None:
        # What the auditor does once in the UI's codec settings: their browser's endpoint, over
        # the cluster's (the UI keeps both settings in its local storage).
        await context.add_init_script(
            f"localStorage.setItem('endpoint', {json.dumps(json.dumps(codec_endpoint))});"
            "localStorage.setItem('overrideRemoteCodecConfiguration', 'true');"
        )
    page = await context.new_page()
    return page


async def _open(page: Page, stack: UiStack) -> list[tuple[str, int]]:
    """Open the workflow's page; the codec calls the UI made (path, status)."""
    calls: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: calls.append((httpx.URL(r.url).path, r.status)) if "/codec" in r.url else None,
    )
    await page.goto(f"{stack.ui}/namespaces/default/workflows/{stack.workflow_id}")
    await page.wait_for_function(
        "id => document.body.innerText.includes(id)", arg=stack.workflow_id, timeout=30_000
    )
    return calls


async def test_an_auditor_reads_decrypted_event_data_and_nobody_else_does(
    ui_stack: UiStack,
) -> None:
    stack = ui_stack
    # The sign-in step: an operator may not open a codec session; an auditor may.
    r = await stack.api.post("/codec/sessions", headers=headers("operator"))
    assert r.status_code == 403, r.text
    r = await stack.api.post("/codec/sessions", json={"hours": 1}, headers=headers("auditor"))
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["role"] == "auditor" and session["actor"] == KEYS["auditor"][1]
    assert session["codec_endpoint"].startswith(f"{stack.api.base_url}/codec/s/")
    assert KEYS["auditor"][0] not in json.dumps(session)
    # The documented way: `enroll audit ui-session` with the auditor's key prints an endpoint.
    proc = await asyncio.create_subprocess_exec(
        str(ENROLL), "audit", "ui-session", "--hours", "2",
        env={**os.environ, "ENROLL_API_URL": str(stack.api.base_url),
             "ENROLL_API_KEY": KEYS["auditor"][0]},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    endpoint = out.decode().strip()
    assert endpoint.startswith(f"{stack.api.base_url}/codec/s/") and "codec server" in err.decode()
    forged = session["codec_endpoint"][:-4] + "AAAA"
    r = await stack.api.post(f"{httpx.URL(forged).path}/decode", json={"payloads": []})
    assert r.status_code == 401, r.text

    SCREENS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            anonymous = await _history_page(browser, stack, None)
            calls = await _open(anonymous, stack)
            await anonymous.wait_for_timeout(3000)  # the UI's codec calls, answered 401
            await anonymous.screenshot(path=str(SCREENS / "temporal-ui-anonymous.png"))
            assert NAME not in await anonymous.inner_text("body")
            decodes = [status for path, status in calls if path.endswith("/decode")]
            assert decodes and set(decodes) == {401}

            auditor = await _history_page(browser, stack, endpoint)
            calls = await _open(auditor, stack)
            await auditor.wait_for_function(
                "name => document.body.innerText.includes(name)", arg=NAME, timeout=30_000
            )
            await auditor.screenshot(path=str(SCREENS / "temporal-ui-auditor.png"))
            decodes = [status for path, status in calls if path.endswith("/decode")]
            assert decodes and set(decodes) == {200}
            assert all(path.startswith("/codec/s/") for path, _ in calls)
        finally:
            await browser.close()
