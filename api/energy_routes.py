"""Energy-case routes (OCMW of the household's municipality; the netbeheerder for its own connection points),
the signed netbeheerder callback endpoint and the OCMW's outreach signals."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api.case_documents import case_page, energy_case, wait_opened
from api.context import ApiContext, get_context, require
from api.paging import fetch_page
from api.steps import IdempotencyKey, add_step
from api.updates import rpc_to_http
from schemas.energy import (
    CloseEnergyCase,
    EnergyCaseInput,
    EnergyCaseState,
    LacAdvice,
    LacRequest,
    OpenEnergyCase,
    Phase,
    PrepaymentRequest,
    SupplierEvent,
    WinterSupportApplication,
    WinterSupportDecision,
)
from schemas.energy_rules import NoEnergyRuleSetError, select_energy_rule_set
from schemas.events import StoredEvent
from schemas.fbu import Deadline
from schemas.netbeheerder import SIGNATURE_HEADER, TIMESTAMP_HEADER, Callback, verify
from vangnet import access_log, eventstore, sharing
from vangnet.callbacks import forward
from vangnet.rulebook import load_energy_rule_book
from vangnet.tokens import Principal
from vangnet.vault import ERASED
from workflows.energy_case import EnergyCaseWorkflow

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["Energy cases"])
steps_router = APIRouter(prefix="/v1/energy", tags=["Energy cases"])
Ctx = Annotated[ApiContext, Depends(get_context)]
Reader = Annotated[Principal, Depends(require("ocmw", "netbeheerder"))]
Opener = Annotated[Principal, Depends(require("ocmw", "netbeheerder"))]
Ocmw = Annotated[Principal, Depends(require("ocmw"))]
CASE_NAMESPACE = uuid.UUID("0c7b7d2e-5d3c-4b8e-9a51-6a1f3f0e2b44")
PAYMENT_PROBLEMS = ("invoice_unpaid", "debt_updated", "invoice_issued")
MAX_CALLBACK_BYTES = 64 * 1024


def ocmw_of(municipality_nis: str) -> str:
    """Each municipality has one OCMW; its id is derived from the NIS code (e.g. ocmw-44021 for Gent)."""
    return f"ocmw-{municipality_nis}"


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


@router.post("/energy/cases", status_code=201, response_model=EnergyCaseCreated, summary="Open an energy case")
async def open_case(body: OpenEnergyCase, principal: Opener, ctx: Ctx, idempotency_key: IdempotencyKey = None
                    ) -> EnergyCaseCreated:
    ocmw_id = ocmw_of(body.household.municipality_nis)
    if principal.role == "ocmw" and principal.org != ocmw_id:
        raise HTTPException(422, f"This household lives in municipality {body.household.municipality_nis}; "
                                 f"its case belongs to {ocmw_id}.")
    if principal.role == "netbeheerder" and principal.org != body.netbeheerder:
        raise HTTPException(422, "A netbeheerder can only open cases for its own connection points.")
    if body.netbeheerder not in ctx.settings.netbeheerder_urls:
        raise HTTPException(422, f"Unknown netbeheerder '{body.netbeheerder}'.")
    today = await ctx.today()
    if body.notice_of_default_on > today:
        raise HTTPException(422, f"The notice of default date {body.notice_of_default_on} lies in the future.")
    book = load_energy_rule_book(ctx.settings.energy_rules_file)
    try:  # the workflow applies the rule set in force on the notice date: refuse a date no rule set covers
        select_energy_rule_set(book, body.notice_of_default_on)
    except NoEnergyRuleSetError as exc:
        raise HTTPException(422, str(exc)) from exc
    key = f"{principal.org}:{idempotency_key}" if idempotency_key else None
    case_id = "nrg-" + (uuid.uuid5(CASE_NAMESPACE, key).hex if key else uuid.uuid4().hex)
    async with ctx.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{body.ean}:{body.energy}")
        if await conn.fetchval("SELECT 1 FROM case_registry WHERE case_id = $1", case_id):
            return EnergyCaseCreated(case_id=case_id, ocmw_id=ocmw_id)  # the same request, repeated
        if await open_case_for(conn, body.ean, body.energy):
            raise HTTPException(409, f"There is already an open {body.energy} case for this connection point.")
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


async def open_case_for(conn: asyncpg.Connection | asyncpg.Pool, ean: str, energy: str,
                        netbeheerder: str | None = None) -> str | None:
    """The open case of a connection point, if any (a case without projection row yet counts as open); with
    ``netbeheerder``, only a case of that netbeheerder: a callback never reaches another operator's case."""
    value = await conn.fetchval(
        """SELECT e.case_id FROM energy_cases e LEFT JOIN proj_energy_cases p USING (case_id)
           WHERE e.ean = $1 AND e.energy = $2 AND COALESCE(p.phase, 'notice_period') <> 'closed'
             AND ($3::text IS NULL OR e.netbeheerder = $3)
           ORDER BY e.case_id LIMIT 1""", ean, energy, netbeheerder)
    return str(value) if value is not None else None


@router.get("/energy/cases", response_model=EnergyCasePage, summary="List energy cases")
async def list_cases(principal: Reader, ctx: Ctx, phase: Phase | None = None,
                     page: Annotated[int, Query(ge=1)] = 1,
                     page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> EnergyCasePage:
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


for _name, _model, _summary, _path in (
    ("supplier_event", SupplierEvent, "Record what the commercial supplier did", "supplier-events"),
    ("request_prepayment", PrepaymentRequest, "The customer asks for prepayment now", "prepayment-requests"),
    ("lac_request", LacRequest, "Ask the LAC for advice (hearing date)", "lac-requests"),
    ("lac_advice", LacAdvice, "Record the LAC's advice", "lac-advice"),
    ("winter_support_apply", WinterSupportApplication, "Apply for winter heating support", "winter-support"),
    ("winter_support_decision", WinterSupportDecision, "Decide on winter heating support",
     "winter-support/decision"),
    ("close", CloseEnergyCase, "Close the case", "close"),
):
    add_step(steps_router, name=_name, model=_model, summary=_summary, path=_path, principal=require("ocmw"),
             owner_check=owned_by_ocmw)


# ---- netbeheerder callbacks --------------------------------------------------------------------------------


def _sender(ctx: ApiContext, request: Request, raw: bytes) -> str | None:
    """The netbeheerder whose secret signed this body, or None (missing, forged or stale signature)."""
    now = time.time()
    for netbeheerder, secrets in ctx.settings.netbeheerder_secrets.items():
        if verify([s.get_secret_value() for s in secrets], request.headers.get(TIMESTAMP_HEADER),
                  request.headers.get(SIGNATURE_HEADER), raw, now=now):
            return netbeheerder
    return None


@router.post("/integrations/netbeheerder/callbacks", tags=["Integrations"], status_code=202,
             summary="Signed callback from a netbeheerder",
             responses={200: {"description": "Already received (same event_id): no effect"},
                        401: {"description": "Missing, forged or stale signature"},
                        404: {"description": "Unknown connection point"}})
async def callback(request: Request, ctx: Ctx) -> JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_CALLBACK_BYTES:
        raise HTTPException(413, "Callback body too large.")
    sender = _sender(ctx, request, raw)
    if sender is None:
        raise HTTPException(401, "Missing, invalid or expired signature.")
    try:
        cb = Callback.model_validate_json(raw)
    except ValidationError as exc:
        raise HTTPException(422, f"Invalid callback: {exc.error_count()} problem(s), first: "
                                 f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}") from exc
    if cb.netbeheerder != sender:
        raise HTTPException(401, "The callback names another netbeheerder than the one that signed it.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        if await conn.fetchval("SELECT 1 FROM netbeheerder_callbacks WHERE event_id = $1", cb.event_id):
            return JSONResponse({"status": "duplicate", "event_id": cb.event_id}, status_code=200)
        case_id = await open_case_for(conn, cb.ean, cb.energy, sender) or await conn.fetchval(
            "SELECT case_id FROM energy_cases WHERE ean = $1 AND energy = $2 AND netbeheerder = $3 "
            "ORDER BY case_id DESC LIMIT 1", cb.ean, cb.energy, sender)
        signal_id = None
        if case_id is None:
            nis = str(cb.data.get("municipality_nis") or "")
            if cb.type not in PAYMENT_PROBLEMS or not (len(nis) == 5 and nis.isdigit()):
                raise HTTPException(404, "Unknown connection point: no case for this EAN and energy.")
            decision = await sharing.check(conn, sharing.PAYMENT_SIGNAL, sender, ocmw_of(nis), await ctx.today())
            if not decision.allowed:
                await conn.execute(
                    """INSERT INTO netbeheerder_callbacks (event_id, netbeheerder, type, ean, energy, body)
                       VALUES ($1, $2, $3, $4, $5, $6::jsonb)""",
                    cb.event_id, sender, cb.type, cb.ean, cb.energy, cb.model_dump_json())
                return JSONResponse({"status": "not_shared", "reason": decision.reason}, status_code=202)
            signal_id = "sig-" + uuid.uuid4().hex
            await conn.execute(
                """INSERT INTO ocmw_signals (signal_id, ocmw_id, municipality_nis, kind, energy, netbeheerder,
                                             source_event_id) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                signal_id, ocmw_of(nis), nis, cb.type, cb.energy, sender, cb.event_id)
        await conn.execute(
            """INSERT INTO netbeheerder_callbacks (event_id, netbeheerder, type, ean, energy, body, case_id, signal_id)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)""",
            cb.event_id, sender, cb.type, cb.ean, cb.energy, cb.model_dump_json(), case_id, signal_id)
    log.info("netbeheerder callback stored", event_id=cb.event_id, type=cb.type, case_id=case_id,
             signal_id=signal_id)
    if signal_id is not None:
        return JSONResponse({"status": "signal_created", "signal_id": signal_id}, status_code=202)
    await forward(ctx.client, ctx.pool, cb, str(case_id))
    return JSONResponse({"status": "accepted", "event_id": cb.event_id}, status_code=202)


@router.get("/signals", response_model=list[OcmwSignal], tags=["Energy cases"],
            summary="Outreach signals for the OCMW: payment problems of households without a case")
async def signals(principal: Ocmw, ctx: Ctx) -> list[OcmwSignal]:
    rows = await ctx.pool.fetch(
        "SELECT * FROM ocmw_signals WHERE ocmw_id = $1 ORDER BY received_at DESC LIMIT 500", principal.org)
    return [OcmwSignal(**{k: r[k] for k in OcmwSignal.model_fields}) for r in rows]
