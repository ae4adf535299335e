"""The support packet: what an operator needs in hand before calling the MAC or the help desk,
built from one application's workflow state.

Identifiers (NPI, PTAN, Web Tracking ID, case number), the legal name and the TIN as its last
five digits only (what the MAC's phone verification asks for), the form, the purpose, the MAC
jurisdiction and contractor, the key dates, the development requests and their due dates, every
open deadline with its explanation, the open findings, and the last problems the engine knows of
(its own consequences, decisions, failed checks, failed site visits)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from models.application import ApplicationState, allowed_events
from models.calendar import Clock
from models.checks import Severity
from models.identifiers import SUPPORT_PACKET_TIN_DIGITS
from models.jurisdictions import enrollment_contractor
from models.privacy import mask_tin

RECENT_EVENTS = 10
MAX_PROBLEMS = 10


class MaskedTin(BaseModel):
    kind: Literal["SSN", "EIN"]
    masked: str = Field(
        description="Last five digits only, as the MAC's phone verification asks, e.g. ***-*5-6789"
    )


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
    # The outward checks (exclusion lists, ...): what was compared with, from which file of
    # which date, and the key a disposition names.
    evidence: str | None = None
    source: str | None = None
    source_date: date | None = None
    key: str | None = None


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
        masked = mask_tin(details.ssn, "SSN", shown=SUPPORT_PACKET_TIN_DIGITS)
        tin.append(MaskedTin(kind="SSN", masked=masked))
    if details.ein:
        masked = mask_tin(details.ein, "EIN", shown=SUPPORT_PACKET_TIN_DIGITS)
        tin.append(MaskedTin(kind="EIN", masked=masked))
    contractor: PacketContractor | None = None
    contractor_note: str | None = None
    if details.state:
        try:
            mac = enrollment_contractor(state.form, details.state)
        except ValueError as exc:
            contractor_note = str(exc)
        else:
            contractor = PacketContractor.model_validate(mac, from_attributes=True)
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
            decision=PacketDecision.model_validate(decision, from_attributes=True)
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
                evidence=f.evidence,
                source=f.source,
                source_date=f.source_date,
                key=f.key,
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
