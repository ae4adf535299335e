"""GET /v1/deadlines writes its items as JSON without building the response models: the items
must be exactly what DeadlinesView would serialize (same fields, same formats), or the answer
would drift from the documented schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from api.responses.deadlines import DeadlinesView
from api.routes.deadlines import deadline_item, page_json, standing_item

TODAY = date(2026, 11, 30)
ZONE = "America/New_York"


@dataclass
class Clock:
    """A deadline row as the route's SELECT returns it."""

    deadline_id: str = "enrollment-I20031103000001/revalidation_due-1"
    workflow_id: str = "enrollment-I20031103000001"
    record_kind: str = "enrollment"
    record_id: str = "I20031103000001"
    organization_id: str = "sunrise"
    npi: str | None = "1234567893"
    record_status: str = "active"
    clock_kind: str = "revalidation_due"
    rule_key: str = "revalidation_cycle"
    rule_citation: str = "42 CFR 424.515"
    rule_version: str = "2024-01-01"
    started_on: date = date(2021, 3, 1)
    last_day: date = date(2026, 12, 31)
    fires_at: datetime = datetime(2027, 1, 1, 5, tzinfo=UTC)
    explanation: str = "Revalidation due 2026-12-31 — every 5 years (42 CFR 424.515)."


@dataclass
class Stayed:
    """An enrollment row that needs action now."""

    workflow_id: str = "enrollment-I20031103000002"
    enrollment_id: str = "I20031103000002"
    status: str = "stayed"
    legal_name: str | None = "Ann Example"
    organization_id: str = "sunrise"
    npi: str | None = None
    action_since: date | None = date(2026, 11, 2)
    action_required: str | None = "Revalidate now: billing is stayed."


def test_items_are_what_the_response_model_serializes() -> None:
    page = {
        "today": TODAY.isoformat(),
        "time_zone": ZONE,
        "within_days": None,
        "items": [
            standing_item(Stayed(), TODAY, ZONE),
            deadline_item(Clock(), "Ann Example", TODAY),
            deadline_item(Clock(npi=None), None, TODAY),
            # An instant with microseconds (the writer formats it, not isoformat()).
            deadline_item(
                Clock(fires_at=datetime(2027, 1, 1, 5, 0, 7, 1234, tzinfo=UTC)), None, TODAY
            ),
            # Text JSON must escape, and text it must not (the writer is not pydantic's).
            deadline_item(
                Clock(explanation='A "quoted" \\ tab\t nul\x00 \x7f é 😀 \u2028'), None, TODAY
            ),
        ],
        "truncated": False,
    }
    written = page_json(page)
    model = DeadlinesView.model_validate(page)
    assert written == model.model_dump_json().encode()
    items = json.loads(written)["items"]
    assert items[0]["fires_at"] == "2026-11-02T00:00:00-05:00"  # the day began in New York
    assert items[1]["fires_at"] == "2027-01-01T05:00:00+00:00"
    assert items[3]["fires_at"] == "2027-01-01T05:00:07.001234+00:00"
    assert items[1]["days_left"] == 31 and items[1]["rule"]["citation"] == "42 CFR 424.515"
