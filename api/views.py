"""What the API shows of a workflow's state: everything an operator needs, sensitive
identifiers masked (the full values stay in the encrypted workflow payloads)."""

from __future__ import annotations

from typing import Any

from models.application import ApplicationState
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
    view["allowed_events"] = state.allowed_events()
    view["filing_date"] = state.filing_date.isoformat() if state.filing_date else None
    for clock, model in zip(view["clocks"], state.clocks, strict=True):
        clock["explanation"] = model.explanation
    return view
