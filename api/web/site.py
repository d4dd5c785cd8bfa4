"""The web application as a whole: its pages and their static files, added to the API's app by ``mount``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import auth_routes, claims_pages, dashboard, energy_pages, fbu_pages, oidc, worklist


def mount(app: FastAPI) -> None:
    """Add the pages at ``/`` and their static files at ``/static`` (front-end packages under ``vendor/``)."""
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (auth_routes, oidc, worklist, fbu_pages, claims_pages, energy_pages, dashboard):
        app.include_router(module.router)
