"""The audit export as people read it: plain text (`enroll audit show`), CSV, and a printable
HTML report that embeds the JSON export so it verifies offline too.

Pure functions of the JSON export (a dict, as the API sends it), apart from workflows.audit,
which reads Temporal histories: the CLI renders what the API answered without the Temporal SDK.
"""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any

HTML_EXPORT_ID = "audit-export"

CSV_COLUMNS = (
    "n",
    "event_date",
    "recorded_at",
    "kind",
    "actor",
    "role",
    "event",
    "reason",
    "from_status",
    "to_status",
    "clocks_opened",
    "clocks_closed",
    "summary",
    "run_id",
    "history_event_id",
    "workflow_id",
    "history_sha256",
)


def event_date(entry: dict[str, Any]) -> str:
    """The date the event happened (the letter's or PECOS's date, which clocks count from), as
    the record carried it; empty for what only has a recording time (timers, activities)."""
    value = (entry.get("details") or {}).get("event_date")
    return str(value) if value else ""


def render_csv(export: dict[str, Any]) -> str:
    """One row per timeline entry: the event's date and when it was recorded; every row names
    the workflow and the history digest (the raw history itself is in the JSON export with the
    same digest)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in export["timeline"]:
        row = {k: entry.get(k) for k in CSV_COLUMNS}
        row["event_date"] = event_date(entry)
        row["recorded_at"] = entry.get("time")
        row["clocks_opened"] = " ".join(entry.get("clocks_opened") or [])
        row["clocks_closed"] = " ".join(entry.get("clocks_closed") or [])
        row["workflow_id"] = export["workflow_id"]
        row["history_sha256"] = export["history_sha256"]
        writer.writerow(row)
    return out.getvalue()


def _line(entry: dict[str, Any]) -> str:
    return str(entry.get("summary", ""))


def render_text(export: dict[str, Any]) -> str:
    """A plain-text timeline (the CLI's ``audit show``)."""
    lines = [
        f"Audit of {export['workflow_id']} ({len(export['runs'])} run(s)); "
        f"history sha256 {export['history_sha256']}"
    ]
    for entry in export["timeline"]:
        time = str(entry["time"]).replace("+00:00", "Z")
        who = entry.get("actor") or "-"
        if entry.get("role"):
            who += f" ({entry['role']})"
        line = f"{entry['n']:>3}  {time[:19]}Z  {entry['kind']:<14} {who:<32} {_line(entry)}"
        if event_date(entry):
            line += f"  (dated {event_date(entry)})"
        if entry.get("reason") and entry["kind"] in ("event", "engine", "created"):
            line += f"  reason: {entry['reason']}"
        if entry.get("clocks_opened"):
            line += f"  opened: {', '.join(entry['clocks_opened'])}"
        if entry.get("clocks_closed"):
            line += f"  closed: {', '.join(entry['clocks_closed'])}"
        lines.append(line)
    for warning in export.get("warnings") or []:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def render_html(export: dict[str, Any]) -> str:
    """A printable report; it embeds the whole JSON export so it verifies offline too."""
    e = html.escape
    rows = []
    for entry in export["timeline"]:
        states = ""
        if entry.get("to_status"):
            states = f"{e(entry.get('from_status') or '')} &rarr; {e(entry['to_status'])}"
        clocks = []
        if entry.get("clocks_opened"):
            clocks.append("opened: " + e(", ".join(entry["clocks_opened"])))
        if entry.get("clocks_closed"):
            clocks.append("closed: " + e(", ".join(entry["clocks_closed"])))
        rows.append(
            "<tr>"
            f"<td>{entry['n']}</td><td>{e(event_date(entry))}</td>"
            f"<td>{e(str(entry['time']))}</td><td>{e(entry['kind'])}</td>"
            f"<td>{e(entry.get('actor') or '')}</td><td>{e(entry.get('role') or '')}</td>"
            f"<td>{e(entry.get('event') or '')}</td><td>{e(entry.get('reason') or '')}</td>"
            f"<td>{states}</td><td>{'<br>'.join(clocks)}</td><td>{e(entry['summary'])}</td>"
            "</tr>"
        )
    embedded = json.dumps(export, sort_keys=True).replace("</", "<\\/")
    runs = ", ".join(f"{e(r['run_id'])} ({r['events']} events)" for r in export["runs"])
    who = export.get("generated_by") or {}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Audit of {e(export["workflow_id"])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.85em; }}
th, td {{ border: 1px solid #999; padding: 0.3em; vertical-align: top; text-align: left; }}
th {{ background: #eee; }}
code {{ word-break: break-all; }}
@media print {{ body {{ margin: 0; }} tr {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>Audit of {e(export["workflow_id"])}</h1>
<p>Generated {e(export["generated_at"])} for {e(str(who.get("actor", "")))}
({e(str(who.get("role", "")))}). Runs: {runs}.</p>
<p>History SHA-256: <code>{e(export["history_sha256"])}</code><br>
({e(export["digest_algorithm"])}). Verify with <code>enroll audit verify THIS_FILE</code>.</p>
<p>Event date: the date on the letter or in PECOS, which clocks count from. Recorded: when
the engine recorded it (UTC).</p>
<table><thead><tr><th>#</th><th>Event date</th><th>Recorded (UTC)</th><th>Kind</th>
<th>Actor</th><th>Role</th>
<th>Event</th><th>Reason</th><th>State</th><th>Clocks</th><th>Summary</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<script type="application/json" id="{HTML_EXPORT_ID}">{embedded}</script>
</body></html>
"""
