"""FBU pages for the OCMW: the new-case form, the case page and its steps.

Opening a case calls the API's own ``open_case``; each step runs the same Temporal update as the API's step route
(ownership check, then ``run_update`` with the form's idempotency key), and the page is the case document the API
answers with. A step posted by htmx answers the case part of the page only.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from api import claims_routes, fbu_routes, sharing_routes
from api.case_documents import fbu_case
from api.sharing_routes import ConsentIn
from api.updates import Update, run_update, step_name
from api.web import forms
from api.web.core import Page, WebRoute, attempt, is_htmx, page, posted_form
from api.web.i18n import _, day, euro, percent, refusal, term
from api.web.timeline import layout
from schemas.calendar import add_months, brussels_date
from schemas.common import NoRuleSetError
from schemas.fbu import (
    PARTIES,
    CaseStatus,
    CloseCase,
    DeclareStableHousing,
    DraftAgreement,
    OpenFbuCase,
    RecordRepayment,
    RefuseSignature,
    ResubmitClaim,
    SignAgreement,
)
from schemas.fbu_rules import landlord_payment_cap_on, landlord_payment_guideline, select_rule_set
from schemas.money import round_cents
from vangnet.rulebooks.rulebook import load_fbu_rule_book
from vangnet.storage import eventstore
from workflows import fbu_status
from workflows.fbu_case import FbuCaseWorkflow

router = APIRouter(route_class=WebRoute, include_in_schema=False)
STEPS: dict[str, tuple[Update, type[BaseModel]]] = {
    "overeenkomst": (FbuCaseWorkflow.draft_agreement, DraftAgreement),
    "handtekening": (FbuCaseWorkflow.sign, SignAgreement), "weigering": (FbuCaseWorkflow.refuse, RefuseSignature),
    "afbetaling": (FbuCaseWorkflow.record_repayment, RecordRepayment),
    "stabiel": (FbuCaseWorkflow.declare_stable_housing, DeclareStableHousing),
    "afsluiten": (FbuCaseWorkflow.close, CloseCase),
}


def allowed_steps(status: CaseStatus) -> set[str]:
    """The steps the case's status table allows now: the page offers no button that must fail."""
    return {step for step, (update, _) in STEPS.items() if fbu_status.allows(status, step_name(update))}


# ---- new case ---------------------------------------------------------------------------------------------

NEW_FIELDS = ("tenant.name", "tenant.national_number", "tenant.iban", "landlord.name", "landlord.iban",
              "dwelling.address", "dwelling.municipality_nis", "dwelling.rental_market", "dwelling.monthly_rent",
              "arrears.amount", "arrears.since")
AMOUNTS = {"dwelling.monthly_rent", "arrears.amount"}
# The API's refusals of a well-formed opening (another municipality 403, a rule 409, the data 422): shown on the
# form with what was typed, not as an error page.
REFUSED_OPENING = (403, 409, 422)


def nest(flat: dict[str, str]) -> dict[str, Any]:
    """``{"tenant.name": "x"}`` -> ``{"tenant": {"name": "x"}}``; empty fields are left out (pydantic says missing)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value == "":
            continue
        head, _, tail = key.partition(".")
        out.setdefault(head, {})[tail] = value
    return out


@router.get("/fbu/nieuw", response_class=HTMLResponse)
async def new_case_form(request: Request) -> HTMLResponse:
    p = await page(request, "ocmw")
    typed = {"dwelling.municipality_nis": (p.who.org or "")[5:], "dwelling.rental_market": "private"}
    return p.render("fbu_new.html", typed=typed, errors={}, idem=uuid.uuid4().hex)


@router.post("/fbu/nieuw", response_class=HTMLResponse)
async def new_case(request: Request) -> Response:
    p = await page(request, "ocmw")
    form = await request.form()
    typed = {k: str(form.get(k, "")).strip() for k in NEW_FIELDS}
    data = {k: forms.amount(v) if k in AMOUNTS else v for k, v in typed.items()}
    body, errors = forms.validate(OpenFbuCase, nest(data))
    if body is not None:
        try:
            created = await fbu_routes.open_case(body, p.who, p.ctx, str(form.get("idem") or "") or None)
        except HTTPException as exc:
            if exc.status_code not in REFUSED_OPENING:
                raise
            errors = {"": refusal(str(exc.detail))}
        else:
            return RedirectResponse(f"/fbu/{created.case_id}", status_code=303)
    return p.render("fbu_new.html", 422, typed=typed, errors=errors, idem=form.get("idem") or uuid.uuid4().hex)


# ---- case page ----------------------------------------------------------------------------------------------


async def _case_view(p: Page, case_id: str, **extra: Any) -> dict[str, Any]:
    await fbu_routes.owned_case(p.ctx, p.who, case_id)
    state = await fbu_case(p.ctx, case_id)
    today = await p.ctx.today()
    events = await eventstore.case_events(p.ctx.pool, case_id)
    timeline = layout([(brussels_date(e.occurred_at), term("event", e.type)) for e in events],
                      [(d.due_on, term("deadline", d.kind)) for d in state.deadlines], today)
    signed = {s.party for s in state.agreement.signatures} if state.agreement else set()
    rejected = {x.claim_id for x in state.payouts if x.status == "rejected"}
    return {"rejected": [await claims_routes._claim(p.ctx, claim_id) for claim_id in sorted(rejected)],
            "consents": await sharing_routes.consents(case_id, p.who, p.ctx),
            "case": state, "timeline": timeline, "events": events, "today": today,
            "allowed": allowed_steps(state.status), "unsigned": [x for x in PARTIES if x not in signed],
            "computations": computations(p, state.arrears_amount, [x.model_dump() for x in state.payouts]),
            "guideline": landlord_guideline(p, state.arrears_amount, state.rule_set_id, today),
            "agreement_guideline": landlord_guideline(
                p, state.arrears_amount, state.rule_set_id,
                state.agreement.in_force_on or today if state.agreement else today),
            "idem": uuid.uuid4().hex, "typed": {}, "errors": {},
            "step": None, "flash": None, **extra}


def computations(p: Page, arrears: Decimal, payouts: list[Any]) -> dict[str, str]:
    """How each payout was computed, from the rule set recorded on it (the case's and the claim's read models store
    its id and the amount): ``45% × 2.400,00 = 1.080,00; plafond 1.185,00; regelset fbu-2022``."""
    book = load_fbu_rule_book(p.ctx.settings.fbu_rules_file)
    sets = {s.id: s for s in book.rule_sets}
    out = {}
    for payout in payouts:
        kind, rule_set_id, amount = payout["kind"], payout.get("rule_set_id"), Decimal(str(payout["amount"]))
        rule_set = sets.get(rule_set_id or "")
        if rule_set is None:
            out[kind] = _("rule set %(id)s") % {"id": rule_set_id}
            continue
        if kind == "forfait":
            text = _("fixed amount %(amount)s") % {"amount": euro(rule_set.forfait)}
        else:
            pct, cap = ((rule_set.tranche_1_pct, rule_set.tranche_1_cap) if kind == "tranche_1"
                        else (rule_set.tranche_2_pct, rule_set.tranche_2_cap))
            raw = round_cents(arrears * pct)
            text = f"{percent(pct)} × {euro(arrears)} = {euro(raw)}"
            if cap is not None:
                text += "; " + _("cap %(cap)s") % {"cap": euro(cap)}
                if raw > cap:
                    text += " → " + euro(amount)
        out[kind] = text + "; " + _("rule set %(id)s") % {"id": rule_set_id}
    return out


def landlord_guideline(p: Page, arrears: Decimal, rule_set_id: str | None, on: date) -> str | None:
    """The guideline for the OCMW's payment to the landlord, beside the amount it chooses: the rule set's share of
    the arrears, capped by the cap in force on ``on`` (the signing day; today while drafting). The submission day's
    set once claimed, before it today's (the share is the same in every set of the book)."""
    book = load_fbu_rule_book(p.ctx.settings.fbu_rules_file)
    try:
        rules = next((r for r in book.rule_sets if r.id == rule_set_id), None) or select_rule_set(book, on)
        cap = landlord_payment_cap_on(book, on)
    except NoRuleSetError:
        return None
    amount = landlord_payment_guideline(book, rules, arrears, on)
    return _("Guideline: %(pct)s of the arrears (€ %(raw)s), at most € %(cap)s (cap in force since %(since)s): "
             "€ %(amount)s.") % {"pct": percent(rules.landlord_payment_pct),
                                 "raw": euro(round_cents(arrears * rules.landlord_payment_pct)),
                                 "cap": euro(cap.cap), "since": day(cap.valid_from), "amount": euro(amount)}


@router.get("/fbu/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: str) -> HTMLResponse:
    p = await page(request, "ocmw")
    return p.render("fbu_case.html", **await _case_view(p, case_id))


@router.post("/fbu/{case_id}/stap/{step}", response_class=HTMLResponse)
async def case_step(request: Request, case_id: str, step: str) -> HTMLResponse:
    p = await page(request, "ocmw")
    if step not in STEPS:
        raise HTTPException(404, "No such step.")
    await fbu_routes.owned_case(p.ctx, p.who, case_id)
    form = await posted_form(request)
    update, model = STEPS[step]
    data, errors = await _body(p, case_id, step, form)
    body, more = forms.validate(model, data) if not errors else (None, {})
    errors |= {_field(step, k): v for k, v in more.items()}
    flash = None
    if body is not None:
        flash = await attempt(step, run_update(p.ctx.client, case_id, update, body, form.get("idem") or None))
        if flash[0] == "success":
            form = {}
    view = await _case_view(p, case_id, typed=form if flash is None or flash[0] == "error" else {},
                            errors=errors, step=step, flash=flash)
    return p.render("_fbu_case.html" if is_htmx(request) else "fbu_case.html",
                    422 if errors and not is_htmx(request) else 200, **view)


def _field(step: str, loc: str) -> str:
    """Where a step's refusal is shown: the plan's lines belong to the instalment fields of the form."""
    return "months" if step == "overeenkomst" and loc.startswith("plan") else loc


async def _body(p: Page, case_id: str, step: str, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The step's API body from the form; the agreement form asks for a first date and a number of months and
    spreads what the landlord payment leaves of the arrears over them (the API checks the result)."""
    if step == "overeenkomst":
        state = await fbu_case(p.ctx, case_id)
        errors: dict[str, str] = {}
        try:
            payment = Decimal(forms.amount(form.get("landlord_payment", "")))
        except InvalidOperation:
            errors["landlord_payment"] = _(forms.BY_TYPE["decimal_parsing"])
        months = int(form["months"]) if form.get("months", "").isdigit() else 0
        if not 1 <= months <= 120:
            errors["months"] = _("Give a number of months between 1 and 120.")
        try:
            first = date.fromisoformat(form.get("first_due", ""))
        except ValueError:
            errors["first_due"] = _(forms.BY_TYPE["date_parsing"])
        if errors:
            return {}, errors
        rest = state.arrears_amount - payment
        each = round_cents(rest / months)
        plan = [{"due_on": add_months(first, i).isoformat(),
                 "amount": str(each if i < months - 1 else rest - each * (months - 1))} for i in range(months)]
        return {"landlord_payment": str(payment), "plan": plan}, {}
    if step == "afbetaling":
        return {"amount": forms.amount(form.get("amount", "")), "paid_on": form.get("paid_on", "")}, {}
    keep = {"handtekening": ("party", "evidence", "signed_on"), "weigering": ("party", "reason"),
            "stabiel": ("reason",), "afsluiten": ("reason", "note")}[step]
    return {k: form[k] for k in keep if form.get(k)}, {}


@router.post("/fbu/{case_id}/aanvraag/{claim_id}/opnieuw", response_class=HTMLResponse)
async def resubmit(request: Request, case_id: str, claim_id: str) -> HTMLResponse:
    """Resubmit a claim Wonen-Vlaanderen rejected, with what was corrected (the claims API's own step)."""
    p = await page(request, "ocmw")
    await fbu_routes.owned_case(p.ctx, p.who, case_id)
    form = await posted_form(request)
    body, errors = forms.validate(ResubmitClaim, {"comment": form.get("comment", "")})
    flash = None
    if body is not None:
        flash = await attempt("resubmit", claims_routes.resubmit(claim_id, body, p.who, p.ctx,
                                                                 form.get("idem") or None))
    view = await _case_view(p, case_id, typed=form if errors else {}, errors=errors, step="opnieuw", flash=flash)
    return p.render("_fbu_case.html" if is_htmx(request) else "fbu_case.html", **view)


@router.post("/fbu/{case_id}/toestemming", response_class=HTMLResponse)
async def record_consent(request: Request, case_id: str) -> HTMLResponse:
    """Record that the person gives or withdraws consent for a purpose (the consent API's own step; a sharing
    policy that requires consent reads the latest record)."""
    p = await page(request, "ocmw")
    await fbu_routes.owned_case(p.ctx, p.who, case_id)
    form = await posted_form(request)
    data = {"purpose": form.get("purpose", ""), "given": form.get("given") == "yes", "note": form.get("note") or None}
    body, errors = forms.validate(ConsentIn, data)
    flash = None
    if body is not None:
        await sharing_routes.record_consent(case_id, body, p.who, p.ctx)
        flash = ("success", _("Consent recorded"), _("consent:yes") if body.given else _("consent:no"))
    view = await _case_view(p, case_id, typed=form if errors else {}, errors=errors, step="toestemming", flash=flash)
    return p.render("_fbu_case.html" if is_htmx(request) else "fbu_case.html",
                    422 if errors and not is_htmx(request) else 200, **view)


# ---- personal data and documents -------------------------------------------------------------------------


@router.post("/fbu/{case_id}/persoonsgegevens", response_class=HTMLResponse)
async def personal_data(request: Request, case_id: str) -> HTMLResponse:
    """Shown only on request; the read is written to the access log (who, case, purpose, fields) first."""
    p = await page(request, "ocmw")
    await fbu_routes.owned_case(p.ctx, p.who, case_id)
    parties = await fbu_routes._parties(
        p.ctx, case_id, p.who, "POST /fbu/{id}/persoonsgegevens",
        ["tenant.name", "tenant.national_number", "tenant.iban", "landlord.name", "landlord.iban",
         "dwelling.address"])
    return p.render("_fbu_parties.html", parties=parties, case_id=case_id)


@router.get("/fbu/{case_id}/overeenkomst.pdf")
async def agreement_pdf(request: Request, case_id: str) -> Response:
    p = await page(request, "ocmw")
    return await fbu_routes.agreement_pdf(case_id, p.who, p.ctx)


@router.get("/fbu/{case_id}/brief-vredegerecht.pdf")
async def letter_pdf(request: Request, case_id: str) -> Response:
    p = await page(request, "ocmw")
    return await fbu_routes.vredegerecht_pdf(case_id, p.who, p.ctx)
