"""Routing as configuration (models/routing.py, activities/routing.py): recipients by
organisation, provider, role and notice kind; the escalation chain; a bad file named at start."""

from pathlib import Path

import pytest

from activities.routing import load_routes
from models.contracts import NotificationRequest
from models.notices import Notice, NoticeKind
from worker import router_from_settings
from workflows.settings import Settings

FILE = """{
 "people": [
  {"address": "ana@acme.example", "role": "specialist", "organization": "acme",
   "providers": ["1234567893"]},
  {"address": "ben@acme.example", "role": "specialist", "organization": "acme"},
  {"address": "lee@acme.example", "role": "manager", "organization": "acme"},
  {"address": "ops@zeta.example", "role": "specialist", "organization": "zeta"},
  {"address": "hook-billing", "role": "billing", "organization": "acme"}
 ],
 "routes": [
  {"kinds": ["reminder", "consequence"], "roles": ["specialist"],
   "escalate_to": ["manager"], "escalate_days_before": 3},
  {"organization": "acme", "kinds": ["consequence"], "roles": ["manager", "billing"]}
 ]
}"""


def _request(org: str, npi: str | None, kind: NoticeKind) -> NotificationRequest:
    return NotificationRequest(
        workflow_id="w",
        record_kind="application",
        record_id="a",
        organization_id=org,
        npi=npi,
        notice=Notice(key="k", kind=kind, subject="s", body="b", status="x"),
    )


def test_recipients_by_organisation_provider_role_and_kind(tmp_path: Path) -> None:
    path = tmp_path / "routes.json"
    path.write_text(FILE)
    route = router_from_settings(Settings(notify_routes_file=path))
    assert route is not None

    def to(org: str, npi: str | None, kind: NoticeKind) -> list[str]:
        return [r.address for r in route(_request(org, npi, kind))]

    assert to("acme", "1234567893", NoticeKind.REMINDER) == ["ana@acme.example", "ben@acme.example"]
    assert to("acme", "1000000020", NoticeKind.REMINDER) == ["ben@acme.example"]
    assert to("acme", "1000000020", NoticeKind.CONSEQUENCE) == [
        "ben@acme.example",
        "lee@acme.example",
        "hook-billing",
    ]
    assert to("acme", None, NoticeKind.EVENT) == []
    assert to("zeta", None, NoticeKind.REMINDER) == ["ops@zeta.example"]
    days, steps = load_routes(path).escalation("acme", None, NoticeKind.REMINDER)
    assert days == 3 and [[r.address for r in s] for s in steps] == [["lee@acme.example"]]


def test_a_bad_routing_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "routes.json"
    path.write_text('{"routes": [{"kinds": ["reminder"], "roles": []}]}')
    with pytest.raises(ValueError, match=r"routes\.0\.roles: .*at least 1"):
        load_routes(path)
    path.write_text('{"people": [{"address": "a", "role": "r", "organisation": "x"}]}')
    with pytest.raises(ValueError, match=r"people\.0\.organization: Field required"):
        load_routes(path)
    with pytest.raises(ValueError, match="No such file"):
        load_routes(tmp_path / "missing.json")
