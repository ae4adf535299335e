"""Failed notices are visible and re-sendable (issue 18): GET /v1/notifications?status=failed
with pages, `enroll notifications list --failed`, POST /v1/notifications/{id}/resend (and the
CLI), and acknowledgement, over real HTTP with real workflows on the dev server and a real
webhook receiver that refuses, then takes the notices."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.channels import WebhookChannel
from api.app import create_app
from tests.integration.receivers import Webhook, webhook_server
from tests.integration.test_api_reads import OPERATOR_KEY, _serve, eventually, unique
from tests.integration.test_channels import SECRET
from tests.integration.test_delivery_once import _file_and_submit, _settings
from worker import build_worker

ENROLL = Path(sys.executable).parent / "enroll"


async def _enroll(http: httpx.AsyncClient, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "ENROLL_API_URL": str(http.base_url), "ENROLL_API_KEY": OPERATOR_KEY}
    proc = await asyncio.create_subprocess_exec(
        str(ENROLL),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _failed(http: httpx.AsyncClient, workflow_id: str, **params: Any) -> dict[str, Any]:
    r = await http.get(
        "/v1/notifications", params={"status": "failed", "workflow_id": workflow_id, **params}
    )
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def test_a_refused_notice_is_listed_as_failed_then_resent_on_demand(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    hook = Webhook(status=410)  # the receiver refuses everything, for now
    task_queue = f"failed-{uuid.uuid4()}"
    app = create_app(_settings(task_queue), client=dev_env.client, engine=sqlite_engine)
    app_id = unique("failed")
    workflow_id = f"application-{app_id}"
    with webhook_server(hook) as url:
        worker = build_worker(
            dev_env.client,
            sqlite_engine,
            task_queue=task_queue,
            channel=WebhookChannel(url, SECRET),
        )
        async with worker, _serve(app, {"Authorization": f"Bearer {OPERATOR_KEY}"}) as http:
            await _file_and_submit(http, app_id)

            async def both_failed() -> bool:
                return len((await _failed(http, workflow_id))["items"]) == 2

            await eventually(both_failed, "two failed notices", 30)
            first = await _failed(http, workflow_id, limit=1)
            [item] = first["items"]
            assert (item["state"], item["failing"]) == ("failed", True)
            assert item["last_error"] == "the webhook refused the notice (410)"
            second = await _failed(http, workflow_id, limit=1, after=first["next_after"])
            assert second["next_after"] is None and second["items"][0]["id"] > item["id"]
            r = await http.get("/v1/notifications", params={"status": "sent"})
            assert workflow_id not in [i["workflow_id"] for i in r.json()["items"]]

            view = await http.get(f"/v1/applications/{app_id}")
            assert view.json()["notifications_failing"] == 2
            assert view.json()["incidents"] != []  # the round failed: an incident, as well
            code, out, err = await _enroll(http, "notifications", "list", "--failed")
            assert code == 0, err
            assert f"{item['id']}" in out and "failed !" in out and "refused the notice" in out

            # The receiver is fixed; the operator re-sends the first from the CLI.
            hook.status = 200
            code, out, err = await _enroll(
                http, "notifications", "resend", str(item["id"]), "--reason", "receiver fixed"
            )
            assert code == 0, err
            assert f"{workflow_id} re-runs" in out

            async def none_failing() -> bool:
                return (await _failed(http, workflow_id))["items"] == []

            await eventually(none_failing, "the notices re-sent", 30)
            view = await http.get(f"/v1/applications/{app_id}")
            assert view.json()["notifications_failing"] == 0
            again = await http.post(
                f"/v1/notifications/{item['id']}/resend", json={"reason": "once more"}
            )
            assert again.status_code == 409, again.text
            assert "never sent twice" in again.json()["detail"]

            acked = await http.post(f"/v1/notifications/{item['id']}/ack", json={"reason": "ok"})
            assert acked.status_code == 200 and acked.json()["already"] is False
            twice = await http.post(f"/v1/notifications/{item['id']}/ack")
            assert twice.json()["already"] is True
            assert twice.json()["acknowledged_at"] == acked.json()["acknowledged_at"]
            missing = await http.post("/v1/notifications/999999/resend", json={"reason": "x"})
            assert missing.status_code == 404
            huge = await http.post(f"/v1/notifications/{2**63}/ack")  # past BIGINT: not a 500
            assert huge.status_code == 422 and "notification_id" in huge.text
            bad = await http.get("/v1/notifications", params={"status": "lost"})
            assert bad.status_code == 422 and "status" in bad.text
    ids = [h["Enroll-Delivery-Id"] for h, _ in hook.accepted()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 2
