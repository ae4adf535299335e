"""Loads the routing file (models/routing.py) and answers whom a notice goes to."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from activities.notifications import Router
from models.contracts import NotificationRequest
from models.notification import Recipient
from models.routing import RoutingTable

__all__ = ["load_routes", "table_router"]


def load_routes(path: Path) -> RoutingTable:
    """The routing file, validated; a bad file stops the worker at start with the field named
    (a worker that routes nothing would miss deadlines quietly)."""
    try:
        return RoutingTable.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"ENROLL_NOTIFY_ROUTES_FILE {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"ENROLL_NOTIFY_ROUTES_FILE {path}: {where}: {first['msg']}") from None


def table_router(table: RoutingTable) -> Router:
    def route(request: NotificationRequest) -> Sequence[Recipient]:
        return table.recipients(request.organization_id, request.npi, request.notice.kind)

    return route
