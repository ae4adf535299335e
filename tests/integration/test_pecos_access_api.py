"""PECOS access hygiene from the API and the CLI (api/routes/pecos_access.py,
cli/pecos_access.py), over real HTTP with the workflow on the dev server: the first event
starts the organisation's workflow, its view says who can act, a bad event names the field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.calendar import local_date
from tests.integration.test_api_reads import AUTH, _serve
from tests.integration.test_delivery_once import _settings
from tests.integration.test_notifications_api import _enroll
from worker import build_worker


async def test_record_and_show_who_can_act_in_pecos(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    task_queue = f"pecos-api-{uuid.uuid4()}"
    settings = _settings(task_queue)
    app = create_app(settings, client=dev_env.client, engine=sqlite_engine)
    org = f"org-{uuid.uuid4().hex[:6]}"
    # The engine's today (its time zone), not the machine's: just after midnight UTC the
    # machine's date is still tomorrow in New York, a date in the future there.
    today = local_date(datetime.now(UTC), settings.default_time_zone).isoformat()
    async with build_worker(dev_env.client, sqlite_engine, task_queue=task_queue):
        async with _serve(app, AUTH) as http:
            missing = await http.get(f"/v1/organizations/{org}/pecos-access")
            assert missing.status_code == 404 and "user_added" in missing.json()["detail"]
            events = f"/v1/organizations/{org}/pecos-access/events"
            r = await http.post(
                events,
                json={
                    "event": "user_added",
                    "user": "ana",
                    "on": today,
                    "role": "authorized_official",
                },
            )
            assert r.status_code == 200, r.text
            assert r.json()["can_act"] == 1
            code, out, err = await _enroll(
                http,
                "pecos-access",
                "record",
                org,
                "user_added",
                "bob",
                "--on",
                today,
                "--role",
                "surrogate",
            )
            assert code == 0, err
            assert "2 can act in PECOS" in out
            view = (await http.get(f"/v1/organizations/{org}/pecos-access")).json()
            assert [u["user"] for u in view["users"]] == ["ana", "bob"]
            assert view["short_handed_since"] is None  # two can act: no finding open
            bad = await http.post(
                events, json={"event": "login_recorded", "user": "zed", "on": today}
            )
            assert bad.status_code == 422
            assert bad.json()["errors"] == [
                {
                    "field": "user",
                    "reason": "user: no PECOS user 'zed' is recorded for this organisation",
                }
            ]
            code, out, err = await _enroll(http, "pecos-access", "show", org)
            assert code == 0 and "ana" in out and "authorized_official" in out, err
