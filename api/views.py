"""What the API shows of a workflow's state: everything an operator needs, sensitive
identifiers masked (the full values stay in the encrypted workflow payloads)."""

from __future__ import annotations

from typing import Any

from models.application import ApplicationState, allowed_events
from models.enrollment import EnrollmentState, reenrollment_bar
from models.enrollment import allowed_events as enrollment_allowed_events
from models.identifiers import mask_tin


def application_view(state: ApplicationState) -> dict[str, Any]:
    view = state.model_dump(mode="json")
    details = view["details"]
    if details.get("ssn"):
        details["ssn"] = mask_tin(details["ssn"], "SSN")
    if details.get("ein"):
        details["ein"] = mask_tin(details["ein"], "EIN")
    if details.get("date_of_birth"):
        details["date_of_birth"] = "[REDACTED]"
    view["workflow_id"] = state.workflow_id
    view["allowed_events"] = allowed_events(state)
    view["filing_date"] = state.filing_date.isoformat() if state.filing_date else None
    for clock, model in zip(view["clocks"], state.clocks, strict=True):
        clock["explanation"] = model.explanation
    return view


def enrollment_view(state: EnrollmentState) -> dict[str, Any]:
    """An enrollment as the API shows it: the state, each open clock with its explanation, the
    events allowed now, the revalidation window and the re-enrollment bar (None unless revoked).
    NPI and PTAN are public identifiers; an enrollment holds no TIN."""
    view = state.model_dump(mode="json")
    view["workflow_id"] = state.workflow_id
    view["allowed_events"] = enrollment_allowed_events(state)
    opens = state.revalidation_window_opens
    view["revalidation_window_opens"] = opens.isoformat() if opens else None
    for clock, model in zip(view["clocks"], state.clocks, strict=True):
        clock["explanation"] = model.explanation
    bar = reenrollment_bar(state)
    view["reenrollment_bar"] = bar.model_dump(mode="json") if bar else None
    return view
