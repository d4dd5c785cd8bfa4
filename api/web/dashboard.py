"""The coordinator's and auditor's dashboard: the aggregate reports of the API as charts (Chart.js, installed from
the npm registry) and CSV tables. Counts and sums only, no case and no person; the auditor's small counts stay
hidden exactly as in the API (hidden counts add nothing to a total here)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from api import reports_routes
from api.web.core import Page, WebRoute, page
from api.web.i18n import _, euro, term
from api.web.worklist import rows_of
from schemas.calendar import add_months

router = APIRouter(route_class=WebRoute, include_in_schema=False)
ROLES = ("ocmw-coordinator", "auditor")
MONTHS = 12


def _n(value: int | None) -> int:
    return value or 0


async def tables(p: Page, ocmw: str | None) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every table of the dashboard as (header, rows); the charts and the CSV files are drawn from these."""
    fbu = await reports_routes.fbu(p.who, p.ctx, None, None, ocmw)
    energy = await reports_routes.energy(p.who, p.ctx, None, None, ocmw)
    status: dict[str, int] = {}
    kinds: dict[tuple[str, str], Decimal] = {}
    for org in fbu.organisations:
        for s, n in org.cases_by_status.items():
            status[s] = status.get(s, 0) + _n(n)
        for line in org.payouts:
            key = (line.rule_set_id, line.kind)
            kinds[key] = kinds.get(key, Decimal("0.00")) + (line.amount or Decimal("0.00"))
    phases: dict[str, int] = {}
    for eorg in energy.organisations:
        for ph, n in eorg.cases_by_phase.items():
            phases[ph] = phases.get(ph, 0) + _n(n)
    today = await p.ctx.today()
    first = add_months(date(today.year, today.month, 1), -(MONTHS - 1))
    per_month = []
    for i in range(MONTHS):  # the same report, one month at a time: payouts by the day they were paid
        start = add_months(first, i)
        end = add_months(start, 1).replace(day=1)
        report = await reports_routes.fbu(p.who, p.ctx, start, date.fromordinal(end.toordinal() - 1), ocmw)
        per_month.append([start.strftime("%Y-%m"), sum(_n(o.payouts_total) for o in report.organisations),
                          sum((o.paid_total or Decimal("0.00") for o in report.organisations), Decimal("0.00"))])
    missed: dict[tuple[str, str], int] = {}
    if ocmw is not None:  # deadlines are read per case: for one OCMW (the coordinator's, or the auditor's choice)
        for row in await rows_of(p.ctx, ocmw, today):
            if row.overdue(today) and row.next_deadline is not None:
                what = ("FBU" if row.procedure == "fbu" else _("Energy"), term("deadline", row.next_deadline.kind))
                missed[what] = missed.get(what, 0) + 1
    return {
        "missed-deadlines": ([_("Procedure"), _("Deadline"), _("Cases")],
                             [[proc, kind, n] for (proc, kind), n in sorted(missed.items())]),
        "fbu-status": ([_("Status"), _("Cases")], [[term("phase", s), n] for s, n in status.items()]),
        "fbu-payouts-month": ([_("Month"), _("Payouts"), _("Paid (€)")], per_month),
        "fbu-payouts-kind": ([_("Rule set"), _("Payout"), _("Paid (€)")],
                             [[r, term("payout", k), a] for (r, k), a in sorted(kinds.items())]),
        "energy-phase": ([_("Phase"), _("Cases")], [[term("phase", ph), n] for ph, n in phases.items()]),
        "energy-municipality": ([_("OCMW"), _("Cases"), _("Signals")],
                                [[o.ocmw_id, _n(o.cases_total), _n(o.signals_total)] for o in energy.organisations]),
    }


def _chart(kind: str, rows: list[list[Any]], label: str, column: int = 1, budget: Decimal | None = None
           ) -> dict[str, Any]:
    datasets: list[dict[str, Any]] = [{"label": label, "data": [float(r[column]) for r in rows],
                                       "backgroundColor": "#0b4f8a"}]
    if budget is not None:
        datasets.append({"type": "line", "label": _("Monthly budget (€)"), "data": [float(budget)] * len(rows),
                         "borderColor": "#a4161a", "backgroundColor": "#a4161a", "pointRadius": 0})
    return {"type": kind, "labels": [str(r[0]) for r in rows], "datasets": datasets}


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, ocmw: str = "", budget: str = "") -> HTMLResponse:
    p = await page(request, *ROLES)
    scope = _scope(p, ocmw)
    data = await tables(p, scope)
    try:
        monthly_budget = Decimal(budget.replace(".", "").replace(",", ".")) if budget else None
    except InvalidOperation:
        monthly_budget = None
    charts = {
        "fbu-status": _chart("bar", data["fbu-status"][1], _("Cases")),
        "fbu-payouts-month": _chart("bar", data["fbu-payouts-month"][1], _("Paid (€)"), 2, monthly_budget),
        "energy-phase": _chart("bar", data["energy-phase"][1], _("Cases")),
        "energy-municipality": _chart("bar", data["energy-municipality"][1], _("Cases")),
    }
    return p.render("dashboard.html", tables=data, charts={k: json.dumps(v) for k, v in charts.items()},
                    ocmw=scope or "", budget=budget, euro=euro)


def _scope(p: Page, ocmw: str) -> str | None:
    """A coordinator always sees its own OCMW; the auditor may pick one."""
    if p.who.role == "ocmw-coordinator":
        return p.who.org
    return ocmw if ocmw.startswith("ocmw-") and ocmw[5:].isdigit() and len(ocmw) == 10 else None


@router.get("/dashboard/{table}.csv")
async def csv_export(request: Request, table: str, ocmw: str = "") -> Response:
    p = await page(request, *ROLES)
    data = await tables(p, _scope(p, ocmw))
    if table not in data:
        raise HTTPException(404, "Not found.")
    header, rows = data[table]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")  # the separator Belgian spreadsheets open without asking
    writer.writerow(header)
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="vangnet-{table}.csv"'})
