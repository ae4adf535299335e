"""The SQL read model: tables that serve lists, deadlines and reports fast.

Written only by projection activities from workflow state, so it can always be rebuilt from
Temporal. Holds no SSN, EIN or date of birth. Every row carries its organisation so roles can be
scoped to organisations without migrating tables. `projected_seq` makes projections monotonic:
a late or retried projection of an older state never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import DateTime, Index
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from models.application import ApplicationState
from models.calendar import Clock, ClockKind
from models.contracts import NotificationRequest, RecordKind
from models.enrollment import EnrollmentState, standing
from models.jurisdictions import enrollment_contractor
from models.records import EventRecord


class UtcDateTime(TypeDecorator[datetime]):
    """An instant stored as UTC and always read back timezone-aware.

    PostgreSQL stores it as `timestamptz`. SQLite has no time zones: the UTC wall time is stored
    and UTC is attached again on read, so both databases return the same aware datetimes (a naive
    value is taken to be UTC already: `workflow.now()` is aware and UTC).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ApplicationRowData(SQLModel):
    """The columns of an application row as a plain, validating pydantic model: the payload the
    projection activity receives (it round-trips through JSON with its types intact)."""

    application_id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(index=True, max_length=100)
    organization_id: str = Field(index=True, max_length=64)
    form: str = Field(index=True, max_length=16)
    purpose: str = Field(max_length=32)
    status: str = Field(index=True, max_length=32)
    npi: str | None = Field(default=None, index=True, max_length=10)
    legal_name: str | None = Field(default=None, max_length=300)
    state: str | None = Field(default=None, index=True, max_length=2)
    mac_jurisdiction: str | None = Field(default=None, index=True, max_length=16)
    web_tracking_id: str | None = Field(default=None, max_length=50)
    case_number: str | None = Field(default=None, max_length=50)
    ptan: str | None = Field(default=None, max_length=50)
    enrollment_id: str | None = Field(default=None, max_length=15)
    submitted_on: date | None = None
    receipt_date: date | None = None
    approval_date: date | None = None
    effective_date: date | None = None
    next_deadline: date | None = Field(default=None, index=True)
    next_deadline_kind: str | None = Field(default=None, max_length=40)
    open_findings: int = 0
    # Who works on it (event assigned) and the day it entered its current status.
    assignee: str | None = Field(default=None, index=True, max_length=200)
    status_since: date | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(index=True, sa_type=UtcDateTime)
    projected_seq: int = 0


class ApplicationRow(ApplicationRowData, table=True):
    __tablename__ = "application"
    # The list's keyset order (api/reads.py), overall and within an organisation.
    __table_args__ = (
        Index("ix_application_updated_at_application_id", "updated_at", "application_id"),
        Index("ix_application_organization_id_updated_at", "organization_id", "updated_at"),
    )


class DeadlineRow(SQLModel, table=True):
    """One open clock of one workflow: the morning screen is `ORDER BY last_day`."""

    __tablename__ = "deadline"
    # An organisation's morning screen: its deadlines by last day.
    __table_args__ = (Index("ix_deadline_organization_id_last_day", "organization_id", "last_day"),)

    deadline_id: str = Field(primary_key=True, max_length=200)  # "<workflow_id>/<clock_id>"
    workflow_id: str = Field(index=True, max_length=100)
    record_kind: str = Field(max_length=16)
    record_id: str = Field(index=True, max_length=64)
    organization_id: str = Field(index=True, max_length=64)
    npi: str | None = Field(default=None, index=True, max_length=10)
    record_status: str = Field(max_length=32)
    clock_kind: str = Field(max_length=40)
    rule_key: str = Field(max_length=60)
    rule_citation: str = Field(max_length=300)
    rule_version: str = Field(max_length=40)
    started_on: date
    last_day: date = Field(index=True)
    fires_at: datetime = Field(sa_type=UtcDateTime)
    explanation: str


class OutboxState(StrEnum):
    """Where a notice is on its way out (activities/notifications.py):

    pending -> claimed -> sent, or claimed -> pending again (a delivery that failed and will be
    retried), or claimed -> failed (the channel refused it for good; an operator looks). A
    claimed row whose lease has run out is claimed again: its deliverer died between delivering
    and marking, so the notice may go out a second time, with the same delivery id."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"


class NotificationRow(SQLModel, table=True):
    """The notification outbox: one row per notice, keyed by its deterministic `idempotency_key`
    (unique), which every delivery carries as its id so a receiver can drop a repeat."""

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=300)
    workflow_id: str = Field(index=True, max_length=100)
    record_kind: str = Field(max_length=16)
    record_id: str = Field(max_length=64)
    organization_id: str = Field(index=True, max_length=64)
    npi: str | None = Field(default=None, max_length=10)
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=500)
    body: str
    record_status: str = Field(max_length=32)
    clock_id: str | None = Field(default=None, max_length=80)
    due_date: date | None = None
    channel: str = Field(default="log", max_length=16)
    created_at: datetime = Field(sa_type=UtcDateTime)
    # When it was sent (state sent); None before.
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    state: str = Field(default=OutboxState.PENDING.value, index=True, max_length=8)
    # Who holds the claim (an activity: workflow id/run id/activity id, the same across its
    # retries) and until when; another deliverer may take the row over only after that.
    claimed_by: str | None = Field(default=None, max_length=300)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    attempts: int = 0  # deliveries started
    last_error: str | None = Field(default=None, max_length=500)  # never a value, see database.py


class NotificationAckRow(SQLModel, table=True):
    """Someone read a notice and is on it (POST /v1/notifications/{id}/ack): its deadline no
    longer escalates (activities/notification_sweep.py). One row per notice, first one wins."""

    __tablename__ = "notification_ack"

    idempotency_key: str = Field(primary_key=True, max_length=300)
    acknowledged_at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(max_length=200)
    role: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=2000)


class DeadlineProjection(BaseModel):
    model_config = ConfigDict(frozen=True)

    clock_id: str
    clock_kind: str
    rule_key: str
    rule_citation: str
    rule_version: str
    started_on: date
    last_day: date
    fires_at: datetime
    explanation: str


class ApplicationProjection(BaseModel):
    """Input of the projection activity: the row plus its open deadlines, no PII."""

    model_config = ConfigDict(frozen=True)

    row: ApplicationRowData
    record_kind: RecordKind = "application"
    deadlines: list[DeadlineProjection]
    seq: int

    @property
    def record_id(self) -> str:
        return self.row.application_id


def _deadline_clocks(clocks: list[Clock]) -> list[Clock]:
    # The late-recording grace is the engine's own bookkeeping, not a deadline for anyone.
    return [c for c in clocks if c.kind != ClockKind.LATE_RECORDING]


def _deadlines(clocks: list[Clock]) -> list[DeadlineProjection]:
    return [
        DeadlineProjection(
            clock_id=c.clock_id,
            clock_kind=c.kind.value,
            rule_key=c.rule.key.value,
            rule_citation=c.rule.citation,
            rule_version=c.rule.version,
            started_on=c.started_on,
            last_day=c.last_day,
            fires_at=c.fires_at,
            explanation=c.explanation,
        )
        for c in clocks
    ]


def status_since(events: Sequence[EventRecord[Any]], otherwise: date) -> date:
    """The day the record entered its current status: the date of the last logged event that
    changed it (bookkeeping and other same-status events do not), else `otherwise` (for the
    line that created the record, too: an imported enrollment is active since its effective
    date, not since it was imported)."""
    for record in reversed(events):
        if record.from_status is None:
            break
        if record.from_status != record.to_status:
            when: date = record.event_date
            return when
    return otherwise


def parse_billing_gaps(value: str | None) -> list[tuple[date, date]]:
    """The (first, last) days of an enrollment row's billing gaps."""
    pairs = (p.split("/", 1) for p in (value or "").split())
    return [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in pairs]


def application_projection(state: ApplicationState) -> ApplicationProjection:
    mac: str | None = None
    if state.details.state:
        mac = enrollment_contractor(state.form, state.details.state).jurisdiction
    clocks = _deadline_clocks(state.clocks)
    soonest = min(clocks, key=lambda c: c.last_day, default=None)
    row = ApplicationRowData(
        application_id=state.application_id,
        workflow_id=state.workflow_id,
        organization_id=state.organization_id,
        form=state.form.value,
        purpose=state.purpose.value,
        status=state.status.value,
        npi=state.details.npi,
        legal_name=state.details.legal_name,
        state=state.details.state,
        mac_jurisdiction=mac,
        web_tracking_id=state.web_tracking_id,
        case_number=state.case_number,
        ptan=state.ptan,
        enrollment_id=state.enrollment_id,
        submitted_on=state.submitted_on,
        receipt_date=state.receipt_date,
        approval_date=state.approval_date,
        effective_date=state.effective_date,
        next_deadline=soonest.last_day if soonest else None,
        next_deadline_kind=soonest.kind.value if soonest else None,
        open_findings=len(state.findings),
        assignee=state.assignee,
        status_since=status_since(state.events, state.today(state.created_at)),
        created_at=state.created_at,
        updated_at=state.updated_at,
        projected_seq=len(state.events),
    )
    return ApplicationProjection(row=row, deadlines=_deadlines(clocks), seq=len(state.events))


class EnrollmentRowData(SQLModel):
    """The columns of an enrollment row (no PII: NPI and PTAN are public identifiers)."""

    enrollment_id: str = Field(primary_key=True, max_length=15)
    workflow_id: str = Field(index=True, max_length=100)
    organization_id: str = Field(index=True, max_length=64)
    npi: str = Field(index=True, max_length=10)
    ptan: str = Field(max_length=50)
    form: str = Field(index=True, max_length=16)
    legal_name: str | None = Field(default=None, max_length=300)
    state: str = Field(index=True, max_length=2)
    mac_jurisdiction: str | None = Field(default=None, index=True, max_length=16)
    status: str = Field(index=True, max_length=32)
    # Stayed, deactivated or revocation pending: since when, and what to do (the deadlines
    # screen puts these first).
    action_since: date | None = Field(default=None, index=True)
    action_required: str | None = None
    # A revocation's effective date and re-enrollment bar (an initial application for the NPI
    # is refused while it runs).
    revoked_effective: date | None = None
    barred_through: date | None = None
    cycle: int = 1
    effective_date: date
    revalidation_due_date: date | None = Field(default=None, index=True)
    next_deadline: date | None = Field(default=None, index=True)
    next_deadline_kind: str | None = Field(default=None, max_length=40)
    open_clocks: int = 0
    unbillable_days: int = 0
    # Who works on it (event assigned) and the day it entered its current status.
    assignee: str | None = Field(default=None, index=True, max_length=200)
    status_since: date | None = Field(default=None, index=True)
    # Its billing gaps as "first/last" ISO day pairs ("2026-01-01/2026-02-14"), space-separated:
    # the portfolio sums the part of each inside any period. Few enrollments have one.
    billing_gaps: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(index=True, sa_type=UtcDateTime)
    projected_seq: int = 0


class EnrollmentRow(EnrollmentRowData, table=True):
    __tablename__ = "enrollment"
    __table_args__ = (
        Index("ix_enrollment_updated_at_enrollment_id", "updated_at", "enrollment_id"),
        Index("ix_enrollment_organization_id_updated_at", "organization_id", "updated_at"),
    )


class EnrollmentProjection(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: EnrollmentRowData
    record_kind: RecordKind = "enrollment"
    deadlines: list[DeadlineProjection]
    seq: int

    @property
    def record_id(self) -> str:
        return self.row.enrollment_id


def enrollment_projection(state: EnrollmentState) -> EnrollmentProjection:
    clocks = _deadline_clocks(state.clocks)
    soonest = min(clocks, key=lambda c: c.last_day, default=None)
    needs = standing(state)
    revocation = state.revocation if state.revocation and not state.revocation.reversed_on else None
    row = EnrollmentRowData(
        enrollment_id=state.enrollment_id,
        workflow_id=state.workflow_id,
        organization_id=state.organization_id,
        npi=state.npi,
        ptan=state.ptan,
        form=state.form.value,
        legal_name=state.legal_name,
        state=state.state,
        mac_jurisdiction=enrollment_contractor(state.form, state.state).jurisdiction,
        status=state.status.value,
        action_since=needs.since if needs else None,
        action_required=needs.action if needs else None,
        revoked_effective=revocation.effective_date if revocation else None,
        barred_through=revocation.barred_through if revocation else None,
        cycle=state.cycle,
        effective_date=state.current_effective_date,
        revalidation_due_date=state.revalidation_due_date,
        next_deadline=soonest.last_day if soonest else None,
        next_deadline_kind=soonest.kind.value if soonest else None,
        open_clocks=len(clocks),
        unbillable_days=sum(g.days for g in state.gaps),
        assignee=state.assignee,
        status_since=status_since(state.events, state.status_since or state.effective_date),
        # The latest 80 fit the column (each pair is 21 characters and a space).
        billing_gaps=" ".join(f"{g.deactivated_from}/{g.through}" for g in state.gaps[-80:])
        or None,
        created_at=state.created_at,
        updated_at=state.updated_at,
        projected_seq=state.seq,
    )
    return EnrollmentProjection(row=row, deadlines=_deadlines(clocks), seq=state.seq)


# --- The side-effect round (activities/effects.py) -----------------------------------------------
# One drain round's projection and notices in one activity, instead of one activity each.

RECORD_EFFECTS = "record_effects"


class EffectsRound(BaseModel):
    """What one round owes the read model: the record's latest projection (at most one of the
    two kinds) and the notices due, in their order."""

    model_config = ConfigDict(frozen=True)

    application: ApplicationProjection | None = None
    enrollment: EnrollmentProjection | None = None
    notices: list[NotificationRequest] = Field(default_factory=list)
    # The round's attempts (workflows/effects.py ROUND_RETRY): an attempt before the last raises
    # on a passing failure, so the quick retries absorb a blip; the last one reports each
    # effect's failure instead, so only the effects that failed become incidents.
    attempts: int = Field(ge=1)


class EffectFailure(BaseModel):
    """One effect of a round that failed: its queue key ("projection", "notice:<key>") and the
    failure as an incident tells it (no values)."""

    model_config = ConfigDict(frozen=True)

    key: str
    error_type: str
    message: str


class EffectsOutcome(BaseModel):
    """What a round did: every effect not named in `failures` is done. `delivered` names the
    notices (their keys) this round delivered; the others were delivered before (a replayed or
    carried notice), as record_notification's False said (the audit timeline shows it)."""

    model_config = ConfigDict(frozen=True)

    failures: list[EffectFailure] = Field(default_factory=list)
    delivered: list[str] = Field(default_factory=list)
