"""The support packet: what an operator needs in hand before calling the MAC or the help desk.

One page per application, read from its workflow (`ApplicationWorkflow.state`), never from the
read model, so it is as current as the workflow itself: identifiers (NPI, PTAN, Web Tracking ID,
case number), the legal name and the TIN as its last four digits only, the form, the purpose, the
MAC jurisdiction and contractor, the key dates, the development requests and their due dates,
every open deadline with its explanation, the open findings, and the last problems the engine
knows of (its own consequences, decisions, failed checks, failed site visits).

Refused events never enter the workflow history (update validators refuse them before), so they
cannot appear here; the API's access log records each refused request.

JSON by default; `?format=html` gives a printable page (inline print CSS, no external assets,
every value escaped).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from temporalio.service import RPCError

from api.auth import AUTH_RESPONSES, Reader
from api.problems import PROBLEM_JSON
from api.temporal import client_of, is_not_found, not_found
from models.application import ApplicationState, allowed_events, application_workflow_id
from models.calendar import Clock
from models.checks import Severity
from models.identifiers import mask_tin
from models.jurisdictions import enrollment_contractor
from workflows.application import ApplicationWorkflow

router = APIRouter(prefix="/v1/applications", tags=["support"], responses=AUTH_RESPONSES)

# The ids POST /v1/applications accepts (models.application.ApplicationId): anything else cannot
# name an application, and is refused before Temporal is asked.
APPLICATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
RECENT_EVENTS = 10
MAX_PROBLEMS = 10
# The HTML page loads nothing: no scripts, no external styles, images or fonts.
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


# The RFC 9457 body every error answer of these routes has (api.problems), documented so clients
# and schema checkers know a 4xx comes as application/problem+json, not FastAPI's default shape.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
    }


class MaskedTin(BaseModel):
    kind: Literal["SSN", "EIN"]
    masked: str = Field(description="Last four digits only, e.g. ***-**-6789")


class PacketIdentifiers(BaseModel):
    npi: str | None
    ptan: str | None
    web_tracking_id: str | None
    case_number: str | None
    enrollment_id: str | None
    legal_name: str | None
    tin: list[MaskedTin] = Field(description="SSN and/or EIN on file, masked")


class PacketApplication(BaseModel):
    form: str
    purpose: str
    state: str | None
    provider_type: str | None
    time_zone: str


class PacketContractor(BaseModel):
    jurisdiction: str
    contractor: str
    kind: str
    confirmed: bool = Field(description="False: the contractor is not confirmed by CMS; verify")
    note: str | None


class PacketDecision(BaseModel):
    kind: str
    on: date
    grounds: str
    by_engine: bool


class PacketDates(BaseModel):
    created_on: date
    submitted_on: date | None
    signatures_completed_on: date | None
    mac_receipt_date: date | None
    filing_date: date | None
    fee_requested_on: date | None
    fee_paid_on: date | None
    fingerprints_requested_on: date | None
    fingerprints_received_on: date | None
    approval_date: date | None
    effective_date: date | None
    retrospective_billing_from: date | None
    decision: PacketDecision | None
    reconsideration_filed_on: date | None
    reconsideration_outcome: str | None


class PacketDevelopmentRequest(BaseModel):
    request_date: date
    items: list[str]
    due: date | None = Field(description="Last day to respond (the development clock)")
    responded_on: date | None
    status: Literal["open", "responded", "expired", "superseded", "unknown"]


class PacketRule(BaseModel):
    key: str
    name: str
    citation: str
    version: str


class PacketDeadline(BaseModel):
    clock_id: str
    kind: str
    last_day: date
    days_left: int = Field(description="From `as_of`; negative once the last day has passed")
    fires_at: datetime
    started_on: date
    consequence: str
    rule: PacketRule
    explanation: str


class PacketFinding(BaseModel):
    code: str
    severity: str
    field: str | None
    message: str
    citation: str | None


class PacketProblem(BaseModel):
    kind: Literal["engine_consequence", "decision", "failed_check", "site_visit"]
    on: date | None
    summary: str
    detail: str
    citation: str | None = None


class PacketEvent(BaseModel):
    seq: int
    event: str
    event_date: date
    actor: str
    role: str | None
    from_status: str | None
    to_status: str


class SupportPacket(BaseModel):
    application_id: str
    workflow_id: str
    organization_id: str
    status: str
    allowed_events: list[str]
    as_of: date = Field(
        description="Today in the application's time zone (the sandbox's today in a sandbox)"
    )
    generated_at: datetime
    identifiers: PacketIdentifiers
    application: PacketApplication
    contractor: PacketContractor | None
    contractor_note: str | None = Field(
        description="Why no contractor is shown, when none is (no state on file, ...)"
    )
    dates: PacketDates
    development_requests: list[PacketDevelopmentRequest]
    open_deadlines: list[PacketDeadline]
    open_findings: list[PacketFinding]
    problems: list[PacketProblem] = Field(description="Newest first, at most 10")
    recent_events: list[PacketEvent] = Field(description="The last 10 events, newest first")


async def _state(request: Request, application_id: str) -> ApplicationState:
    handle = client_of(request).get_workflow_handle(application_workflow_id(application_id))
    try:
        return await handle.query(ApplicationWorkflow.state)
    except RPCError as exc:
        if is_not_found(exc):
            raise not_found(
                "application", application_id, "create it with POST /v1/applications"
            ) from None
        raise


async def _now(request: Request) -> datetime:
    """The app's clock (`app.state.now`: the sandbox's clock in a sandbox), else the real time."""
    now: Callable[[], Awaitable[datetime]] | None = getattr(request.app.state, "now", None)
    return await now() if now is not None else datetime.now(UTC)


def _deadline(clock: Clock, today: date) -> PacketDeadline:
    return PacketDeadline(
        clock_id=clock.clock_id,
        kind=str(clock.kind),
        last_day=clock.last_day,
        days_left=clock.days_left(today),
        fires_at=clock.fires_at,
        started_on=clock.started_on,
        consequence=clock.consequence,
        rule=PacketRule(
            key=str(clock.rule.key),
            name=clock.rule.name,
            citation=clock.rule.citation,
            version=clock.rule.version,
        ),
        explanation=clock.explanation,
    )


def _development_requests(state: ApplicationState) -> list[PacketDevelopmentRequest]:
    open_clocks = {c.clock_id: c for c in state.clocks}
    closed = {c.clock.clock_id: c for c in state.closed_clocks}
    out = []
    for req in state.development_requests:
        due: date | None = None
        status: Literal["open", "responded", "expired", "superseded", "unknown"] = "unknown"
        if req.clock_id in open_clocks:
            due, status = open_clocks[req.clock_id].last_day, "open"
        elif req.clock_id in closed:
            done = closed[req.clock_id]
            due = done.clock.last_day
            status = "responded" if done.outcome == "satisfied" else done.outcome
        if req.responded_on is not None:
            status = "responded"
        out.append(
            PacketDevelopmentRequest(
                request_date=req.request_date,
                items=list(req.items),
                due=due,
                responded_on=req.responded_on,
                status=status,
            )
        )
    return out


def _problems(state: ApplicationState) -> list[PacketProblem]:
    """The last problems the engine knows of, newest first."""
    dated: list[tuple[date, int, PacketProblem]] = []
    for e in state.events:
        if e.actor == "engine":
            dated.append(
                (
                    e.event_date,
                    e.seq,
                    PacketProblem(
                        kind="engine_consequence",
                        on=e.event_date,
                        summary=f"{e.event}: {e.from_status} -> {e.to_status}",
                        detail=" ".join(e.notes) or e.reason,
                        citation=e.reason,
                    ),
                )
            )
    if state.decision is not None and state.decision.kind != "withdrawn":
        d = state.decision
        dated.append(
            (
                d.on,
                len(state.events) + 1,
                PacketProblem(
                    kind="decision",
                    on=d.on,
                    summary=f"{d.kind}" + (" by the engine" if d.by_engine else " by the MAC"),
                    detail=d.grounds,
                ),
            )
        )
    for n, (visit, result) in enumerate(state.site_visits):
        if result != "passed":
            dated.append(
                (
                    visit,
                    n,
                    PacketProblem(
                        kind="site_visit",
                        on=visit,
                        summary=f"site visit result: {result}",
                        detail="Expect a denial under 42 CFR 424.530(a)(5) unless resolved.",
                    ),
                )
            )
    dated.sort(key=lambda t: (t[0], t[1]), reverse=True)
    failed = [
        PacketProblem(
            kind="failed_check",
            on=None,
            summary=f"check {f.code} failed" + (f" ({f.field})" if f.field else ""),
            detail=f.message,
            citation=f.citation,
        )
        for f in state.findings
        if f.severity == Severity.ERROR
    ]
    # Failed checks block submission now, so they lead; then the dated problems, newest first.
    return (failed + [p for _, _, p in dated])[:MAX_PROBLEMS]


def build_packet(state: ApplicationState, now: datetime) -> SupportPacket:
    today = state.today(now)
    details = state.details
    tin = []
    if details.ssn:
        tin.append(MaskedTin(kind="SSN", masked=mask_tin(details.ssn, "SSN")))
    if details.ein:
        tin.append(MaskedTin(kind="EIN", masked=mask_tin(details.ein, "EIN")))
    contractor: PacketContractor | None = None
    contractor_note: str | None = None
    if details.state:
        try:
            mac = enrollment_contractor(state.form, details.state)
        except ValueError as exc:
            contractor_note = str(exc)
        else:
            contractor = PacketContractor(
                jurisdiction=mac.jurisdiction,
                contractor=mac.contractor,
                kind=mac.kind,
                confirmed=mac.confirmed,
                note=mac.note,
            )
    else:
        contractor_note = "No state on file: record it (update_draft) to name the contractor."
    decision = state.decision
    return SupportPacket(
        application_id=state.application_id,
        workflow_id=state.workflow_id,
        organization_id=state.organization_id,
        status=state.status.value,
        allowed_events=allowed_events(state),
        as_of=today,
        generated_at=now,
        identifiers=PacketIdentifiers(
            npi=details.npi,
            ptan=state.ptan or details.existing_ptan,
            web_tracking_id=state.web_tracking_id,
            case_number=state.case_number,
            enrollment_id=state.enrollment_id or details.enrollment_id,
            legal_name=details.legal_name,
            tin=tin,
        ),
        application=PacketApplication(
            form=state.form.value,
            purpose=state.purpose.value,
            state=details.state,
            provider_type=details.provider_type,
            time_zone=state.time_zone,
        ),
        contractor=contractor,
        contractor_note=contractor_note,
        dates=PacketDates(
            created_on=state.today(state.created_at),
            submitted_on=state.submitted_on,
            signatures_completed_on=state.signatures_completed_on,
            mac_receipt_date=state.receipt_date,
            filing_date=state.filing_date,
            fee_requested_on=state.fee_requested_on,
            fee_paid_on=state.fee_paid_on,
            fingerprints_requested_on=state.fingerprints_requested_on,
            fingerprints_received_on=state.fingerprints_received_on,
            approval_date=state.approval_date,
            effective_date=state.effective_date,
            retrospective_billing_from=state.retrospective_billing_from,
            decision=PacketDecision(
                kind=decision.kind,
                on=decision.on,
                grounds=decision.grounds,
                by_engine=decision.by_engine,
            )
            if decision
            else None,
            reconsideration_filed_on=state.reconsideration_filed_on,
            reconsideration_outcome=state.reconsideration_outcome,
        ),
        development_requests=_development_requests(state),
        open_deadlines=[
            _deadline(c, today) for c in sorted(state.clocks, key=lambda c: c.fires_at)
        ],
        open_findings=[
            PacketFinding(
                code=f.code,
                severity=str(f.severity),
                field=f.field,
                message=f.message,
                citation=f.citation,
            )
            for f in state.findings
        ],
        problems=_problems(state),
        recent_events=[
            PacketEvent(
                seq=e.seq,
                event=e.event,
                event_date=e.event_date,
                actor=e.actor,
                role=e.role,
                from_status=e.from_status.value if e.from_status else None,
                to_status=e.to_status.value,
            )
            for e in reversed(state.events[-RECENT_EVENTS:])
        ],
    )


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
                *((f"{t.kind} (last 4)", t.masked) for t in ids.tin),
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
            ["Severity", "Check", "Field", "Message", "Citation"],
            [[f.severity, f.code, f.field, f.message, f.citation] for f in p.open_findings],
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
    summary="Support packet: what to have in hand before calling the MAC or the help desk",
    description=(
        "Read from the application's workflow (always current, not the read model). TIN shown "
        "as its last four digits only; date of birth never. `format=html` answers a printable "
        "page (no external assets). Refused events never enter history and are not listed: see "
        "the API access log."
    ),
    response_model=SupportPacket,
    responses={
        200: {
            "description": "The packet (JSON, or HTML with format=html)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        404: problem_response("No such application"),
        422: problem_response("Not an application id, or an unknown format (names the field)"),
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
    state = await _state(request, application_id)
    packet = build_packet(state, await _now(request))
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
