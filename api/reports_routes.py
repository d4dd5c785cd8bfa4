"""Aggregate reports: the OCMW's coordinator (its own organisation) and the auditor (every organisation).

Counts and euro sums only, never a case, a claim, a connection point or a person. The coordinator's organisation
comes from its token; the auditor may narrow the report to one OCMW and sees small counts hidden
(``VANGNET_REPORT_MIN_CELL``). Every other role gets 403: the case worker works on cases, not on reports.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import Field

from api.context import ApiContext, get_context, require
from api.openapi import problem_codes
from api.problems import ErrorCode, Refusal
from schemas.reports import EnergyReport, FbuReport
from vangnet.security.tokens import Principal
from vangnet.services import reports

router = APIRouter(prefix="/v1/reports", tags=["Reports"])
Ctx = Annotated[ApiContext, Depends(get_context)]
Reader = Annotated[Principal, Depends(require("ocmw-coordinator", "auditor"))]
BOUNDS = f"Between {reports.EARLIEST} and {reports.LATEST}."
#: A day a period may name; the schema says the bounds (a pattern: JSON Schema has no minimum for a date).
Day = Annotated[date, Field(json_schema_extra={"pattern": reports.century_pattern(reports.EARLIEST, reports.LATEST)})]
From = Annotated[Day | None, Query(alias="from", description=f"First day of the period (inclusive). {BOUNDS}")]
To = Annotated[Day | None, Query(description=f"Last day of the period (inclusive). {BOUNDS} "
                                  f"Not before `from`; the period covers at most {reports.MAX_PERIOD_DAYS} days "
                                  "(`inconsistent_fields`).")]
OcmwFilter = Annotated[str | None, Query(
    pattern=r"^ocmw-[1-9][0-9]{4}$", examples=["ocmw-44021"],
    description="Auditor: one OCMW only. A coordinator always gets its own organisation (from its token).")]


def scope(principal: Principal, ctx: ApiContext, ocmw: str | None, start: date | None, end: date | None
          ) -> tuple[reports.Scope, int | None]:
    """Which organisation(s) and period the caller gets, and the small-cell threshold that applies."""
    if principal.role == "ocmw-coordinator":
        if ocmw is not None and ocmw != principal.org:
            raise HTTPException(403, "A coordinator sees the figures of its own organisation only; leave out 'ocmw'.")
        ocmw, min_cell = principal.org, None
    else:
        min_cell = ctx.settings.report_min_cell
    problem = reports.date_problem(start, end)
    if problem is not None:
        raise HTTPException(422, problem)
    problem = reports.period_problem(start, end)
    if problem is not None:
        raise Refusal(ErrorCode.INCONSISTENT_FIELDS, problem)
    return reports.Scope(ocmw_id=ocmw, start=start, end=end), min_cell


@router.get("/fbu", response_model=FbuReport,
            summary="FBU aggregates: cases by status and month, claims by status, payouts per rule set and kind",
            openapi_extra=problem_codes(ErrorCode.INCONSISTENT_FIELDS))
async def fbu(principal: Reader, ctx: Ctx, from_: From = None, to: To = None, ocmw: OcmwFilter = None
              ) -> FbuReport:
    where, min_cell = scope(principal, ctx, ocmw, from_, to)
    return await reports.fbu_report(ctx.pool, where, min_cell)


@router.get("/energy", response_model=EnergyReport,
            summary="Energy aggregates: cases by phase and energy, outreach signals received",
            openapi_extra=problem_codes(ErrorCode.INCONSISTENT_FIELDS))
async def energy(principal: Reader, ctx: Ctx, from_: From = None, to: To = None, ocmw: OcmwFilter = None
                 ) -> EnergyReport:
    where, min_cell = scope(principal, ctx, ocmw, from_, to)
    return await reports.energy_report(ctx.pool, where, min_cell)
