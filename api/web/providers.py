"""The provider page: everything the engine holds for one NPI (its applications and its
enrollments), through GET /v1/providers/{npi}'s route function."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.problems import Problem
from api.routes.providers import get_provider
from api.web.pages import render
from api.web.session import Viewer

router = APIRouter(prefix="/app")


@router.get("/providers/{npi}", response_class=HTMLResponse)
async def provider_page(request: Request, npi: str, session: Viewer) -> HTMLResponse:
    try:
        view = await get_provider(request, session.principal, npi)
    except Problem as p:
        return render(
            request, "error.html", session, status_code=p.status, title=p.title, detail=p.detail
        )
    names = {a.legal_name for a in view.applications} | {e.legal_name for e in view.enrollments}
    return render(
        request,
        "provider.html",
        session,
        view=view,
        name=", ".join(sorted(n for n in names if n)) or "(no name on file)",
    )
