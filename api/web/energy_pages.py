"""Energy pages for the OCMW: the new-case form, the case page with its timeline, and the OCMW's steps
(supplier events, prepayment request, LAC, the request to restore minimal supply, winter support, close), run as
the energy API's own updates."""

from __future__ import annotations

import uuid
from typing import Any, get_args

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from api import energy_routes
from api.case_documents import energy_case
from api.updates import Update, run_update, step_name
from api.web import forms
from api.web.core import Page, WebRoute, attempt, is_htmx, page, posted_form
from api.web.fbu_pages import REFUSED_OPENING, nest
from api.web.i18n import refusal, term
from api.web.timeline import layout
from schemas.calendar import brussels_date
from schemas.energy import (
    CloseEnergyCase,
    LacAdvice,
    LacRequest,
    MinimalSupplyRestoreRequest,
    OpenEnergyCase,
    PrepaymentRequest,
    SupplierEvent,
    SupplierEventType,
    WinterSupportApplication,
    WinterSupportDecision,
)
from vangnet.rulebooks.rulebook import load_energy_rule_book
from vangnet.storage import eventstore
from workflows import energy_phases
from workflows.energy_case import EnergyCaseWorkflow
from workflows.energy_ocmw import supplier_trigger

router = APIRouter(route_class=WebRoute, include_in_schema=False)
STEPS: dict[str, tuple[Update, type[BaseModel], tuple[str, ...]]] = {
    "supplier": (EnergyCaseWorkflow.supplier_event, SupplierEvent, ("type", "on")),
    "prepayment": (EnergyCaseWorkflow.request_prepayment, PrepaymentRequest, ("note",)),
    "lac": (EnergyCaseWorkflow.lac_request, LacRequest, ("hearing_on",)),
    "lac-advice": (EnergyCaseWorkflow.lac_advice, LacAdvice, ("advice", "on")),
    "minimal-supply": (EnergyCaseWorkflow.minimal_supply_restore_request, MinimalSupplyRestoreRequest, ("note",)),
    "winter": (EnergyCaseWorkflow.winter_support_apply, WinterSupportApplication,
               ("average_monthly_winter_consumption_eur", "heating")),
    "winter-decision": (EnergyCaseWorkflow.winter_support_decision, WinterSupportDecision, ("decision", "reason")),
    "close": (EnergyCaseWorkflow.close, CloseEnergyCase, ("reason", "note")),
}


def _triggers(step: str) -> list[str]:
    """The phase table's triggers a step can fire (a supplier event has one per kind of event)."""
    if step == "supplier":
        return [supplier_trigger(kind) for kind in get_args(SupplierEventType)]
    return [step_name(STEPS[step][0])]


def allowed_steps(phase: str) -> set[str]:
    """The steps the case's phase table allows now: the page offers no button that must fail."""
    return {step for step in STEPS if any(energy_phases.allows(phase, t) for t in _triggers(step))}


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
            if exc.status_code not in REFUSED_OPENING:
                raise
            errors = {"": refusal(str(exc.detail))}
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
    share = load_energy_rule_book(p.ctx.settings.energy_rules_file).winter_support.topup_share
    return {"case": state, "timeline": timeline, "today": today, "allowed": allowed_steps(state.phase),
            "topup_share": share,
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
    form = await posted_form(request)
    update, model, keep = STEPS[step]
    data = {k: forms.amount(form[k]) if k.endswith("_eur") else form[k] for k in keep if form.get(k)}
    body, errors = forms.validate(model, data)
    flash = None
    if body is not None:
        flash = await attempt(step, run_update(p.ctx.client, case_id, update, body, form.get("idem") or None))
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
