"""The OCMW's work list: its FBU and energy cases and outreach signals together, from the read models.

The list and its counts come from the projections (``proj_fbu_cases``, ``proj_energy_cases``) and each open
case's next deadline from its case document, read with the same view the case API answers with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api import energy_routes
from api.case_documents import _energy_view, _fbu_view
from api.context import ApiContext
from api.web.core import WebRoute, page
from schemas.fbu import Deadline
from vangnet.rulebooks.rulebook import load_energy_rule_book, load_fbu_rule_book

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 25
MAX_CASES = 5000  # an OCMW's open work; beyond this the list needs a projection of deadlines
CLOSED = {"closed", "stable_housing"}


@dataclass
class Row:
    procedure: str  # "fbu" or "energie"
    case_id: str
    phase: str
    municipality_nis: str
    opened_on: date
    amount: Any
    next_deadline: Deadline | None

    @property
    def url(self) -> str:
        return f"/{self.procedure}/{self.case_id}"

    def due_within(self, today: date, days: int) -> bool:
        return self.next_deadline is not None and today <= self.next_deadline.due_on <= today + timedelta(days=days)

    def overdue(self, today: date) -> bool:
        return self.next_deadline is not None and self.next_deadline.due_on < today


async def rows_of(ctx: ApiContext, org: str | None, today: date) -> list[Row]:
    """Every case of one OCMW with its next deadline as of ``today`` (the dashboard counts the missed ones)."""
    fbu = await ctx.pool.fetch(
        "SELECT c.*, d.document FROM proj_fbu_cases c LEFT JOIN proj_case_documents d "
        "ON d.case_id = c.case_id AND d.kind = 'fbu' WHERE c.ocmw_id = $1 ORDER BY c.opened_on DESC LIMIT $2",
        org, MAX_CASES)
    energy = await ctx.pool.fetch(
        "SELECT c.*, d.document, e.ean FROM proj_energy_cases c JOIN energy_cases e USING (case_id) "
        "LEFT JOIN proj_case_documents d ON d.case_id = c.case_id AND d.kind = 'energy' "
        "WHERE c.ocmw_id = $1 ORDER BY c.notice_of_default_on DESC LIMIT $2", org, MAX_CASES)
    fbu_book = load_fbu_rule_book(ctx.settings.fbu_rules_file)
    energy_book = load_energy_rule_book(ctx.settings.energy_rules_file)
    rows = []
    for r in fbu:
        deadline = None
        if r["document"] is not None and r["status"] not in CLOSED:
            deadline = _first(_fbu_view(str(r["document"]), None, today, fbu_book).deadlines)
        rows.append(Row("fbu", r["case_id"], r["status"], r["municipality_nis"], r["opened_on"],
                        r["arrears_amount"], deadline))
    for r in energy:
        deadline = None
        if r["document"] is not None and r["phase"] != "closed":
            deadline = _first(_energy_view(str(r["document"]), str(r["ean"]), today, energy_book).deadlines)
        # one OCMW per municipality: its id carries the NIS code (ocmw-44021)
        rows.append(Row("energie", r["case_id"], r["phase"], str(r["ocmw_id"])[5:], r["notice_of_default_on"],
                        r["total_debt"], deadline))
    return rows


def _first(deadlines: list[Deadline]) -> Deadline | None:
    return min(deadlines, key=lambda d: d.due_on) if deadlines else None


@router.get("/werklijst", response_class=HTMLResponse)
async def work_list(request: Request, procedure: str = "", phase: str = "", due: str = "", municipality: str = "",
                    sort: str = "deadline", page_no: Annotated[int, Query(alias="pagina", ge=1)] = 1
                    ) -> HTMLResponse:
    p = await page(request, "ocmw")
    today = await p.ctx.today()
    rows = await rows_of(p.ctx, p.who.org, today)
    counts = {
        "overdue": sum(r.overdue(today) for r in rows),
        "today": sum(r.next_deadline is not None and r.next_deadline.due_on == today for r in rows),
        "week": sum(r.due_within(today, 7) for r in rows),
        "open": sum(r.phase not in CLOSED for r in rows),
    }
    phases = sorted({(r.procedure, r.phase) for r in rows})
    municipalities = sorted({r.municipality_nis for r in rows})
    shown = [r for r in rows
             if (not procedure or r.procedure == procedure) and (not phase or r.phase == phase)
             and (not municipality or r.municipality_nis == municipality)
             and (due != "7d" or r.due_within(today, 7)) and (due != "overdue" or r.overdue(today))]
    if sort == "opened":
        shown.sort(key=lambda r: (r.opened_on, r.case_id), reverse=True)
    else:
        shown.sort(key=lambda r: (r.next_deadline is None, r.next_deadline.due_on if r.next_deadline else today,
                                  r.case_id))
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page_no = min(page_no, pages)
    signals = await energy_routes.signals(p.who, p.ctx)
    filters = {"procedure": procedure, "phase": phase, "due": due, "municipality": municipality, "sort": sort}
    return p.render("worklist.html", rows=shown[(page_no - 1) * PAGE_SIZE:page_no * PAGE_SIZE], total=len(shown),
                    page_no=page_no, pages=pages, counts=counts, phases=phases, municipalities=municipalities,
                    filters=filters, today=today, signals=signals[:20])
