"""The operations web app: server-rendered pages for the enrollment team (Today, record pages,
Portfolio, Import), on the same read model, services and API keys as the API. Mounted under
/app by api/app.py; kept out of the OpenAPI document (it is not an API)."""

from __future__ import annotations

from fastapi import APIRouter

from api.web import imports, portfolio, providers, record, sign_in, static_files, support, today

# Each page module has its own /app prefix, so the access log names the full route template.
router = APIRouter(include_in_schema=False)
router.include_router(static_files.router)
router.include_router(sign_in.router)
router.include_router(today.router)
router.include_router(portfolio.router)
router.include_router(imports.router)
router.include_router(providers.router)
router.include_router(support.router)
# Last: its paths (/app/<kind>s/<id>) would otherwise shadow the fixed ones above.
router.include_router(record.router)
