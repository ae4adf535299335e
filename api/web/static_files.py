"""The web app's own CSS and JavaScript, served from the package (nothing from a CDN)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from api.problems import Problem

router = APIRouter(prefix="/app")

MEDIA_TYPES = {"app.css": "text/css", "app.js": "text/javascript"}


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    media_type = MEDIA_TYPES.get(name)
    if media_type is None:
        raise Problem(404, "Unknown file", f"The web app has no file '{name}'.", kind="not-found")
    body = resources.files("api.web").joinpath("static", name).read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "max-age=3600"})
