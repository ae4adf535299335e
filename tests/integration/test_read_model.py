"""The activities against real databases: SQLite (a file) and PostgreSQL.

Every database test runs on both. The PostgreSQL server is named by ENROLL_TEST_POSTGRES_URL; an
unreachable server fails the test (CI starts it). Each PostgreSQL test gets its own schema,
dropped afterwards. Activities run in `ActivityEnvironment`, a real activity context.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import Iterator, MutableMapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine, make_url
from sqlmodel import col, select
from structlog.testing import capture_logs
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.checks import check_application
from activities.database import SQLITE_BUSY_TIMEOUT_MS, create_db_engine, create_schema, session
from activities.notifications import NOTICE_CLAIMED, NotificationActivities
from activities.projection import ProjectionActivities
from models.application import (
    ApplicationCreate,
    ApplicationEventRequest,
    ApplicationState,
    apply_event,
    check_event,
    new_application,
)
from models.checks import Severity, presubmission_findings
from models.contracts import CheckRequest, NotificationRequest
from models.notices import Notice, NoticeKind
from models.read_model import (
    ApplicationProjection,
    ApplicationRow,
    DeadlineProjection,
    DeadlineRow,
    NotificationRow,
    application_projection,
)

POSTGRES_URL = os.environ.get(
    "ENROLL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# 10:00 in New York: every event date below is on or before that local day.
NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
SSN = "123-45-6789"
EVENTS: TypeAdapter[Any] = TypeAdapter(ApplicationEventRequest)


# --- Databases -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = create_db_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
        create_schema(eng)
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_db_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except Exception as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string(hide_password=True)} is "
            f"unreachable ({type(exc).__name__}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set "
            "ENROLL_TEST_POSTGRES_URL",
            pytrace=False,
        )
    eng = create_db_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        create_schema(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


# --- States built with the real domain -----------------------------------------------------------


def _create(**details: Any) -> ApplicationCreate:
    return ApplicationCreate(
        application_id="app-1",
        organization_id="acme",
        form="CMS-855I",
        purpose="initial",
        actor="ops@example.org",
        details=details
        or {"legal_name": "Jane Doe", "npi": "1234567893", "ssn": SSN, "state": "FL"},
    )


def _step(state: ApplicationState, event: dict[str, Any]) -> tuple[ApplicationState, list[Notice]]:
    request = EVENTS.validate_python({"actor": "ops@example.org", "reason": "letter", **event})
    check_event(state, request, NOW)
    outcome = apply_event(state, request, NOW)
    return outcome.state, outcome.notices


@pytest.fixture(scope="module")
def history() -> dict[int, tuple[ApplicationState, list[Notice]]]:
    """seq -> (state, notices of that step): 2 = pending signature (signature clock open),
    3 = submitted (no clock), 5 = development requested (30-day clock open)."""
    states: dict[int, tuple[ApplicationState, list[Notice]]] = {
        1: (new_application(_create(), NOW), [])
    }
    for event in (
        {"event": "submit", "web_tracking_id": "WT-1", "submitted_on": "2025-02-20"},
        {"event": "signatures_completed", "signed_on": "2025-02-21"},
        {"event": "received_by_mac", "case_number": "C-1", "receipt_date": "2025-02-24"},
        {"event": "development_requested", "request_date": "2025-03-01", "items": ["license"]},
    ):
        state, notices = _step(states[len(states)][0], event)
        states[len(state.events)] = (state, notices)
    return states


def _projection(history: dict[int, Any], seq: int) -> ApplicationProjection:
    """The projection as the activity receives it: through the pydantic data converter."""
    projection = application_projection(history[seq][0])
    assert projection.seq == seq
    converter = pydantic_data_converter.payload_converter
    payloads = converter.to_payloads([projection])
    (decoded,) = converter.from_payloads(payloads, [ApplicationProjection])
    assert decoded == projection
    return decoded


def _notification(history: dict[int, Any], seq: int) -> NotificationRequest:
    state, notices = history[seq]
    (notice,) = notices
    return NotificationRequest(
        workflow_id=state.workflow_id,
        record_kind="application",
        record_id=state.application_id,
        organization_id=state.organization_id,
        npi=state.details.npi,
        notice=notice,
    )


def _rows(engine: Engine) -> tuple[list[ApplicationRow], list[DeadlineRow]]:
    with session(engine) as s:
        apps = list(s.exec(select(ApplicationRow)).all())
        deadlines = list(s.exec(select(DeadlineRow).order_by(DeadlineRow.deadline_id)).all())
    return apps, deadlines


def _notifications(engine: Engine) -> list[NotificationRow]:
    with session(engine) as s:
        return list(s.exec(select(NotificationRow).order_by(col(NotificationRow.id))).all())


def _deliverer(activity_id: str) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_id=activity_id)
    return env


def _notification_logs(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == "notification"]


# --- Database setup ------------------------------------------------------------------------------


def test_sqlite_file_settings(tmp_path: Path) -> None:
    eng = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    eng.dispose()


async def test_sqlite_memory_is_shared_across_threads(history: dict[int, Any]) -> None:
    eng = create_db_engine("sqlite://")
    create_schema(eng)
    await ActivityEnvironment().run(
        ProjectionActivities(eng).project_application, _projection(history, 5)
    )
    apps, deadlines = await asyncio.to_thread(_rows, eng)
    assert [a.projected_seq for a in apps] == [5]
    assert len(deadlines) == 1
    eng.dispose()


def test_unknown_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported read-model database"):
        create_db_engine("mysql://u@h/db")


# --- Checks --------------------------------------------------------------------------------------


async def test_check_application_returns_the_pure_findings() -> None:
    state = new_application(_create(legal_name="Jane Doe", state="FL"), NOW)
    facts = state.details.facts(state.form, state.purpose)
    req = CheckRequest(workflow_id=state.workflow_id, facts=facts, as_of=date(2025, 3, 3))
    findings = await ActivityEnvironment().run(check_application, req)
    assert findings == presubmission_findings(facts, date(2025, 3, 3))
    assert {(f.code, f.field) for f in findings if f.severity == Severity.ERROR} == {
        ("missing_field", "npi"),
        ("missing_field", "ssn"),
    }


# --- Notifications -------------------------------------------------------------------------------


async def test_notification_is_recorded_and_logged_once(
    engine: Engine, history: dict[int, Any]
) -> None:
    act = NotificationActivities(engine)
    req = _notification(history, 5)
    env = ActivityEnvironment()
    with capture_logs() as logs:
        assert await env.run(act.record_notification, req) is True
        assert await env.run(act.record_notification, req) is False  # a retry
    rows = _notifications(engine)
    assert len(rows) == 1
    row = rows[0]
    assert row.idempotency_key == "application-app-1/event-5"
    assert (row.kind, row.channel, row.record_status) == ("event", "log", "development_requested")
    assert row.delivered_at is not None and row.delivered_at.tzinfo is not None
    assert row.delivered_at >= row.created_at
    assert (row.state, row.attempts, row.claimed_by, row.lease_until) == ("sent", 1, None, None)

    (line,) = _notification_logs(logs)
    assert line == {
        "event": "notification",
        "log_level": "info",
        "channel": "log",
        "delivery_id": "application-app-1/event-5",
        "workflow_id": "application-app-1",
        "organization_id": "acme",
        "record_kind": "application",
        "record_id": "app-1",
        "kind": "event",
        "key": "application-app-1/event-5",
        "subject": req.notice.subject,
        "due_date": None,
    }
    assert SSN not in repr(logs)


async def test_concurrent_attempts_deliver_once(engine: Engine, history: dict[int, Any]) -> None:
    act = NotificationActivities(engine)
    req = _notification(history, 2)
    # Six different deliverers (a reset or continued workflow schedules a new activity; the
    # attempts of one activity never run at once): one claims and delivers, the others find it
    # sent, or claimed (they fail, to be retried), and their retries find it sent.
    deliverers = [_deliverer(str(i)) for i in range(6)]
    with capture_logs() as logs:
        results = await asyncio.gather(
            *(d.run(act.record_notification, req) for d in deliverers), return_exceptions=True
        )
        assert results.count(True) == 1, results
        for deliverer, result in zip(deliverers, results, strict=True):
            if isinstance(result, BaseException):
                assert isinstance(result, ApplicationError), result
                assert result.type == NOTICE_CLAIMED and not result.non_retryable
                assert await deliverer.run(act.record_notification, req) is False
            else:
                assert result in (True, False)
    assert len(_notifications(engine)) == 1
    assert len(_notification_logs(logs)) == 1


async def test_distinct_notices_are_distinct_rows(engine: Engine, history: dict[int, Any]) -> None:
    act = NotificationActivities(engine)
    env = ActivityEnvironment()
    reminder = Notice(
        key="development_response-5:reminder:7",
        kind=NoticeKind.REMINDER,
        subject="CMS-855I app-1: development response due 2025-03-31 (7 days left)",
        body="...",
        status="development_requested",
        clock_id="development_response-5",
        due_date=date(2025, 3, 31),
    )
    with capture_logs() as logs:
        for req in (
            _notification(history, 2),
            _notification(history, 5),
            _notification(history, 5).model_copy(update={"notice": reminder}),
        ):
            assert await env.run(act.record_notification, req) is True
    rows = _notifications(engine)
    assert [r.idempotency_key for r in rows] == [
        "application-app-1/event-2",
        "application-app-1/event-5",
        "application-app-1/development_response-5:reminder:7",
    ]
    assert rows[2].due_date == date(2025, 3, 31)
    assert _notification_logs(logs)[2]["due_date"] == "2025-03-31"


async def test_notification_the_database_refuses_is_not_retried(
    engine: Engine, history: dict[int, Any]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce column lengths")
    req = _notification(history, 5)
    req = req.model_copy(update={"notice": req.notice.model_copy(update={"subject": "x" * 501})})
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(NotificationActivities(engine).record_notification, req)
    assert err.value.non_retryable and err.value.type == "ReadModelDataRejected"
    assert "x" * 50 not in str(err.value)  # the message never carries the data
    assert _notifications(engine) == []


# --- Projection ----------------------------------------------------------------------------------


async def test_projection_upserts_and_replaces_deadlines(
    engine: Engine, history: dict[int, Any]
) -> None:
    act = ProjectionActivities(engine)
    env = ActivityEnvironment()

    await env.run(act.project_application, _projection(history, 2))
    apps, deadlines = _rows(engine)
    assert [(a.status, a.projected_seq) for a in apps] == [("pending_signature", 2)]
    assert [d.deadline_id for d in deadlines] == ["application-app-1/signatures-2"]

    await env.run(act.project_application, _projection(history, 3))
    apps, deadlines = _rows(engine)
    assert [(a.status, a.projected_seq, a.next_deadline) for a in apps] == [("submitted", 3, None)]
    assert deadlines == []

    p5 = _projection(history, 5)
    await env.run(act.project_application, p5)
    await env.run(act.project_application, p5)  # a retry changes nothing
    apps, deadlines = _rows(engine)
    (app,) = apps
    assert app.model_dump() == {**p5.row.model_dump(), "projected_seq": 5}
    assert (app.status, app.case_number, app.next_deadline) == (
        "development_requested",
        "C-1",
        date(2025, 3, 31),
    )
    assert app.created_at == NOW and app.created_at.tzinfo is not None
    (d,) = deadlines
    (expected,) = p5.deadlines
    assert d.deadline_id == "application-app-1/development_response-5"
    assert (d.record_id, d.organization_id, d.npi, d.record_status) == (
        "app-1",
        "acme",
        "1234567893",
        "development_requested",
    )
    fields = set(DeadlineProjection.model_fields) - {"clock_id"}
    assert d.model_dump(include=fields) == expected.model_dump(include=fields)
    assert d.fires_at == expected.fires_at == datetime(2025, 4, 1, 4, 0, tzinfo=UTC)


async def test_projection_is_monotonic(engine: Engine, history: dict[int, Any]) -> None:
    act = ProjectionActivities(engine)
    env = ActivityEnvironment()
    await env.run(act.project_application, _projection(history, 5))
    await env.run(act.project_application, _projection(history, 3))  # late and older
    await env.run(act.project_application, _projection(history, 2))
    apps, deadlines = _rows(engine)
    assert [(a.status, a.projected_seq) for a in apps] == [("development_requested", 5)]
    assert [d.deadline_id for d in deadlines] == ["application-app-1/development_response-5"]


async def test_racing_projections_leave_the_newest(engine: Engine, history: dict[int, Any]) -> None:
    act = ProjectionActivities(engine)
    projections = [_projection(history, seq) for seq in (2, 5, 3, 4, 1)] * 3
    await asyncio.gather(
        *(ActivityEnvironment().run(act.project_application, p) for p in projections)
    )
    apps, deadlines = _rows(engine)
    assert [(a.status, a.projected_seq) for a in apps] == [("development_requested", 5)]
    assert [d.deadline_id for d in deadlines] == ["application-app-1/development_response-5"]


async def test_projection_with_bad_data_is_not_retried(
    engine: Engine, history: dict[int, Any]
) -> None:
    p5 = _projection(history, 5)
    twice = p5.model_copy(update={"deadlines": p5.deadlines * 2})  # two clocks with one id
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(ProjectionActivities(engine).project_application, twice)
    assert err.value.non_retryable and err.value.type == "ReadModelDataRejected"
    assert _rows(engine) == ([], [])  # the whole projection rolled back
