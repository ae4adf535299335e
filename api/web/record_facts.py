"""What a record page lists about a record: its identifiers and key dates, in words."""

from __future__ import annotations

from datetime import date

from api.responses.applications import ApplicationView
from api.responses.enrollments import EnrollmentView


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
