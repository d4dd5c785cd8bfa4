"""FBU case routes for the OCMW (own cases only; another organisation's case answers 404)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api import documents
from api.case_documents import fbu_case, owned_fbu_case_page, wait_opened
from api.context import ApiContext, get_context, require
from api.openapi import problem_codes
from api.paging import Page, PageSize, fetch_page
from api.problems import ErrorCode, Refusal
from api.steps import IdempotencyKey, add_step
from api.updates import Update, rpc_to_http
from schemas.common import NoRuleSetError
from schemas.events import StoredEvent
from schemas.fbu import (
    CaseStatus,
    FbuCaseInput,
    FbuCaseState,
    OpenFbuCase,
)
from schemas.fbu_rules import check_eligibility, first_eligible_later, select_rule_set
from vangnet.rulebooks.rulebook import load_fbu_rule_book
from vangnet.rulebooks.working_days import add_working_days
from vangnet.security import access_log
from vangnet.security.tokens import Principal
from vangnet.security.vault import ERASED
from vangnet.storage import eventstore
from workflows.fbu_case import FbuCaseWorkflow

router = APIRouter(prefix="/v1/fbu", tags=["FBU cases"])
Ocmw = Annotated[Principal, Depends(require("ocmw"))]
Ctx = Annotated[ApiContext, Depends(get_context)]
CASE_NAMESPACE = uuid.UUID("6f2b1c1e-8f5e-4a59-9a35-3f1f7b7c2a10")
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
OPEN_CODES = problem_codes(ErrorCode.WRONG_MUNICIPALITY, ErrorCode.DATE_IN_FUTURE, ErrorCode.NO_RULE_SET,
                           ErrorCode.NOT_ELIGIBLE, ErrorCode.ENGINE_UNAVAILABLE, ErrorCode.CASE_STARTING)


class CaseCreated(BaseModel):
    case_id: str


class CaseSummary(BaseModel):
    case_id: str
    status: str
    closing_reason: str | None
    rule_set_id: str | None
    rental_market: str
    municipality_nis: str
    arrears_amount: str
    opened_on: date
    agreement_version: int
    repaid_total: str
    paid_total: str


class CasePage(BaseModel):
    items: list[CaseSummary]
    page: int
    page_size: int
    total: int


async def owned_case(ctx: ApiContext, principal: Principal, case_id: str) -> None:
    """404 unless the case exists and belongs to the caller's organisation: ids cannot be probed."""
    owner = await ctx.pool.fetchval(
        "SELECT ocmw_id FROM case_registry WHERE case_id = $1 AND kind = 'fbu'", case_id)
    if owner is None or owner != principal.org:
        raise HTTPException(404, "No such case.")


@router.post("/cases", status_code=201, response_model=CaseCreated, summary="Open an FBU case",
             openapi_extra=OPEN_CODES)
async def open_case(body: OpenFbuCase, principal: Ocmw, ctx: Ctx, idempotency_key: IdempotencyKey = None
                    ) -> CaseCreated:
    if principal.org != f"ocmw-{body.dwelling.municipality_nis}":
        raise Refusal(ErrorCode.WRONG_MUNICIPALITY, f"This dwelling lies in municipality "
                                                    f"{body.dwelling.municipality_nis}; its case belongs to "
                                                    f"ocmw-{body.dwelling.municipality_nis}.")
    today = await ctx.today()
    if body.arrears.since > today:
        raise Refusal(ErrorCode.DATE_IN_FUTURE, f"The arrears date {body.arrears.since} lies in the future.")
    book = load_fbu_rule_book(ctx.settings.fbu_rules_file)
    try:
        rule_set = select_rule_set(book, today)
    except NoRuleSetError as exc:
        raise Refusal(ErrorCode.NO_RULE_SET, str(exc)) from exc
    eligibility = check_eligibility(
        rule_set, market=body.dwelling.rental_market, arrears_amount=body.arrears.amount,
        arrears_since=body.arrears.since, monthly_rent=body.dwelling.monthly_rent, book=book,
    )
    later = None if eligibility.eligible else first_eligible_later(
        book, rule_set, market=body.dwelling.rental_market, arrears_amount=body.arrears.amount,
        arrears_since=body.arrears.since, monthly_rent=body.dwelling.monthly_rent)
    if not eligibility.eligible and later is None:  # no rule set a later submission could fall under covers it
        raise Refusal(ErrorCode.NOT_ELIGIBLE,
                      "This case is not eligible for the fund: " + " ".join(eligibility.reasons))
    if idempotency_key:
        case_id = "fbu-" + uuid.uuid5(CASE_NAMESPACE, f"{principal.org}:{idempotency_key}").hex
    else:
        case_id = "fbu-" + uuid.uuid4().hex
    assert principal.org is not None
    async with ctx.pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            "INSERT INTO case_registry (case_id, kind, ocmw_id) VALUES ($1, 'fbu', $2) "
            "ON CONFLICT DO NOTHING RETURNING case_id", case_id, principal.org)
        if inserted is None:
            return CaseCreated(case_id=case_id)  # the same request, repeated
        vault = ctx.personal_data()
        tenant_subject, tenant_sealed = await vault.seal(conn, {**body.tenant.model_dump(mode="json"),
                                                                "address": body.dwelling.address})
        landlord_subject, landlord_sealed = await vault.seal(conn, body.landlord.model_dump(mode="json"))
        await conn.execute(
            """INSERT INTO fbu_parties (case_id, tenant_subject, landlord_subject, tenant_sealed, landlord_sealed)
               VALUES ($1, $2, $3, $4, $5)""",
            case_id, tenant_subject, landlord_subject, tenant_sealed, landlord_sealed)
        try:
            await ctx.client.start_workflow(
                FbuCaseWorkflow.run,
                FbuCaseInput(
                    case_id=case_id, ocmw_id=principal.org, rental_market=body.dwelling.rental_market,
                    municipality_nis=body.dwelling.municipality_nis, monthly_rent=body.dwelling.monthly_rent,
                    arrears_amount=body.arrears.amount, arrears_since=body.arrears.since,
                ),
                id=case_id,
                task_queue=ctx.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        except RPCError as exc:
            raise rpc_to_http(exc) from exc
    # After the commit: the case exists from here on, so a failure below never leaves a workflow without its rows.
    await wait_opened(ctx, case_id)
    return CaseCreated(case_id=case_id)


@router.get("/cases", response_model=CasePage, summary="List the OCMW's FBU cases")
async def list_cases(principal: Ocmw, ctx: Ctx, status: CaseStatus | None = None,
                     page: Page = 1,
                     page_size: PageSize = 50) -> CasePage:
    where, args = "ocmw_id = $1", [principal.org]
    if status:
        where += " AND status = $2"
        args.append(status)
    total, rows = await fetch_page(ctx.pool, "proj_fbu_cases", where, args, "opened_on DESC, case_id", page, page_size)
    items = [CaseSummary(
        case_id=r["case_id"], status=r["status"], closing_reason=r["closing_reason"], rule_set_id=r["rule_set_id"],
        rental_market=r["market"], municipality_nis=r["municipality_nis"], arrears_amount=str(r["arrears_amount"]),
        opened_on=r["opened_on"], agreement_version=r["agreement_version"], repaid_total=str(r["repaid_total"]),
        paid_total=str(r["paid_total"]),
    ) for r in rows]
    return CasePage(items=items, page=page, page_size=page_size, total=total)


@router.get("/cases/{case_id}", response_model=FbuCaseState, summary="One case: status, agreement, plan, payouts")
async def get_case(case_id: str, principal: Ocmw, ctx: Ctx) -> Response:
    return await owned_fbu_case_page(ctx, principal.org, case_id)


@router.get("/cases/{case_id}/events", response_model=list[StoredEvent], summary="The case's domain events, in order")
async def get_events(case_id: str, principal: Ocmw, ctx: Ctx) -> list[StoredEvent]:
    await owned_case(ctx, principal, case_id)
    return await eventstore.case_events(ctx.pool, case_id)


def _step(update: Update, summary: str, path: str, method: Literal["put", "post"] = "post") -> None:
    add_step(router, update=update, summary=summary, path=path, method=method, principal=require("ocmw"),
             owner_check=owned_case)


_step(FbuCaseWorkflow.draft_agreement, "Draft or amend the agreement and its repayment plan", "agreement", "put")
_step(FbuCaseWorkflow.sign, "Record one party's signature", "signatures")
_step(FbuCaseWorkflow.refuse, "Record that a party refuses to sign", "refusals")
_step(FbuCaseWorkflow.record_repayment, "Record a repayment by the tenant", "repayments")
_step(FbuCaseWorkflow.declare_stable_housing, "Declare a stable housing situation", "stable-housing")
_step(FbuCaseWorkflow.close, "Close the case", "close")


async def _parties(ctx: ApiContext, case_id: str, who: Principal, route: str, fields: list[str]
                   ) -> dict[str, Any]:
    """The parties' personal data; the read is logged (who, case, purpose, fields) before it is returned."""
    row = await ctx.pool.fetchrow("SELECT * FROM fbu_parties WHERE case_id = $1", case_id)
    if row is None:
        raise HTTPException(404, "No such case.")
    await access_log.record(ctx.pool, who, case_id, "case_work", fields, route)
    vault = ctx.personal_data()
    tenant = await vault.open(ctx.pool, row["tenant_subject"], bytes(row["tenant_sealed"]))
    landlord = await vault.open(ctx.pool, row["landlord_subject"], bytes(row["landlord_sealed"]))
    erased_tenant = {"name": ERASED, "national_number": ERASED, "iban": ERASED, "address": ERASED}
    tenant = tenant or erased_tenant
    return {"tenant": {k: v for k, v in tenant.items() if k != "address"},
            "landlord": landlord or {"name": ERASED, "iban": ERASED}, "address": tenant["address"]}


class Parties(BaseModel):
    tenant: dict[str, str]
    landlord: dict[str, str]
    dwelling_address: str


@router.get("/cases/{case_id}/parties", response_model=Parties,
            summary="The tenant's and landlord's personal data (logged in the access log)")
async def parties(case_id: str, principal: Ocmw, ctx: Ctx) -> Parties:
    await owned_case(ctx, principal, case_id)
    p = await _parties(ctx, case_id, principal, "GET /v1/fbu/cases/{id}/parties",
                       ["tenant.name", "tenant.national_number", "tenant.iban", "landlord.name", "landlord.iban",
                        "dwelling.address"])
    return Parties(tenant=p["tenant"], landlord=p["landlord"], dwelling_address=p["address"])


@router.get("/cases/{case_id}/documents/agreement", response_class=Response,
            responses=PDF, summary="The agreement as PDF (Dutch)",
            openapi_extra=problem_codes(ErrorCode.NO_DOCUMENT))
async def agreement_pdf(case_id: str, principal: Ocmw, ctx: Ctx) -> Response:
    await owned_case(ctx, principal, case_id)
    state = await fbu_case(ctx, case_id)
    if state.agreement is None:
        raise Refusal(ErrorCode.NO_DOCUMENT, "No agreement has been drafted for this case yet.")
    parties = await _parties(ctx, case_id, principal, "GET /v1/fbu/cases/{id}/documents/agreement",
                             ["tenant.name", "landlord.name", "dwelling.address"])
    term, due_on = await _payment_term(ctx, state)
    pdf = documents.render_agreement_pdf(documents.AgreementDocument(
        case_id=case_id, ocmw_name=f"OCMW {state.ocmw_id}", ocmw_id=state.ocmw_id,
        tenant_name=parties["tenant"]["name"], tenant_address=parties["address"],
        landlord_name=parties["landlord"]["name"], arrears_amount=state.arrears_amount,
        arrears_since=state.arrears_since, landlord_payment=state.agreement.landlord_payment,
        plan=[documents.PlanLine(due_on=i.due_on, amount=i.amount) for i in state.agreement.plan],
        version=state.agreement.version,
        signatures=[documents.SignatureLine(party=s.party, signed_on=s.signed_on, evidence=s.evidence)
                    for s in state.agreement.signatures],
        rule_set_id=state.rule_set_id or "nog niet ingediend", landlord_payment_working_days=term,
        landlord_payment_due_on=due_on, generated_on=await ctx.today(),
    ))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="begeleidingsovereenkomst-{case_id}.pdf"'})


async def _payment_term(ctx: ApiContext, state: FbuCaseState) -> tuple[int, date | None]:
    """The landlord payment's term in working days (the submission day's rule set, or today's before it) and, once
    the printed version is in force, its last day counted from the day it came into force."""
    book = load_fbu_rule_book(ctx.settings.fbu_rules_file)
    rules = next((r for r in book.rule_sets if r.id == state.rule_set_id), None)
    if rules is None:
        try:
            rules = select_rule_set(book, await ctx.today())
        except NoRuleSetError as exc:
            raise Refusal(ErrorCode.NO_RULE_SET, str(exc)) from exc
    days = rules.landlord_payment_working_days
    in_force_on = state.agreement.in_force_on if state.agreement is not None else None
    return days, add_working_days(in_force_on, days) if in_force_on is not None else None


@router.get("/cases/{case_id}/documents/vredegerecht-letter", response_class=Response,
            responses=PDF,
            summary="Information letter to the justice of the peace after a landlord's refusal (Dutch)",
            openapi_extra=problem_codes(ErrorCode.NO_DOCUMENT))
async def vredegerecht_pdf(case_id: str, principal: Ocmw, ctx: Ctx) -> Response:
    await owned_case(ctx, principal, case_id)
    state = await fbu_case(ctx, case_id)
    if state.refusal is None or state.refusal.party != "landlord":
        raise Refusal(ErrorCode.NO_DOCUMENT, "The letter exists only when the landlord refused to sign.")
    parties = await _parties(ctx, case_id, principal, "GET /v1/fbu/cases/{id}/documents/vredegerecht-letter",
                             ["tenant.name", "landlord.name", "dwelling.address"])
    pdf = documents.render_vredegerecht_letter_pdf(documents.VredegerechtLetter(
        case_id=case_id, ocmw_name=f"OCMW {state.ocmw_id}", tenant_name=parties["tenant"]["name"],
        tenant_address=parties["address"], landlord_name=parties["landlord"]["name"],
        arrears_amount=state.arrears_amount, refused_on=state.refusal.refused_on,
        refusal_reason=state.refusal.reason, generated_on=await ctx.today(),
    ))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="brief-vredegerecht-{case_id}.pdf"'})
