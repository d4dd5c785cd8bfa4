"""The web application for social workers, claim handlers and coordinators: Dutch pages served by the API's app.

Every page reads the same read models and runs the same steps (Temporal updates) as the JSON API; nothing here
has a second path to the data. ``mount`` is the only thing ``api.app`` needs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def mount(app: FastAPI) -> None:
    """Add the pages at ``/`` and their static files at ``/static`` (front-end packages under ``vendor/``)."""
    from api.web import auth_routes, claims_pages, dashboard, energy_pages, fbu_pages, oidc, worklist

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (auth_routes, oidc, worklist, fbu_pages, claims_pages, energy_pages, dashboard):
        app.include_router(module.router)
