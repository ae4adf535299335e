"""The deadlines screen as a spreadsheet (CSV) and as a calendar (iCalendar, RFC 5545), for the
teams whose morning starts in Excel or in a shared calendar.

The calendar carries no provider names (a feed ends up on phones and in shared calendars): each
event names the record by its id, the clock, its rule and what happens if it is missed.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from api.responses.deadlines import Deadline, DeadlinesView

CSV_COLUMNS = (
    "last_day",
    "days_left",
    "clock_kind",
    "record_kind",
    "record_id",
    "status",
    "legal_name",
    "organization_id",
    "npi",
    "started_on",
    "fires_at",
    "rule_key",
    "rule_citation",
    "rule_version",
    "explanation",
    "action",
    "deadline_id",
    "workflow_id",
)
PRODUCT_ID = "-//enrollment-engine//deadlines//EN"


def deadlines_csv(view: DeadlinesView) -> str:
    """One row per open clock, soonest first, as the JSON lists them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in view.items:
        writer.writerow(
            [
                d.last_day.isoformat(),
                d.days_left,
                d.clock_kind,
                d.record.kind,
                d.record.id,
                d.record.status,
                d.record.legal_name or "",
                d.organization_id,
                d.npi or "",
                d.started_on.isoformat(),
                d.fires_at.isoformat(),
                d.rule.key if d.rule else "",
                d.rule.citation if d.rule else "",
                d.rule.version if d.rule else "",
                d.explanation,
                d.action or "",
                d.deadline_id,
                d.record.workflow_id,
            ]
        )
    return out.getvalue()


def _text(value: str) -> str:
    """An iCalendar TEXT value (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continued with a space (RFC 5545 3.1)."""
    parts: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not parts else 74
        if len((current + char).encode("utf-8")) > limit:
            parts.append(current)
            current = char
        else:
            current += char
    parts.append(current)
    return [parts[0], *(" " + p for p in parts[1:])]


def _event(d: Deadline, stamp: str) -> list[str]:
    summary = f"{d.clock_kind} ends: {d.record.kind} {d.record.id} ({d.record.status})"
    if d.rule is None:  # an enrollment that needs action now, not a clock
        description = f"{d.explanation}\nWhat to do: {d.action or 'see the record'}."
    else:
        description = (
            f"{d.explanation}\nRule: {d.rule.key} v{d.rule.version} ({d.rule.citation}).\n"
            f"Counted from {d.started_on.isoformat()}; the consequence takes effect at "
            f"{d.fires_at.isoformat()}."
        )
    return [
        "BEGIN:VEVENT",
        f"UID:{_text(d.deadline_id)}@enrollment-engine",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{d.last_day.strftime('%Y%m%d')}",
        f"DTEND;VALUE=DATE:{(d.last_day + timedelta(days=1)).strftime('%Y%m%d')}",
        f"SUMMARY:{_text(summary)}",
        f"DESCRIPTION:{_text(description)}",
        f"CATEGORIES:{_text(d.clock_kind)}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def deadlines_ics(view: DeadlinesView, now: datetime) -> str:
    """An all-day event on each clock's last day; UIDs are the deadline ids, so a calendar that
    subscribes sees a clock move or close instead of a duplicate."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Enrollment deadlines",
        f"X-WR-TIMEZONE:{view.time_zone}",
    ]
    for d in view.items:
        lines += _event(d, stamp)
    lines.append("END:VCALENDAR")
    return "".join(f"{folded}\r\n" for line in lines for folded in _fold(line))
