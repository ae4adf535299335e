"""The support packet of one application, as JSON or as a printable page.

Read from its workflow (`ApplicationWorkflow.state`), never from the read model, so it is as
current as the workflow itself (what it holds: api/responses/support.py).

Refused events never enter the workflow history (update validators refuse them before), so they
cannot appear here; the API's access log records each refused request.

JSON by default; `?format=html` gives a printable page (inline print CSS, no external assets,
every value escaped).
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.auth import AUTH_RESPONSES, Reader
from api.problems import problem_responses
from api.records import query_application
from api.responses.support import SupportPacket, build_packet
from api.temporal import client_of, now_of

router = APIRouter(prefix="/v1/applications", tags=["support"], responses=AUTH_RESPONSES)

# The ids POST /v1/applications accepts (models.application.ApplicationId): anything else cannot
# name an application, and is refused before Temporal is asked.
APPLICATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# The HTML page loads nothing: no scripts, no external styles, images or fonts.
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


# --- The printable page --------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: #111; background: #fff; margin: 1.5rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; border-bottom: 1px solid #999;
  padding-bottom: .15rem; }
.meta { color: #444; margin: 0 0 1rem; }
.status { display: inline-block; border: 1px solid #111; padding: 0 .4rem; border-radius: .2rem;
  font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .2rem .4rem; border: 1px solid #ccc; }
th { background: #f2f2f2; font-weight: 600; }
table.kv th { width: 14rem; }
code, .id { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.none { color: #666; font-style: italic; }
.overdue { font-weight: 700; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  tr, .keep { break-inside: avoid; }
  th { background: none; }
  @page { margin: 1.5cm; }
}
"""


def _e(value: Any) -> str:
    if value is None or value == "" or value == []:
        return '<span class="none">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (date, datetime)):
        return escape(value.isoformat())
    return escape(str(value), quote=True)


def _kv(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{body}</table>"


def _table(headers: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f"<p class='none'>{escape(empty)}</p>"
    head = "".join(f"<th scope='col'>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(p: SupportPacket) -> str:
    ids, app, dates = p.identifiers, p.application, p.dates
    mac = p.contractor
    contractor = (
        f"{mac.jurisdiction} — {mac.contractor} ({mac.kind})"
        + ("" if mac.confirmed else " — not confirmed by CMS, verify")
        if mac
        else p.contractor_note
    )
    decision = dates.decision
    sections = [
        "<h2>Identifiers</h2>",
        _kv(
            [
                ("NPI", ids.npi),
                ("PTAN", ids.ptan),
                ("Web Tracking ID", ids.web_tracking_id),
                ("MAC case number", ids.case_number),
                ("Enrollment ID", ids.enrollment_id),
                ("Legal name", ids.legal_name),
                *((f"{t.kind} (last 5)", t.masked) for t in ids.tin),
            ]
        ),
        "<h2>Application</h2>",
        _kv(
            [
                ("Form", app.form),
                ("Purpose", app.purpose),
                ("State", app.state),
                ("Provider type", app.provider_type),
                ("Contractor", contractor),
                ("Contractor note", mac.note if mac else None),
                ("Organization", p.organization_id),
                ("Allowed next events", ", ".join(p.allowed_events)),
            ]
        ),
        "<h2>Key dates</h2>",
        _kv(
            [
                ("Created", dates.created_on),
                ("Submitted in PECOS", dates.submitted_on),
                ("Signatures completed", dates.signatures_completed_on),
                ("MAC receipt", dates.mac_receipt_date),
                ("Filing date", dates.filing_date),
                ("Fee requested", dates.fee_requested_on),
                ("Fee paid", dates.fee_paid_on),
                ("Fingerprints requested", dates.fingerprints_requested_on),
                ("Fingerprints received", dates.fingerprints_received_on),
                ("Approved", dates.approval_date),
                ("Effective date", dates.effective_date),
                ("Billing allowed from", dates.retrospective_billing_from),
                (
                    "Decision",
                    f"{decision.kind} on {decision.on.isoformat()}: {decision.grounds}"
                    if decision
                    else None,
                ),
                ("Reconsideration filed", dates.reconsideration_filed_on),
                ("Reconsideration outcome", dates.reconsideration_outcome),
            ]
        ),
        "<h2>Development requests</h2>",
        _table(
            ["Requested", "Items", "Due", "Responded", "Status"],
            [
                [d.request_date, "; ".join(d.items), d.due, d.responded_on, d.status]
                for d in p.development_requests
            ],
            "No development requests.",
        ),
        "<h2>Open deadlines</h2>",
        _table(
            ["Last day", "Days left", "Clock", "Why"],
            [[d.last_day, d.days_left, d.kind, d.explanation] for d in p.open_deadlines],
            "No open deadlines.",
        ),
        "<h2>Open findings</h2>",
        _table(
            ["Severity", "Check", "Field", "Message", "Evidence", "Citation"],
            [
                [
                    f.severity,
                    f.code,
                    f.field,
                    f.message,
                    " ".join(
                        x
                        for x in (
                            f.evidence,
                            f"({f.source}" + (f" of {f.source_date})" if f.source_date else ")")
                            if f.source
                            else None,
                        )
                        if x
                    ),
                    f.citation,
                ]
                for f in p.open_findings
            ],
            "No open findings.",
        ),
        "<h2>Last problems known</h2>",
        _table(
            ["On", "Kind", "What", "Detail"],
            [[x.on, x.kind, x.summary, x.detail] for x in p.problems],
            "No problems recorded.",
        ),
        "<h2>Recent events</h2>",
        _table(
            ["#", "Event", "Dated", "By", "Status"],
            [
                [
                    e.seq,
                    e.event,
                    e.event_date,
                    f"{e.actor} ({e.role})" if e.role else e.actor,
                    f"{e.from_status or '—'} → {e.to_status}",
                ]
                for e in p.recent_events
            ],
            "No events.",
        ),
    ]
    title = f"Support packet — {p.application_id}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p class='meta'><span class='status'>{escape(p.status)}</span> "
        f"· workflow <code>{escape(p.workflow_id)}</code> · as of {p.as_of.isoformat()} "
        f"({escape(app.time_zone)}) · generated {escape(p.generated_at.isoformat())}</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


@router.get(
    "/{application_id}/support-packet",
    operation_id="getSupportPacket",
    summary="Support packet: what to have in hand before calling the MAC or the help desk",
    description=(
        "Read from the application's workflow (always current, not the read model). TIN shown "
        "as its last five digits only (the MAC phone check); date of birth never. "
        "`format=html` answers a printable page (no external assets). Refused events never "
        "enter history and are not listed: see "
        "the API access log."
    ),
    response_model=SupportPacket,
    responses={
        200: {
            "description": "The packet (JSON, or HTML with format=html)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **problem_responses(
            {
                404: "No such application",
                422: "Not an application id, or an unknown format (names the field)",
            }
        ),
    },
)
async def support_packet(
    request: Request,
    response: Response,
    principal: Reader,
    application_id: Annotated[
        str,
        Path(
            pattern=APPLICATION_ID_PATTERN,
            description="The application's id",
            examples=["jdoe-855i-2026"],
        ),
    ],
    format: Annotated[
        Literal["json", "html"], Query(description="json (default) or a printable html page")
    ] = "json",
) -> Any:
    state = await query_application(client_of(request), application_id)
    packet = build_packet(state, await now_of(request))
    if format == "html":
        return HTMLResponse(
            render_html(packet),
            headers={
                "Content-Security-Policy": HTML_CSP,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )
    response.headers["Cache-Control"] = "no-store"
    return packet
