"""The daily digest: per recipient, everything due in the next days (30 by default), soonest
first, each with its internal target (business days before, when escalation starts) and its
regulatory last day (calendar days). Plain text; no SSN, TIN or date of birth (its lines come
from the read model's deadline table, which holds none)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

__all__ = ["DIGEST_DAYS", "DigestLine", "render_digest"]

DIGEST_DAYS = 30


class DigestLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    last_day: date
    internal_target: date
    record_kind: str
    record_id: str
    npi: str | None
    clock_kind: str
    rule_citation: str


def render_digest(
    address: str, organization_id: str, today: date, lines: list[DigestLine], days: int
) -> tuple[str, str]:
    """(subject, text) of one recipient's digest."""
    subject = f"{len(lines)} deadline(s) in the next {days} days for {organization_id} ({today})"
    out = [
        f"Daily digest for {address}, {today.isoformat()}: what is due by "
        f"{date.fromordinal(today.toordinal() + days).isoformat()}, soonest first.",
        "Last day = the regulatory deadline (calendar days). Target = our own, in business "
        "days (US federal holidays off).",
        "",
    ]
    if not lines:
        out.append("Nothing is due in this window.")
    for line in sorted(lines, key=lambda x: (x.last_day, x.record_id, x.clock_kind)):
        left = (line.last_day - today).days
        who = f" NPI {line.npi}" if line.npi else ""
        out.append(
            f"{line.last_day.isoformat()} ({left:>2} d)  "
            f"target {line.internal_target.isoformat()}  "
            f"{line.record_kind} {line.record_id}{who}: {line.clock_kind} "
            f"({line.rule_citation})"
        )
    return subject, "\n".join(out) + "\n"
