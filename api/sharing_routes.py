"""Data-sharing policies (administrators) and consent per case and purpose (the owning OCMW)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.context import ApiContext, get_context, require
from api.openapi import problem_codes
from api.problems import ErrorCode, Refusal
from schemas.text import AsSent
from vangnet.security import sharing
from vangnet.security.sharing import Policy, PolicyIn
from vangnet.security.tokens import Principal

router = APIRouter(prefix="/v1", tags=["Data sharing"])
Ctx = Annotated[ApiContext, Depends(get_context)]
Admin = Annotated[Principal, Depends(require("admin"))]
Ocmw = Annotated[Principal, Depends(require("ocmw"))]


@router.get("/admin/sharing-policies", response_model=list[Policy], summary="All data-sharing policies")
async def policies(_: Admin, ctx: Ctx) -> list[Policy]:
    return await sharing.list_policies(ctx.pool)


@router.post("/admin/sharing-policies", response_model=Policy, status_code=201, summary="Record a policy")
async def add(body: PolicyIn, who: Admin, ctx: Ctx) -> Policy:
    return await sharing.add_policy(ctx.pool, body, who.subject)


@router.post("/admin/sharing-policies/{policy_id}/end", response_model=list[Policy],
             summary="End a policy today (it is kept, with its end date)",
             openapi_extra=problem_codes(ErrorCode.POLICY_NOT_IN_FORCE))
async def end(policy_id: str, _: Admin, ctx: Ctx) -> list[Policy]:
    today = await ctx.today()
    if not await sharing.end_policy(ctx.pool, policy_id, today):
        if not await sharing.policy_exists(ctx.pool, policy_id):
            raise HTTPException(404, "No such policy.")
        raise Refusal(ErrorCode.POLICY_NOT_IN_FORCE, f"The policy is not in force on {today} (it has ended, ends "
                                                     "today or starts later); only a policy in force can be ended.")
    return await sharing.list_policies(ctx.pool)


class ConsentIn(AsSent):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    purpose: str = Field(min_length=3, max_length=100, examples=["fbu-claim"])
    given: StrictBool = Field(description="true = consent given; false = withdrawn (recorded, never deleted)")
    note: str | None = Field(None, max_length=500, examples=["Signed consent form in the file"])


class Consent(BaseModel):
    purpose: str
    given: bool
    recorded_by: str
    recorded_at: datetime
    note: str | None


async def _own(ctx: ApiContext, who: Principal, case_id: str) -> None:
    owner = await ctx.pool.fetchval("SELECT ocmw_id FROM case_registry WHERE case_id = $1", case_id)
    if owner is None or owner != who.org:
        raise HTTPException(404, "No such case.")


@router.post("/cases/{case_id}/consents", response_model=list[Consent], status_code=201,
             summary="Record that the person gives or withdraws consent for a purpose")
async def record_consent(case_id: str, body: ConsentIn, who: Ocmw, ctx: Ctx) -> list[Consent]:
    await _own(ctx, who, case_id)
    await ctx.pool.execute("INSERT INTO consents (case_id, purpose, given, recorded_by, note) VALUES ($1,$2,$3,$4,$5)",
                           case_id, body.purpose, body.given, who.subject, body.note)
    return await consents(case_id, who, ctx)


@router.get("/cases/{case_id}/consents", response_model=list[Consent], summary="The consent history of a case")
async def consents(case_id: str, who: Ocmw, ctx: Ctx) -> list[Consent]:
    await _own(ctx, who, case_id)
    rows = await ctx.pool.fetch(
        "SELECT purpose, given, recorded_by, recorded_at, note FROM consents WHERE case_id = $1 ORDER BY id", case_id)
    return [Consent(**dict(r)) for r in rows]
