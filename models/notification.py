"""A notification: one notice addressed to one person, and its words in plain text and HTML.

A message tells the reader what happened, what is due and by when, why (the rule and its
citation), and what they need at hand on the phone with the MAC: NPI, PTAN, Web Tracking ID,
case number and the record's key dates (docs/regulation.md). It never carries an SSN, a TIN or a
date of birth: the model has no field that could hold one, and its facts come from the read
model, which holds none (activities/notifications.py mac_call_facts).
"""

from __future__ import annotations

import html
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.contracts import NotificationRequest
from models.notices import Notice, NoticeKind
from models.rule_model import RuleRef

__all__ = [
    "URGENT_WITHIN_DAYS",
    "MacCallFacts",
    "Notification",
    "Recipient",
    "Severity",
    "notification_for",
    "render_html",
    "render_text",
    "severity",
]

# A reminder this close to its last day is urgent: a week leaves little room for a letter.
URGENT_WITHIN_DAYS = 7


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"


def severity(notice: Notice, today: date) -> Severity:
    """A consequence took effect, or nobody acknowledged a deadline (escalation): urgent.
    A reminder: urgent within a week of its last day, a warning before. An event line: for
    information."""
    if notice.kind in (NoticeKind.CONSEQUENCE, NoticeKind.ESCALATION):
        return Severity.URGENT
    if notice.kind == NoticeKind.REMINDER and notice.due_date is not None:
        days_left = (notice.due_date - today).days
        return Severity.URGENT if days_left <= URGENT_WITHIN_DAYS else Severity.WARNING
    return Severity.INFO


class Recipient(BaseModel):
    """Who a notification is for: an e-mail address or a webhook's name, and their role."""

    model_config = ConfigDict(frozen=True)

    address: str
    role: str | None = None
    name: str | None = None


class MacCallFacts(BaseModel):
    """What to have at hand on the phone with the MAC: public or MAC-issued identifiers and the
    record's key dates. No SSN, TIN or date of birth (none is needed to reach the MAC's
    enrollment line about a filed application)."""

    model_config = ConfigDict(frozen=True)

    npi: str | None = None
    ptan: str | None = None
    web_tracking_id: str | None = None
    case_number: str | None = None
    key_dates: tuple[tuple[str, date], ...] = ()

    def lines(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str | None]] = [
            ("NPI", self.npi),
            ("PTAN", self.ptan),
            ("Web Tracking ID", self.web_tracking_id),
            ("Case number", self.case_number),
        ]
        pairs += [(label, on.isoformat()) for label, on in self.key_dates]
        return [(label, value) for label, value in pairs if value]


class Notification(BaseModel):
    """One notice for one recipient. `delivery_id` is the outbox key (the same on every attempt
    and every channel's retry): receivers drop a repeat by it."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    recipient: Recipient | None = None
    kind: NoticeKind
    severity: Severity
    record_kind: str
    record_id: str
    organization_id: str
    record_status: str
    happened: str
    detail: str
    due: str | None = None
    due_by: date | None = None
    rule: RuleRef | None = None
    record_link: str
    mac_call: MacCallFacts = MacCallFacts()

    @property
    def subject(self) -> str:
        return f"[{self.severity.value}] {self.happened}"

    @property
    def why(self) -> str | None:
        if self.rule is None:
            return None
        return f"{self.rule.name} ({self.rule.citation}; rule {self.rule.key} v{self.rule.version})"

    def sections(self) -> list[tuple[str, str]]:
        """The message's parts in reading order (both renderings use these)."""
        parts = [("What happened", self.happened)]
        if self.due_by is not None:
            parts.append(("What is due", self.due or "see the detail below"))
            parts.append(("By when", f"{self.due_by.isoformat()} (end of that day)"))
        if self.why is not None:
            parts.append(("Why", self.why))
        parts.append(("Detail", self.detail))
        parts.append(("Record", f"{self.record_kind} {self.record_id} ({self.record_status})"))
        parts.append(("Link", self.record_link))
        return parts


def render_text(n: Notification) -> str:
    lines = [n.subject, ""]
    lines += [f"{label}: {value}" for label, value in n.sections()]
    call = n.mac_call.lines()
    if call:
        lines += ["", "On the phone with the MAC, have at hand:"]
        lines += [f"  {label}: {value}" for label, value in call]
    lines += ["", f"Delivery id: {n.delivery_id}"]
    return "\n".join(lines) + "\n"


def render_html(n: Notification) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><th scope='row'>{e(label)}</th><td>{e(value)}</td></tr>"
        for label, value in n.sections()
        if label != "Link"
    )
    call = "".join(f"<li>{e(label)}: {e(value)}</li>" for label, value in n.mac_call.lines())
    parts = [
        "<!doctype html><html><body>",
        f"<h1>{e(n.subject)}</h1>",
        f"<table>{rows}</table>",
        f"<p><a href='{e(n.record_link, quote=True)}'>Open the record</a></p>",
    ]
    if call:
        parts.append(f"<h2>On the phone with the MAC, have at hand</h2><ul>{call}</ul>")
    parts.append(f"<p><small>Delivery id: {e(n.delivery_id)}</small></p></body></html>")
    return "".join(parts)


def notification_for(
    request: NotificationRequest,
    *,
    today: date,
    base_url: str,
    facts: MacCallFacts | None = None,
    recipient: Recipient | None = None,
) -> Notification:
    """The notification of one outbox notice. `base_url` is where people open records (the
    API's public address); `today` is the organisation's date, for the severity."""
    notice = request.notice
    facts = facts or MacCallFacts(npi=request.npi)
    return Notification(
        delivery_id=request.idempotency_key,
        recipient=recipient,
        kind=notice.kind,
        severity=severity(notice, today),
        record_kind=request.record_kind,
        record_id=request.record_id,
        organization_id=request.organization_id,
        record_status=notice.status,
        happened=notice.subject,
        detail=notice.body,
        due=notice.rule.name if notice.rule else None,
        due_by=notice.due_date,
        rule=notice.rule,
        record_link=f"{base_url.rstrip('/')}/v1/{request.record_kind}s/{request.record_id}",
        mac_call=facts,
    )
