"""The ways notices leave the machine: e-mail over SMTP and signed webhooks (the log channel is in
activities/notifications.py). Each is a `Channel`: the outbox activity claims a notice, hands it
to `deliver`, and marks it sent; the activity's retry (workflows/effects.py ROUND_RETRY, then the
workflow's own retry schedule) is the backoff. A channel raises ChannelRefused for a refusal that
retrying cannot cure and anything else for a passing failure; its messages never name a value
(an address, an NPI), since they become the outbox row's `last_error` and the activity's failure.

Webhook signatures (README, "Signed webhooks"): the body is the notification as JSON; the
signature is HMAC-SHA256 with the shared secret over "<timestamp>.<body>", hex, sent as
`Enroll-Signature: v1=<hex>` with `Enroll-Timestamp` (Unix seconds) and `Enroll-Delivery-Id`
(the outbox key, the same on every retry: a receiver drops a repeat by it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

import httpx
import structlog

from activities.notifications import ChannelRefused, Delivery
from models.notification import render_html, render_text

__all__ = [
    "DELIVERY_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "EmailChannel",
    "SmtpConfig",
    "WebhookChannel",
    "sign",
]

SIGNATURE_HEADER = "Enroll-Signature"
TIMESTAMP_HEADER = "Enroll-Timestamp"
DELIVERY_ID_HEADER = "Enroll-Delivery-Id"
SmtpSecurity = Literal["starttls", "tls", "none"]


# --- E-mail --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_seconds: float = 8.0  # under one attempt's 10 s (workflows/effects.py)
    # A private CA or a self-signed relay; None = the system's trust store.
    ca_file: str | None = None


class EmailChannel:
    """One message per notice, to every routed recipient, text and HTML alternatives. The
    delivery id goes in Message-ID (and X-Enroll-Delivery-Id): mail systems and people see a
    repeat as the same message."""

    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    def message(self, delivery: Delivery) -> EmailMessage:
        n = delivery.notification
        msg = EmailMessage()
        msg["Subject"] = n.subject
        msg["From"] = self._config.sender
        msg["To"] = ", ".join(r.address for r in delivery.recipients)
        msg["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(delivery.id.encode()).hexdigest()[:32]
        msg["Message-ID"] = f"<{digest}@enroll.notifications>"
        msg["X-Enroll-Delivery-Id"] = delivery.id
        msg.set_content(render_text(n))
        msg.add_alternative(render_html(n), subtype="html")
        return msg

    def deliver(self, delivery: Delivery) -> None:
        if not delivery.recipients:
            raise ChannelRefused("no e-mail recipient is routed for this notice")
        c = self._config
        context = ssl.create_default_context(cafile=c.ca_file)
        smtp: smtplib.SMTP
        if c.security == "tls":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
        with smtp:
            if c.security == "starttls":
                smtp.starttls(context=context)
            if c.username:
                try:
                    smtp.login(c.username, c.password or "")
                except smtplib.SMTPAuthenticationError:
                    raise ChannelRefused("the SMTP server refused the configured login") from None
            try:
                refused = smtp.send_message(self.message(delivery))
            except smtplib.SMTPRecipientsRefused:
                raise ChannelRefused("the SMTP server refused every recipient") from None
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                if 500 <= exc.smtp_code < 600:
                    why = f"the SMTP server refused the message ({exc.smtp_code})"
                    raise ChannelRefused(why) from None
                raise
        if refused:
            # Some got it: sending again would repeat it to them, so it counts as delivered;
            # the log says how many were refused (never which address).
            structlog.get_logger(__name__).warning(
                "e-mail partly refused", delivery_id=delivery.id, refused=len(refused)
            )


# --- Signed webhooks -----------------------------------------------------------------------------


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: v1= HMAC-SHA256 over "<timestamp>.<body>", hex."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


class WebhookChannel:
    """A JSON POST per notice, signed. 2xx delivers; 408, 429 and 5xx are passing failures (the
    activity retries with backoff); any other 4xx is a refusal (the receiver will not take it)."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout_seconds: float = 8.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a signing secret (ENROLL_WEBHOOK_SECRET)")
        self._url = url
        self._secret = secret
        self._client = httpx.Client(timeout=timeout_seconds, transport=transport)

    @staticmethod
    def body(delivery: Delivery) -> bytes:
        payload = {
            "delivery_id": delivery.id,
            "recipients": [r.model_dump(mode="json") for r in delivery.recipients],
            "notification": delivery.notification.model_dump(mode="json"),
            "text": render_text(delivery.notification),
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def deliver(self, delivery: Delivery) -> None:
        body = self.body(delivery)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            DELIVERY_ID_HEADER: delivery.id,
        }
        response = self._client.post(self._url, content=body, headers=headers)
        code = response.status_code
        if 200 <= code < 300:
            return
        if code in (408, 429) or code >= 500:
            raise ConnectionError(f"the webhook answered {code}")
        raise ChannelRefused(f"the webhook refused the notice ({code})")
