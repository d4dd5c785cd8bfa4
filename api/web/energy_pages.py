"""Energy pages for the OCMW: the new-case form, the case page with its timeline, and the OCMW's steps
(supplier events, prepayment request, LAC, winter support, close), run as the energy API's own updates."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from api import energy_routes
from api.case_documents import energy_case
from api.updates import run_update
from api.web import forms
from api.web.core import Page, WebRoute, is_htmx, page
from api.web.fbu_pages import nest
from api.web.i18n import _, term
from api.web.timeline import layout
from schemas.calendar import brussels_date
from schemas.energy import (
    CloseEnergyCase,
    LacAdvice,
    LacRequest,
    OpenEnergyCase,
    PrepaymentRequest,
    SupplierEvent,
    WinterSupportApplication,
    WinterSupportDecision,
)
from schemas.fbu import StepResult
from vangnet import eventstore

router = APIRouter(route_class=WebRoute, include_in_schema=False)
STEPS: dict[str, tuple[str, type[BaseModel], tuple[str, ...]]] = {
    "supplier": ("supplier_event", SupplierEvent, ("type", "on")),
    "prepayment": ("request_prepayment", PrepaymentRequest, ("note",)),
    "lac": ("lac_request", LacRequest, ("hearing_on",)),
    "lac-advice": ("lac_advice", LacAdvice, ("advice", "on")),
    "winter": ("winter_support_apply", WinterSupportApplication, ("average_winter_consumption_eur", "heating")),
    "winter-decision": ("winter_support_decision", WinterSupportDecision, ("decision", "reason")),
    "close": ("close", CloseEnergyCase, ("reason", "note")),
}
ALLOWED = {"notice_period": {"supplier", "close"}, "awaiting_takeover": {"supplier", "close"},
           "social_supplier": {"supplier", "prepayment", "lac", "lac-advice", "winter", "winter-decision", "close"},
           "prepayment": {"supplier", "lac", "lac-advice", "winter", "winter-decision", "close"}, "closed": set()}
NEW_FIELDS = ("household.name", "household.national_number", "household.address", "household.municipality_nis",
              "ean", "energy", "supplier", "netbeheerder", "notice_of_default_on")


@router.get("/energie/nieuw", response_class=HTMLResponse)
async def new_case_form(request: Request) -> HTMLResponse:
    p = await page(request, "ocmw")
    typed = {"household.municipality_nis": (p.who.org or "")[5:], "energy": "gas"}
    return p.render("energy_new.html", typed=typed, errors={}, idem=uuid.uuid4().hex,
                    netbeheerders=sorted(p.ctx.settings.netbeheerder_urls))


@router.post("/energie/nieuw", response_class=HTMLResponse)
async def new_case(request: Request) -> Response:
    p = await page(request, "ocmw")
    form = await request.form()
    typed = {k: str(form.get(k, "")).strip() for k in NEW_FIELDS}
    data = nest({k: v for k, v in typed.items() if "." in k})
    data |= {k: v for k, v in typed.items() if "." not in k and v}
    body, errors = forms.validate(OpenEnergyCase, data)
    if body is not None:
        try:
            created = await energy_routes.open_case(body, p.who, p.ctx, str(form.get("idem") or "") or None)
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            errors = {"": _(str(exc.detail))}
        else:
            return RedirectResponse(f"/energie/{created.case_id}", status_code=303)
    return p.render("energy_new.html", 422, typed=typed, errors=errors, idem=form.get("idem") or uuid.uuid4().hex,
                    netbeheerders=sorted(p.ctx.settings.netbeheerder_urls))


async def _case_view(p: Page, case_id: str, **extra: Any) -> dict[str, Any]:
    await energy_routes.visible_case(p.ctx, p.who, case_id)
    state = await energy_case(p.ctx, case_id)
    today = await p.ctx.today()
    events = await eventstore.case_events(p.ctx.pool, case_id)
    timeline = layout([(brussels_date(e.occurred_at), term("event", e.type)) for e in events],
                      [(d.due_on, term("deadline", d.kind)) for d in state.deadlines], today)
    return {"case": state, "timeline": timeline, "today": today, "allowed": ALLOWED.get(state.phase, set()),
            "idem": uuid.uuid4().hex, "typed": {}, "errors": {}, "step": None, "flash": None, **extra}


@router.get("/energie/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: str) -> HTMLResponse:
    p = await page(request, "ocmw")
    return p.render("energy_case.html", **await _case_view(p, case_id))


@router.post("/energie/{case_id}/stap/{step}", response_class=HTMLResponse)
async def case_step(request: Request, case_id: str, step: str) -> HTMLResponse:
    p = await page(request, "ocmw")
    if step not in STEPS:
        raise HTTPException(404, "No such step.")
    await energy_routes.owned_by_ocmw(p.ctx, p.who, case_id)
    form = {k: str(v).strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    name, model, keep = STEPS[step]
    data = {k: forms.amount(form[k]) if k.endswith("_eur") else form[k] for k in keep if form.get(k)}
    body, errors = forms.validate(model, data)
    flash = None
    if body is not None:
        try:
            result = await run_update(p.ctx.client, case_id, name, body, StepResult, form.get("idem") or None)
            flash = ("success", term("step", step), term("status", result.status))
        except HTTPException as exc:
            flash = ("error", _("The step was not applied."), _(str(exc.detail)))
    view = await _case_view(p, case_id, typed=form if errors or (flash and flash[0] == "error") else {},
                            errors=errors, step=step, flash=flash)
    return p.render("_energy_case.html" if is_htmx(request) else "energy_case.html",
                    422 if errors and not is_htmx(request) else 200, **view)


@router.post("/energie/{case_id}/persoonsgegevens", response_class=HTMLResponse)
async def personal_data(request: Request, case_id: str) -> HTMLResponse:
    """The household's data on request; the API's own read writes the access log first."""
    p = await page(request, "ocmw")
    household = await energy_routes.household(case_id, p.who, p.ctx)
    return p.render("_energy_household.html", household=household)
