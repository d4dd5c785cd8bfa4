"""Wonen-Vlaanderen's pages: the claims inbox (oldest first), one claim with what the decision needs, and the
decision itself. Reads and the decision are the claims API's own functions (sharing policy checked there)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api import claims_routes
from api.case_documents import fbu_case
from api.web import forms
from api.web.core import WebRoute, attempt, is_htmx, page, posted_form
from api.web.fbu_pages import computations
from schemas.fbu import ClaimDecision

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 25
STATUSES = ("claimed", "approved", "rejected", "paid")


@router.get("/claims", response_class=HTMLResponse)
async def inbox(request: Request, status: str = "claimed", ocmw: str = "",
                page_no: Annotated[int, Query(alias="pagina", ge=1)] = 1) -> HTMLResponse:
    p = await page(request, "wonen-vlaanderen")
    if status not in STATUSES:
        status = "claimed"
    everything = await claims_routes.list_claims(p.who, p.ctx, None, 1, 100_000)
    counts = {s: sum(c.status == s for c in everything.items) for s in STATUSES}
    year = (await p.ctx.today()).year
    paid_this_year = [c for c in everything.items if c.status == "paid" and c.decided_on and c.decided_on.year == year]
    items = [c for c in everything.items if c.status == status and (not ocmw or c.ocmw_id == ocmw)]
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page_no = min(page_no, pages)
    return p.render("claims.html", items=items[(page_no - 1) * PAGE_SIZE:page_no * PAGE_SIZE], total=len(items),
                    counts=counts, current=status, ocmw=ocmw, page_no=page_no, pages=pages,
                    ocmws=sorted({c.ocmw_id for c in everything.items}), withheld=everything.withheld,
                    paid_count=len(paid_this_year), year=year,
                    paid_sum=sum((Decimal(c.amount) for c in paid_this_year), Decimal("0.00")))


async def _claim_view(p: Any, claim_id: str, **extra: Any) -> dict[str, Any]:
    claim = await claims_routes.get_claim(claim_id, p.who, p.ctx)
    case = await fbu_case(p.ctx, claim.case_id)
    payouts = [{**x, "rule_set_id": claim.rule_set_id} for x in claim.payouts]
    return {"claim": claim, "case": case, "computations": computations(p, Decimal(claim.arrears_amount), payouts),
            "idem": uuid.uuid4().hex, "typed": {}, "errors": {}, "flash": None, **extra}


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
async def claim_page(request: Request, claim_id: str) -> HTMLResponse:
    p = await page(request, "wonen-vlaanderen")
    return p.render("claim.html", **await _claim_view(p, claim_id))


@router.post("/claims/{claim_id}/beslissing", response_class=HTMLResponse)
async def decide(request: Request, claim_id: str) -> HTMLResponse:
    p = await page(request, "wonen-vlaanderen")
    form = await posted_form(request)
    data = {k: form[k] for k in ("decision", "reason") if form.get(k)}
    body, errors = forms.validate(ClaimDecision, data)
    if "" in errors:  # the model-wide rule (a rejection needs a reason) belongs to the reason field
        errors["reason"] = errors.pop("")
    flash = None
    if body is not None:
        flash = await attempt("decision", claims_routes.decide(claim_id, body, p.who, p.ctx,
                                                               form.get("idem") or None))
    view = await _claim_view(p, claim_id, typed=form if errors or (flash and flash[0] == "error") else {},
                             errors=errors, flash=flash)
    return p.render("_claim.html" if is_htmx(request) else "claim.html", 200 if is_htmx(request) or not errors
                    else 422, **view)
