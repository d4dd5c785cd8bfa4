"""Energy-case routes (OCMW of the household's municipality; the netbeheerder for its own connection points),
the signed netbeheerder callback endpoint and the OCMW's outreach signals."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api.case_documents import case_page, energy_case, wait_opened
from api.context import ApiContext, get_context, require
from api.openapi import problem_codes
from api.paging import Page, PageSize, fetch_page
from api.problems import ErrorCode, Refusal
from api.steps import IdempotencyKey, add_step
from api.updates import rpc_to_http
from schemas.common import Deadline
from schemas.energy import (
    EnergyCaseInput,
    EnergyCaseState,
    OpenEnergyCase,
    Phase,
)
from schemas.energy_rules import NoEnergyRuleSetError, select_energy_rule_set
from schemas.events import StoredEvent
from schemas.identifiers import ocmw_of
from schemas.netbeheerder import SIGNATURE_HEADER, TIMESTAMP_HEADER
from vangnet.rulebooks.rulebook import load_energy_rule_book
from vangnet.security import access_log
from vangnet.security.tokens import Principal
from vangnet.security.vault import ERASED
from vangnet.services import callbacks
from vangnet.storage import eventstore
from vangnet.storage.energy_cases import open_case_for
from workflows.energy_case import EnergyCaseWorkflow

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["Energy cases"])
steps_router = APIRouter(prefix="/v1/energy", tags=["Energy cases"])
Ctx = Annotated[ApiContext, Depends(get_context)]
Reader = Annotated[Principal, Depends(require("ocmw", "netbeheerder"))]
Opener = Annotated[Principal, Depends(require("ocmw", "netbeheerder"))]
Ocmw = Annotated[Principal, Depends(require("ocmw"))]
CASE_NAMESPACE = uuid.UUID("0c7b7d2e-5d3c-4b8e-9a51-6a1f3f0e2b44")
MAX_CALLBACK_BYTES = callbacks.MAX_CALLBACK_BYTES


class EnergyCaseCreated(BaseModel):
    case_id: str
    ocmw_id: str


class EnergyCaseSummary(BaseModel):
    case_id: str
    ocmw_id: str
    netbeheerder: str
    energy: str
    phase: str
    closing_reason: str | None
    rule_set_id: str
    notice_of_default_on: date
    total_debt: str | None
    prepayment_active: bool
    minimal_supply: str | None


class EnergyCasePage(BaseModel):
    items: list[EnergyCaseSummary]
    page: int
    page_size: int
    total: int


class Timeline(BaseModel):
    events: list[StoredEvent]
    upcoming: list[Deadline]


class OcmwSignal(BaseModel):
    signal_id: str
    municipality_nis: str
    kind: str
    energy: str
    netbeheerder: str
    received_at: Any


async def visible_case(ctx: ApiContext, principal: Principal, case_id: str) -> None:
    """404 unless the caller's organisation is the case's OCMW or its netbeheerder: ids cannot be probed."""
    row = await ctx.pool.fetchrow(
        "SELECT r.ocmw_id, e.netbeheerder FROM case_registry r JOIN energy_cases e USING (case_id) "
        "WHERE r.case_id = $1", case_id)
    if row is None:
        raise HTTPException(404, "No such case.")
    owner = row["ocmw_id"] if principal.role == "ocmw" else row["netbeheerder"]
    if owner != principal.org:
        raise HTTPException(404, "No such case.")


async def owned_by_ocmw(ctx: ApiContext, principal: Principal, case_id: str) -> None:
    await visible_case(ctx, principal, case_id)


@router.post("/energy/cases", status_code=201, response_model=EnergyCaseCreated, summary="Open an energy case",
             openapi_extra=problem_codes(
                 ErrorCode.WRONG_MUNICIPALITY, ErrorCode.WRONG_NETBEHEERDER, ErrorCode.UNKNOWN_NETBEHEERDER,
                 ErrorCode.DATE_IN_FUTURE, ErrorCode.NO_RULE_SET, ErrorCode.CASE_ALREADY_OPEN,
                 ErrorCode.ENGINE_UNAVAILABLE, ErrorCode.CASE_STARTING))
async def open_case(body: OpenEnergyCase, principal: Opener, ctx: Ctx, idempotency_key: IdempotencyKey = None
                    ) -> EnergyCaseCreated:
    ocmw_id = ocmw_of(body.household.municipality_nis)
    if principal.role == "ocmw" and principal.org != ocmw_id:
        raise Refusal(ErrorCode.WRONG_MUNICIPALITY, f"This household lives in municipality "
                                                    f"{body.household.municipality_nis}; its case belongs to "
                                                    f"{ocmw_id}.")
    if principal.role == "netbeheerder" and principal.org != body.netbeheerder:
        raise Refusal(ErrorCode.WRONG_NETBEHEERDER, "A netbeheerder can only open cases for its own connection points.")
    if body.netbeheerder not in ctx.settings.netbeheerder_urls:
        raise Refusal(ErrorCode.UNKNOWN_NETBEHEERDER, f"Unknown netbeheerder '{body.netbeheerder}'.")
    today = await ctx.today()
    if body.notice_of_default_on > today:
        raise Refusal(ErrorCode.DATE_IN_FUTURE,
                      f"The notice of default date {body.notice_of_default_on} lies in the future.")
    book = load_energy_rule_book(ctx.settings.energy_rules_file)
    try:  # the workflow applies the rule set in force on the notice date: refuse a date no rule set covers
        select_energy_rule_set(book, body.notice_of_default_on)
    except NoEnergyRuleSetError as exc:
        raise Refusal(ErrorCode.NO_RULE_SET, str(exc)) from exc
    key = f"{principal.org}:{idempotency_key}" if idempotency_key else None
    case_id = "nrg-" + (uuid.uuid5(CASE_NAMESPACE, key).hex if key else uuid.uuid4().hex)
    async with ctx.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{body.ean}:{body.energy}")
        if await conn.fetchval("SELECT 1 FROM case_registry WHERE case_id = $1", case_id):
            return EnergyCaseCreated(case_id=case_id, ocmw_id=ocmw_id)  # the same request, repeated
        if await open_case_for(conn, body.ean, body.energy):
            raise Refusal(ErrorCode.CASE_ALREADY_OPEN,
                          f"There is already an open {body.energy} case for this connection point.")
        await conn.execute("INSERT INTO case_registry (case_id, kind, ocmw_id) VALUES ($1, 'energy', $2)",
                           case_id, ocmw_id)
        await conn.execute("INSERT INTO energy_cases (case_id, ean, energy, netbeheerder) VALUES ($1, $2, $3, $4)",
                           case_id, body.ean, body.energy, body.netbeheerder)
        subject_id, sealed = await ctx.personal_data().seal(conn, body.household.model_dump(
            mode="json", include={"name", "national_number", "address"}))
        await conn.execute("INSERT INTO energy_households (case_id, subject_id, sealed) VALUES ($1, $2, $3)",
                           case_id, subject_id, sealed)
        try:
            await ctx.client.start_workflow(
                EnergyCaseWorkflow.run,
                EnergyCaseInput(
                    case_id=case_id, ocmw_id=ocmw_id, ean=body.ean, energy=body.energy, supplier=body.supplier,
                    netbeheerder=body.netbeheerder, municipality_nis=body.household.municipality_nis,
                    notice_of_default_on=body.notice_of_default_on, book=book,
                    callback_url=ctx.settings.public_url.rstrip("/") + "/v1/integrations/netbeheerder/callbacks",
                ),
                id=case_id, task_queue=ctx.task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        except RPCError as exc:
            raise rpc_to_http(exc) from exc
    await wait_opened(ctx, case_id)
    return EnergyCaseCreated(case_id=case_id, ocmw_id=ocmw_id)


@router.get("/energy/cases", response_model=EnergyCasePage, summary="List energy cases")
async def list_cases(principal: Reader, ctx: Ctx, phase: Phase | None = None,
                     page: Page = 1,
                     page_size: PageSize = 50) -> EnergyCasePage:
    column = "ocmw_id" if principal.role == "ocmw" else "netbeheerder"
    where, args = f"{column} = $1", [principal.org]
    if phase:
        where += " AND phase = $2"
        args.append(phase)
    total, rows = await fetch_page(ctx.pool, "proj_energy_cases", where, args, "notice_of_default_on DESC, case_id",
                                   page, page_size)
    items = [EnergyCaseSummary(
        case_id=r["case_id"], ocmw_id=r["ocmw_id"], netbeheerder=r["netbeheerder"], energy=r["energy"],
        phase=r["phase"], closing_reason=r["closing_reason"], rule_set_id=r["rule_set_id"],
        notice_of_default_on=r["notice_of_default_on"],
        total_debt=str(r["total_debt"]) if r["total_debt"] is not None else None,
        prepayment_active=r["prepayment_active"], minimal_supply=r["minimal_supply"]) for r in rows]
    return EnergyCasePage(items=items, page=page, page_size=page_size, total=total)


@router.get("/energy/cases/{case_id}", response_model=EnergyCaseState, summary="One energy case")
async def get_case(case_id: str, principal: Reader, ctx: Ctx) -> Response:
    await visible_case(ctx, principal, case_id)
    return await case_page(ctx, case_id, "energy")


class Household(BaseModel):
    name: str
    national_number: str
    address: str


@router.get("/energy/cases/{case_id}/household", response_model=Household,
            summary="The household's personal data, for its OCMW (logged in the access log)")
async def household(case_id: str, principal: Ocmw, ctx: Ctx) -> Household:
    await visible_case(ctx, principal, case_id)
    row = await ctx.pool.fetchrow("SELECT subject_id, sealed FROM energy_households WHERE case_id = $1", case_id)
    if row is None:
        raise HTTPException(404, "No such case.")
    await access_log.record(ctx.pool, principal, case_id, "case_work", ["name", "national_number", "address"],
                            "GET /v1/energy/cases/{id}/household")
    data = await ctx.personal_data().open(ctx.pool, row["subject_id"], bytes(row["sealed"]))
    return Household(**(data or {"name": ERASED, "national_number": ERASED, "address": ERASED}))


@router.get("/energy/cases/{case_id}/events", response_model=list[StoredEvent], summary="Domain events, in order")
async def get_events(case_id: str, principal: Reader, ctx: Ctx) -> list[StoredEvent]:
    await visible_case(ctx, principal, case_id)
    return await eventstore.case_events(ctx.pool, case_id)


@router.get("/energy/cases/{case_id}/timeline", response_model=Timeline,
            summary="Past events and upcoming deadlines of a case")
async def get_timeline(case_id: str, principal: Reader, ctx: Ctx) -> Timeline:
    await visible_case(ctx, principal, case_id)
    state = await energy_case(ctx, case_id)
    return Timeline(events=await eventstore.case_events(ctx.pool, case_id), upcoming=state.deadlines)


for _update, _summary, _path in (
    (EnergyCaseWorkflow.supplier_event, "Record what the commercial supplier did", "supplier-events"),
    (EnergyCaseWorkflow.request_prepayment, "The customer asks for prepayment now", "prepayment-requests"),
    (EnergyCaseWorkflow.lac_request, "Ask the LAC for advice (hearing date)", "lac-requests"),
    (EnergyCaseWorkflow.lac_advice, "Record the LAC's advice", "lac-advice"),
    (EnergyCaseWorkflow.winter_support_apply, "Apply for winter heating support", "winter-support"),
    (EnergyCaseWorkflow.winter_support_decision, "Decide on winter heating support", "winter-support/decision"),
    (EnergyCaseWorkflow.close, "Close the case", "close"),
):
    add_step(steps_router, update=_update, summary=_summary, path=_path, principal=require("ocmw"),
             owner_check=owned_by_ocmw)
# Before 2022-07-01 minimal supply came back on request once half the debt was repaid; under the later rule it comes
# back by itself below 150 euro, and a request answers 409 minimal_supply_restore_automatic.
add_step(steps_router, update=EnergyCaseWorkflow.minimal_supply_restore_request,
         summary="The customer asks to switch minimal supply back on (half the debt repaid; rule before 2022-07-01)",
         path="minimal-supply/restore-request", principal=require("ocmw"), owner_check=owned_by_ocmw,
         codes=(ErrorCode.MINIMAL_SUPPLY_RESTORE_AUTOMATIC,))


# ---- netbeheerder callbacks --------------------------------------------------------------------------------


@router.post("/integrations/netbeheerder/callbacks", tags=["Integrations"], status_code=202,
             summary="Signed callback from a netbeheerder",
             responses={200: {"description": "Already received (same event_id): no effect"}},
             openapi_extra=problem_codes(ErrorCode.UNAUTHENTICATED, ErrorCode.NOT_FOUND, ErrorCode.BODY_TOO_LARGE))
async def callback(request: Request, ctx: Ctx) -> JSONResponse:
    """HTTP in and out only; the intake itself is ``vangnet.services.callbacks``."""
    raw = await request.body()
    if len(raw) > MAX_CALLBACK_BYTES:
        raise HTTPException(413, "Callback body too large.")
    try:
        sender = callbacks.sender_of(ctx.settings.netbeheerder_secrets, request.headers.get(TIMESTAMP_HEADER),
                                     request.headers.get(SIGNATURE_HEADER), raw, now=time.time())
        cb = callbacks.parse(raw, sender)
        async with ctx.pool.acquire() as conn:
            intake = await callbacks.record(conn, cb, await ctx.today())
    except callbacks.CallbackRefused as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    if intake.outcome == "duplicate":
        return JSONResponse({"status": "duplicate", "event_id": cb.event_id}, status_code=200)
    if intake.outcome == "not_shared":
        return JSONResponse({"status": "not_shared", "reason": intake.reason}, status_code=202)
    if intake.outcome == "signal_created":
        return JSONResponse({"status": "signal_created", "signal_id": intake.signal_id}, status_code=202)
    await callbacks.forward(ctx.client, ctx.pool, cb, str(intake.case_id))
    return JSONResponse({"status": "accepted", "event_id": cb.event_id}, status_code=202)


@router.get("/signals", response_model=list[OcmwSignal], tags=["Energy cases"],
            summary="Outreach signals for the OCMW: payment problems of households without a case")
async def signals(principal: Ocmw, ctx: Ctx) -> list[OcmwSignal]:
    rows = await ctx.pool.fetch(
        "SELECT * FROM ocmw_signals WHERE ocmw_id = $1 ORDER BY received_at DESC LIMIT 500", principal.org)
    return [OcmwSignal(**{k: r[k] for k in OcmwSignal.model_fields}) for r in rows]
