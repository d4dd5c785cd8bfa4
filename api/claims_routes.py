"""Claim routes: Wonen-Vlaanderen's inbox and decisions (all OCMWs), the OCMW's resubmission (own claims)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from api.claim_workflows import run_claim_update
from api.context import ApiContext, get_context, require
from api.openapi import STEP_CODES, problem_codes
from api.paging import Page, PageSize
from api.problems import ErrorCode, Refusal
from api.steps import IdempotencyKey
from api.updates import run_update
from schemas.common import StepResult
from schemas.fbu import ClaimDecision, ResubmitClaim
from vangnet.security import sharing
from vangnet.security.tokens import Principal
from workflows.fbu_claim import FbuClaimWorkflow

router = APIRouter(prefix="/v1/claims", tags=["Claims"])
Ctx = Annotated[ApiContext, Depends(get_context)]
WonenVlaanderen = Annotated[Principal, Depends(require("wonen-vlaanderen"))]
Ocmw = Annotated[Principal, Depends(require("ocmw"))]
ClaimStatus = Literal["claimed", "approved", "rejected", "paid"]


class ClaimView(BaseModel):
    """What Wonen-Vlaanderen needs to judge a claim: no names, national numbers or IBANs."""

    claim_id: str
    case_id: str
    ocmw_id: str
    claim_kind: str
    status: str
    payouts: list[dict[str, str]]
    amount: str
    rule_set_id: str
    arrears_amount: str
    agreement_version: int
    agreement_in_force_on: date | None
    submitted_on: date
    attempt: int
    decided_on: date | None
    decision_reason: str | None
    payment_id: str | None


class Withheld(BaseModel):
    ocmw_id: str
    claims: int
    reason: str


class ClaimPage(BaseModel):
    items: list[ClaimView]
    page: int
    page_size: int
    total: int
    withheld: list[Withheld] = Field(default_factory=list, description="Claims not shared, and why.")


def _view(r: object) -> ClaimView:
    row = dict(r)  # type: ignore[call-overload]
    return ClaimView(
        claim_id=row["claim_id"], case_id=row["case_id"], ocmw_id=row["ocmw_id"], claim_kind=row["claim_kind"],
        status=row["status"], payouts=json.loads(row["payouts"]), amount=str(row["amount"]),
        rule_set_id=row["rule_set_id"], arrears_amount=str(row["arrears_amount"]),
        agreement_version=row["agreement_version"], agreement_in_force_on=row["agreement_in_force_on"],
        submitted_on=row["submitted_on"], attempt=row["attempt"], decided_on=row["decided_on"],
        decision_reason=row["decision_reason"], payment_id=row["payment_id"],
    )


@router.get("", response_model=ClaimPage, summary="Claims inbox")
async def list_claims(_: WonenVlaanderen, ctx: Ctx, status: ClaimStatus | None = None,
                      page: Page = 1,
                      page_size: PageSize = 50) -> ClaimPage:
    where, args = ("status = $1", [status]) if status else ("TRUE", [])
    rows = await ctx.pool.fetch(
        f"SELECT * FROM proj_claims WHERE {where} ORDER BY submitted_on, claim_id LIMIT 10000", *args)  # noqa: S608
    shared: list[asyncpg.Record] = []
    withheld: Counter[tuple[str, str]] = Counter()
    for r in rows:
        decision = await _shared(ctx, r["ocmw_id"], r["case_id"])
        if decision.allowed:
            shared.append(r)
        else:
            withheld[(r["ocmw_id"], decision.reason)] += 1
    start = (page - 1) * page_size
    return ClaimPage(items=[_view(r) for r in shared[start:start + page_size]], page=page, page_size=page_size,
                     total=len(shared),
                     withheld=[Withheld(ocmw_id=o, claims=n, reason=why) for (o, why), n in withheld.items()])


async def _shared(ctx: ApiContext, ocmw_id: str, case_id: str) -> sharing.Decision:
    return await sharing.check(ctx.pool, sharing.FBU_CLAIM, ocmw_id, "wonen-vlaanderen", await ctx.today(), case_id)


async def _claim(ctx: ApiContext, claim_id: str) -> ClaimView:
    row = await ctx.pool.fetchrow("SELECT * FROM proj_claims WHERE claim_id = $1", claim_id)
    if row is None:
        raise HTTPException(404, "No such claim.")
    return _view(row)


async def _shared_claim(ctx: ApiContext, claim_id: str) -> ClaimView:
    """The claim if it may be shared with Wonen-Vlaanderen; 403 says which basis is missing."""
    claim = await _claim(ctx, claim_id)
    decision = await _shared(ctx, claim.ocmw_id, claim.case_id)
    if not decision.allowed:
        raise Refusal(ErrorCode.NO_SHARING_POLICY, decision.reason)
    return claim


@router.get("/{claim_id}", response_model=ClaimView, summary="One claim",
            openapi_extra=problem_codes(ErrorCode.NO_SHARING_POLICY))
async def get_claim(claim_id: str, _: WonenVlaanderen, ctx: Ctx) -> ClaimView:
    return await _shared_claim(ctx, claim_id)


@router.post("/{claim_id}/decision", response_model=StepResult, summary="Approve or reject a claim",
             openapi_extra={"x-error-codes": [*STEP_CODES["x-error-codes"], ErrorCode.NO_SHARING_POLICY.value]})
async def decide(claim_id: str, body: ClaimDecision, _: WonenVlaanderen, ctx: Ctx,
                 idempotency_key: IdempotencyKey = None) -> StepResult:
    claim = await _shared_claim(ctx, claim_id)
    result: StepResult = await run_claim_update(ctx.client, ctx.pool, ctx.task_queue, claim_id, claim.status,
                                                FbuClaimWorkflow.decide, body, idempotency_key)
    return result


@router.post("/{claim_id}/resubmit", response_model=StepResult, summary="Resubmit a rejected claim (OCMW)",
             openapi_extra=STEP_CODES)
async def resubmit(claim_id: str, body: ResubmitClaim, principal: Ocmw, ctx: Ctx,
                   idempotency_key: IdempotencyKey = None) -> StepResult:
    claim = await _claim(ctx, claim_id)
    if claim.ocmw_id != principal.org:
        raise HTTPException(404, "No such claim.")
    result: StepResult = await run_update(ctx.client, claim_id, FbuClaimWorkflow.resubmit, body, idempotency_key)
    return result
