"""What a record page lists about a record: its identifiers and key dates, in words."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.responses.applications import ApplicationView
from api.responses.enrollments import EnrollmentView
from models.read_model import NotificationRow

NOTIFICATIONS_SHOWN = 20


def _d(value: date | None) -> str:
    return value.isoformat() if value else "—"


def application_facts(v: ApplicationView) -> list[tuple[str, str]]:
    return [
        ("Provider", v.details.legal_name or "—"),
        ("NPI", v.details.npi or "—"),
        ("Form", f"{v.form} ({v.purpose})"),
        ("Organisation", v.organization_id),
        ("State", v.details.state or "—"),
        ("Web Tracking ID", v.web_tracking_id or "—"),
        ("MAC case number", v.case_number or "—"),
        ("PTAN", v.ptan or "—"),
        ("Enrollment", v.enrollment_id or "—"),
        ("Submitted", _d(v.submitted_on)),
        ("Filing date", _d(v.filing_date)),
        ("Approved", _d(v.approval_date)),
        ("Effective", _d(v.effective_date)),
    ]


def enrollment_facts(v: EnrollmentView) -> list[tuple[str, str]]:
    return [
        ("Provider", v.legal_name or "—"),
        ("NPI", v.npi),
        ("PTAN", v.ptan),
        ("Form", str(v.form)),
        ("Organisation", v.organization_id),
        ("State", v.state),
        ("Status", v.status_text),
        ("Effective", _d(v.current_effective_date)),
        ("Revalidation due", _d(v.revalidation_due_date)),
        ("Revalidation window opens", _d(v.revalidation_window_opens)),
        ("Cycle", str(v.cycle)),
    ]


def recent_notifications(engine: Engine, workflow_id: str) -> list[NotificationRow]:
    """The notifications the engine queued for this record (the outbox in the read model),
    newest first."""
    query = (
        select(NotificationRow)
        .where(col(NotificationRow.workflow_id) == workflow_id)
        .order_by(col(NotificationRow.created_at).desc(), col(NotificationRow.id).desc())
        .limit(NOTIFICATIONS_SHOWN)
    )
    with Session(engine) as s:
        return list(s.exec(query))
