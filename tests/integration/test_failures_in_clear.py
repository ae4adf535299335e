"""Issue 16, defect 3: a database error never carries a name or an identifier into history or
logs, in clear.

PostgreSQL is made to fail the read-model write with an error whose text quotes the row's values
(a trigger raising a transient serialization failure, as a driver error quoting its parameters
would). The record goes on; then the raw history (fetched without the codec) and every log line
the API and the worker wrote are searched for each value sent: legal name, NPI, Web Tracking ID,
MAC case number, SSN. Search attributes are left out of the history search: they hold the NPI
by design (public, NPPES) and bypass the codec (docs "Data protection").
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from activities.database import create_schema
from models.calendar import local_date
from models.contracts import READ_MODEL_UNAVAILABLE
from tests.integration.test_api_reads import ZONE, eventually, unique
from tests.integration.test_pii_logs import json_logs
from tests.integration.test_side_effects import POSTGRES_URL, _engine, _stack, schema

__all__ = ["schema"]  # the fixture, used by name

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.postgres]

LEGAL_NAME = "Ottoline Marchetti-Quayle"
NPI = "1234567893"
SSN = "123-45-6789"
WEB_TRACKING_ID = "WT-2026-771234"
CASE_NUMBER = "JN-CASE-556677"
VALUES = (LEGAL_NAME, "Marchetti", NPI, SSN, "123456789", WEB_TRACKING_ID, CASE_NUMBER)

# A transient error (SQLSTATE 40001, retried) whose message and DETAIL quote the row.
REFUSE_WITH_VALUES = """
CREATE FUNCTION refuse_with_values() RETURNS trigger AS $$
BEGIN
  IF NEW.case_number IS NOT NULL THEN
    RAISE EXCEPTION 'could not write %% %% %% %%',
        NEW.legal_name, NEW.npi, NEW.web_tracking_id, NEW.case_number
      USING ERRCODE = '40001', DETAIL = 'Failing row contains ' || NEW.legal_name;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_with_values BEFORE INSERT OR UPDATE ON application
  FOR EACH ROW EXECUTE FUNCTION refuse_with_values();
"""


def _without_search_attributes(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _without_search_attributes(v)
            for k, v in node.items()
            if k not in ("searchAttributes", "upsertWorkflowSearchAttributesEventAttributes")
        }
    if isinstance(node, list):
        return [_without_search_attributes(v) for v in node]
    return node


# "binary/encrypted", as the raw history's JSON writes metadata (base64).
ENCRYPTED = "YmluYXJ5L2VuY3J5cHRlZA=="


async def test_a_database_error_quoting_values_leaves_none_in_history_or_logs(
    dev_env: WorkflowEnvironment, schema: str, capfd: pytest.CaptureFixture[str]
) -> None:
    engine = _engine(POSTGRES_URL, schema)
    await asyncio.to_thread(create_schema, engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(REFUSE_WITH_VALUES)
    app_id = unique("clear")
    try:
        with json_logs():
            async with _stack(dev_env, engine) as stack:
                await stack.create(app_id, legal_name=LEGAL_NAME, npi=NPI, ssn=SSN)
                today = local_date(await dev_env.get_current_time(), ZONE)
                await stack.event(app_id, "submit", web_tracking_id=WEB_TRACKING_ID)
                await stack.event(app_id, "signatures_completed")
                await stack.event(
                    app_id, "received_by_mac", case_number=CASE_NUMBER, receipt_date=str(today)
                )

                async def failed() -> bool:
                    incidents = (await stack.get(app_id))["incidents"]
                    return any(i["error_type"] == READ_MODEL_UNAVAILABLE for i in incidents)

                await eventually(failed, "the failed projection's incident", seconds=30)
                [incident] = (await stack.get(app_id))["incidents"]
                # What failed, in words an operator can act on, and no value.
                assert incident["message"].endswith(
                    "INSERT failed (SerializationFailure, SQLSTATE 40001)"
                ), incident

                with engine.begin() as conn:
                    conn.execute(text("DROP TRIGGER refuse_with_values ON application"))
                r = await stack.http.post(
                    f"/v1/incidents/application-{app_id}/retry", json={"reason": "fixed"}
                )
                assert r.status_code == 200, r.text
                await eventually(
                    lambda: stack.projected(app_id, case_number=CASE_NUMBER), "the catch-up"
                )
                handle = dev_env.client.get_workflow_handle(f"application-{app_id}")
                history = await handle.fetch_history()  # raw: nothing decoded
                # The audit timeline decodes the failure for the people allowed to read it.
                audit = await stack.http.get(f"/v1/audit/application-{app_id}")
                assert audit.status_code == 200, audit.text
                assert "INSERT failed (SerializationFailure, SQLSTATE 40001)" in audit.text
                assert "Encoded failure" not in audit.text
    finally:
        engine.dispose()

    raw = json.loads(history.to_json())
    failures = [
        e["activityTaskFailedEventAttributes"]["failure"]
        for e in raw["events"]
        if "activityTaskFailedEventAttributes" in e
    ]
    # A side-effect round's last attempt reports each effect's failure in its result (a payload,
    # encrypted like any other); an attempt that fails outright is a failed activity event.
    results = [
        payload
        for e in raw["events"]
        if "activityTaskCompletedEventAttributes" in e
        for payload in e["activityTaskCompletedEventAttributes"]
        .get("result", {})
        .get("payloads", [])
    ]
    # (That the failure is in the history at all, the audit timeline above has shown: it is
    # decoded from there.) Whichever way it was written, it is not in clear:
    for failure in failures:  # the failure converter moved the text into an encoded payload
        assert failure["message"] == "Encoded failure" and not failure.get("stackTrace")
        assert failure["encodedAttributes"]["metadata"]["encoding"] == ENCRYPTED
    for payload in results:
        assert payload["metadata"]["encoding"] == ENCRYPTED
    searched = json.dumps(_without_search_attributes(raw))
    logs = capfd.readouterr()
    log_text = logs.out + logs.err
    assert '"activity_type"' in log_text  # the worker's lines were captured
    for value in VALUES:
        assert value not in searched, f"{value!r} in the raw history"
        assert value not in log_text, f"{value!r} in the logs"
