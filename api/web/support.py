"""The printable support packet of an application (what to have in hand before calling the
MAC), through GET /v1/applications/{id}/support's route function, for a signed-in user."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.problems import Problem
from api.routes.support import APPLICATION_ID_PATTERN, support_packet
from api.web.pages import render
from api.web.session import Viewer

router = APIRouter(prefix="/app")


@router.get("/applications/{application_id}/support")
async def support_page(request: Request, application_id: str, session: Viewer) -> Response:
    try:
        if not re.fullmatch(APPLICATION_ID_PATTERN, application_id):
            raise Problem(
                404, "Unknown application", "That is not an application id.", kind="not-found"
            )
        page: Response = await support_packet(
            request, Response(), session.principal, application_id, "html"
        )
    except Problem as p:
        return render(
            request, "error.html", session, status_code=p.status, title=p.title, detail=p.detail
        )
    return page
