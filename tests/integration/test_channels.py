"""The notification channels (activities/channels.py) against real receivers: e-mail over SMTP
(a local aiosmtpd server, with STARTTLS and a login) and signed webhooks (a local HTTP server),
each through the outbox activity (activities/notifications.py). The README's verification
snippet is run against what the webhook received."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channels import EmailChannel, SmtpConfig, WebhookChannel
from activities.notifications import NOTICE_REFUSED, LogChannel, NotificationActivities
from activities.projection import ProjectionActivities
from models.contracts import NotificationRequest
from models.notification import Recipient
from models.read_model import NotificationRow, OutboxState
from tests.integration.receivers import (
    LOGIN,
    Mailbox,
    Webhook,
    free_port,
    self_signed,
    smtp_server,
    webhook_server,
)
from tests.integration.test_read_model import _notification, _projection, history
from worker import channel_from_settings, router_from_settings
from workflows.settings import Settings

__all__ = ["history"]  # a fixture, used by name

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECRET = b"whsec-test-0123456789"
TO = (Recipient(address="ana@acme.example", role="specialist"),)


def readme_verify() -> Any:
    """The `verify` function of the README's "Signed webhooks" section, as written there."""
    section = README[README.index("### Signed webhooks") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    scope: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), scope)
    return scope["verify"]


def _run(act: NotificationActivities, req: NotificationRequest, attempt: str = "a") -> Any:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_id=attempt)
    return env.run(act.record_notification, req)


def _row(engine: Engine) -> NotificationRow:
    with Session(engine) as s:
        (row,) = s.exec(select(NotificationRow)).all()
        return row


def _activities(engine: Engine, channel: Any) -> NotificationActivities:
    return NotificationActivities(
        engine, channel, router=lambda req: TO, base_url="https://enroll.example.org"
    )


# --- E-mail ---------------------------------------------------------------------------------------


async def test_an_email_goes_over_starttls_with_a_login_text_and_html(
    sqlite_engine: Engine, history: dict[int, Any], tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    mailbox = Mailbox()
    with smtp_server(mailbox, tls=(cert, key)) as port:
        config = SmtpConfig(
            host="127.0.0.1",
            port=port,
            sender="enroll@acme.example",
            security="starttls",
            username=LOGIN[0],
            password=LOGIN[1],
            ca_file=str(cert),
        )
        req = _notification(history, 5)
        ProjectionActivities(sqlite_engine)._project(_projection(history, 5))
        assert await _run(_activities(sqlite_engine, EmailChannel(config)), req) is True
    [message] = mailbox.messages
    assert mailbox.logins == [LOGIN[0]]
    assert message["To"] == "ana@acme.example"
    assert message["X-Enroll-Delivery-Id"] == req.idempotency_key
    assert message["Message-ID"].endswith("@enroll.notifications>")
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None and page is not None
    assert "What happened: CMS-855I app-1: development_requested" in text.get_content()
    assert "Case number: C-1" in text.get_content()
    assert "<a href='https://enroll.example.org/v1/applications/app-1'>" in page.get_content()
    assert _row(sqlite_engine).state == OutboxState.SENT


async def test_a_wrong_password_or_a_refused_recipient_fails_the_notice(
    sqlite_engine: Engine, history: dict[int, Any], tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    mailbox = Mailbox()
    mailbox.refuse.add("ana@acme.example")
    req = _notification(history, 5)
    with smtp_server(mailbox, tls=(cert, key)) as port:
        base = SmtpConfig(
            host="127.0.0.1", port=port, sender="enroll@acme.example", ca_file=str(cert)
        )
        wrong = dataclasses.replace(base, username=LOGIN[0], password="wrong")
        with pytest.raises(ApplicationError) as refused:
            await _run(_activities(sqlite_engine, EmailChannel(wrong)), req)
        assert refused.value.type == NOTICE_REFUSED
        assert _row(sqlite_engine).last_error == "the SMTP server refused the configured login"
        right = dataclasses.replace(base, username=LOGIN[0], password=LOGIN[1])
        with pytest.raises(ApplicationError):
            await _run(_activities(sqlite_engine, EmailChannel(right)), req, "b")
    row = _row(sqlite_engine)
    assert (row.state, row.last_error) == (
        OutboxState.FAILED,
        "the SMTP server refused every recipient",
    )
    assert mailbox.messages == []


async def test_an_smtp_server_that_is_down_leaves_the_notice_pending_with_the_reason(
    sqlite_engine: Engine, history: dict[int, Any]
) -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), sender="e@x.example", security="none")
    with pytest.raises(ApplicationError) as failed:
        await _run(_activities(sqlite_engine, EmailChannel(config)), _notification(history, 5))
    assert not failed.value.non_retryable
    row = _row(sqlite_engine)
    assert (row.state, row.last_error) == (
        OutboxState.PENDING,
        "ConnectionRefusedError from the email channel",
    )


# --- Webhooks -------------------------------------------------------------------------------------


async def test_a_webhook_is_signed_as_the_readme_says_and_retried_until_it_answers(
    sqlite_engine: Engine, history: dict[int, Any]
) -> None:
    hook = Webhook(fail_first=2)
    req = _notification(history, 5)
    with webhook_server(hook) as url:
        act = _activities(sqlite_engine, WebhookChannel(url, SECRET))
        for attempt in ("a", "b"):
            with pytest.raises(ApplicationError):
                await _run(act, req, attempt)
            assert _row(sqlite_engine).last_error == "ConnectionError from the webhook channel"
        assert await _run(act, req, "c") is True
        assert await _run(act, req, "d") is False  # sent: never again
    assert [code for code, _, _ in hook.requests] == [503, 503, 200]
    verify = readme_verify()
    [(headers, body)] = hook.accepted()
    assert verify(SECRET, headers, body) is True
    assert verify(b"another secret", headers, body) is False
    assert verify(SECRET, headers, body.replace(b"app-1", b"app-2")) is False
    stale = {**headers, "Enroll-Timestamp": str(int(headers["Enroll-Timestamp"]) - 3600)}
    assert verify(SECRET, stale, body) is False
    assert headers["Enroll-Delivery-Id"] == req.idempotency_key
    assert _row(sqlite_engine).attempts == 3


async def test_a_webhook_that_refuses_with_a_4xx_fails_the_notice(
    sqlite_engine: Engine, history: dict[int, Any]
) -> None:
    with webhook_server(Webhook(status=410)) as url:
        with pytest.raises(ApplicationError) as refused:
            await _run(
                _activities(sqlite_engine, WebhookChannel(url, SECRET)), _notification(history, 5)
            )
    assert refused.value.non_retryable
    assert _row(sqlite_engine).last_error == "the webhook refused the notice (410)"


# --- Settings -------------------------------------------------------------------------------------


def test_the_channel_and_recipients_come_from_the_settings() -> None:
    assert isinstance(channel_from_settings(Settings()), LogChannel)
    with pytest.raises(ValueError, match="ENROLL_WEBHOOK_SECRET"):
        channel_from_settings(Settings(notify_channel="webhook", webhook_url="http://x"))
    with pytest.raises(ValueError, match="ENROLL_NOTIFY_TO or ENROLL_NOTIFY_ROUTES_FILE"):
        channel_from_settings(Settings(notify_channel="email", smtp_host="m", smtp_from="e@x"))
    with pytest.raises(ValueError, match="ENROLL_SMTP_HOST"):
        channel_from_settings(Settings(notify_channel="email", notify_to="a@x.example"))
    email = channel_from_settings(
        Settings(notify_channel="email", smtp_host="mail", smtp_from="e@x.example", notify_to="a@x")
    )
    assert email.name == "email"
    route = router_from_settings(Settings(notify_to="a@x.example, b@x.example"))
    assert route is not None
    assert [r.address for r in route(None)] == ["a@x.example", "b@x.example"]  # type: ignore[arg-type]
    assert router_from_settings(Settings()) is None
