"""Who hears about what: routing as configuration (the file named by ENROLL_NOTIFY_ROUTES_FILE).

The file lists people (an address, a role, their organisation, and optionally the providers,
by NPI, they look after) and routes (which notice kinds of which organisation go to which
roles, and to whom an unacknowledged deadline escalates, in order, how many days before it).
A notice goes to every person of the record's organisation whose role a matching route names
and who looks after the record's provider (a person with no providers looks after all).

    {"people": [{"address": "ana@acme.example", "role": "specialist",
                 "organization": "acme", "providers": ["1234567893"]},
                {"address": "lee@acme.example", "role": "manager", "organization": "acme"}],
     "routes": [{"kinds": ["reminder", "consequence"], "roles": ["specialist"],
                 "escalate_to": ["manager"], "escalate_days_before": 7}]}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.notices import NoticeKind
from models.notification import Recipient

__all__ = ["Person", "Route", "RoutingTable"]


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str = Field(min_length=1, description="An e-mail address, or a webhook's name.")
    role: str = Field(min_length=1)
    organization: str = Field(min_length=1)
    name: str | None = None
    providers: tuple[str, ...] = Field(
        default=(), description="NPIs this person looks after; empty = every provider."
    )

    def recipient(self) -> Recipient:
        return Recipient(address=self.address, role=self.role, name=self.name)

    def looks_after(self, npi: str | None) -> bool:
        return not self.providers or (npi is not None and npi in self.providers)


class Route(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    organization: str | None = Field(default=None, description="None = every organisation.")
    kinds: tuple[NoticeKind, ...] = Field(default=tuple(NoticeKind), min_length=1)
    roles: tuple[str, ...] = Field(min_length=1)
    # An unacknowledged reminder escalates to these roles, one step at a time, from this many
    # days before its deadline (0 = no escalation).
    escalate_to: tuple[str, ...] = ()
    escalate_days_before: int = Field(default=0, ge=0)

    def matches(self, organization_id: str, kind: NoticeKind) -> bool:
        return self.organization in (None, organization_id) and kind in self.kinds


class RoutingTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    people: tuple[Person, ...] = ()
    routes: tuple[Route, ...] = ()

    def _people(
        self, organization_id: str, npi: str | None, roles: tuple[str, ...]
    ) -> list[Person]:
        return [
            p
            for role in roles
            for p in self.people
            if p.role == role and p.organization == organization_id and p.looks_after(npi)
        ]

    def routed_roles(self, organization_id: str, kind: NoticeKind) -> set[str]:
        return {role for r in self.routes if r.matches(organization_id, kind) for role in r.roles}

    def recipients(
        self, organization_id: str, npi: str | None, kind: NoticeKind
    ) -> tuple[Recipient, ...]:
        """Everyone a notice goes to, each once, in the order of the file."""
        seen: dict[str, Recipient] = {}
        for route in self.routes:
            if route.matches(organization_id, kind):
                for p in self._people(organization_id, npi, route.roles):
                    seen.setdefault(p.address, p.recipient())
        return tuple(seen.values())

    def escalation(
        self, organization_id: str, npi: str | None, kind: NoticeKind
    ) -> tuple[int, tuple[tuple[Recipient, ...], ...]]:
        """(days before the deadline, the steps: each the recipients of the next role)."""
        for route in self.routes:
            if route.matches(organization_id, kind) and route.escalate_to:
                steps = tuple(
                    tuple(p.recipient() for p in self._people(organization_id, npi, (role,)))
                    for role in route.escalate_to
                )
                return route.escalate_days_before, tuple(s for s in steps if s)
        return 0, ()
