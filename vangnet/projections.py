"""Read models built from the event log: FBU case list, claim inbox and payout totals.

Every projection is a pure function of the events in log order (no clock, no lookups elsewhere), so
``vangnet projections rebuild`` reproduces the live tables exactly.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal

import asyncpg

from schemas.events import StoredEvent

PROJECTOR = "fbu-read-models"
TABLES = ("proj_fbu_cases", "proj_claims", "proj_payout_totals", "proj_energy_cases")

Handler = Callable[[asyncpg.Connection, StoredEvent], Awaitable[None]]
_handlers: dict[str, Handler] = {}


def on(event_type: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _handlers[event_type] = fn
        return fn

    return register


async def _case_status(conn: asyncpg.Connection, e: StoredEvent, status: str) -> None:
    await conn.execute(
        "UPDATE proj_fbu_cases SET status = $2, updated_at = $3 WHERE case_id = $1", e.case_id, status, e.occurred_at
    )


@on("CaseOpened")
async def _opened(conn: asyncpg.Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        """INSERT INTO proj_fbu_cases (case_id, ocmw_id, status, market, municipality_nis, arrears_amount,
                                       opened_on, rule_set_id, updated_at)
           VALUES ($1, $2, 'draft', $3, $4, $5, $6::text::date, $7, $8)""",
        e.case_id, e.ocmw_id, d["rental_market"], d["municipality_nis"], Decimal(d["arrears_amount"]),
        d["opened_on"], d.get("rule_set_id"), e.occurred_at,
    )


@on("AgreementDrafted")
@on("AgreementAmended")
async def _agreement(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await conn.execute(
        """UPDATE proj_fbu_cases SET status = 'awaiting_signatures', agreement_version = $2, plan_total = $3,
                  updated_at = $4 WHERE case_id = $1""",
        e.case_id, e.data["version"], Decimal(e.data["plan_total"]), e.occurred_at,
    )


@on("AgreementInForce")
async def _in_force(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await conn.execute(
        """UPDATE proj_fbu_cases SET status = 'in_force', in_force_on = COALESCE(in_force_on, $2::text::date),
                  updated_at = $3 WHERE case_id = $1""",
        e.case_id, e.data["in_force_on"], e.occurred_at,
    )


@on("RepaymentRecorded")
async def _repayment(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE proj_fbu_cases SET repaid_total = $2, updated_at = $3 WHERE case_id = $1",
        e.case_id, Decimal(e.data["repaid_total"]), e.occurred_at,
    )


@on("PlanBreached")
async def _breached(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _case_status(conn, e, "plan_breached")


@on("StableHousingDeclared")
async def _stable(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _case_status(conn, e, "stable_housing")


@on("CaseClosed")
async def _closed(conn: asyncpg.Connection, e: StoredEvent) -> None:
    if e.case_kind == "energy":
        await conn.execute(
            "UPDATE proj_energy_cases SET phase = 'closed', closing_reason = $2, updated_at = $3 WHERE case_id = $1",
            e.case_id, e.data["reason"], e.occurred_at,
        )
        return
    await conn.execute(
        "UPDATE proj_fbu_cases SET status = 'closed', closing_reason = $2, updated_at = $3 WHERE case_id = $1",
        e.case_id, e.data["reason"], e.occurred_at,
    )


@on("ClaimSubmitted")
async def _claim_submitted(conn: asyncpg.Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        """INSERT INTO proj_claims (claim_id, case_id, ocmw_id, claim_kind, status, payouts, amount, rule_set_id,
                                    arrears_amount, agreement_version, agreement_in_force_on, submitted_on,
                                    attempt, updated_at)
           VALUES ($1, $2, $3, $4, 'claimed', $5::jsonb, $6, $7, $8, $9, $10::text::date, $11::text::date, $12, $13)
           ON CONFLICT (claim_id) DO UPDATE SET status = 'claimed', attempt = EXCLUDED.attempt,
                submitted_on = EXCLUDED.submitted_on, decided_on = NULL, decision_reason = NULL,
                updated_at = EXCLUDED.updated_at""",
        d["claim_id"], e.case_id, e.ocmw_id, d["claim_kind"], json.dumps(d["payouts"]), Decimal(d["amount"]),
        d["rule_set_id"], Decimal(d["arrears_amount"]), d["agreement_version"], d.get("agreement_in_force_on"),
        d["submitted_on"], d["attempt"], e.occurred_at,
    )
    if d["claim_kind"] == "initial":
        await conn.execute(
            "UPDATE proj_fbu_cases SET rule_set_id = $2, updated_at = $3 WHERE case_id = $1",
            e.case_id, d["rule_set_id"], e.occurred_at,
        )


async def _claim_decided(conn: asyncpg.Connection, e: StoredEvent, status: str) -> None:
    await conn.execute(
        """UPDATE proj_claims SET status = $2, decided_on = $3::text::date, decision_reason = $4, updated_at = $5
           WHERE claim_id = $1""",
        e.data["claim_id"], status, e.data["decided_on"], e.data.get("reason"), e.occurred_at,
    )


@on("ClaimApproved")
async def _approved(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _claim_decided(conn, e, "approved")


@on("ClaimRejected")
async def _rejected(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _claim_decided(conn, e, "rejected")


@on("PayoutPaid")
async def _paid(conn: asyncpg.Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        "UPDATE proj_claims SET status = 'paid', payment_id = $2, updated_at = $3 WHERE claim_id = $1",
        d["claim_id"], d["payment_id"], e.occurred_at,
    )
    for payout in d["payouts"]:
        await conn.execute(
            """INSERT INTO proj_payout_totals (ocmw_id, rule_set_id, kind, count, amount) VALUES ($1, $2, $3, 1, $4)
               ON CONFLICT (ocmw_id, rule_set_id, kind)
               DO UPDATE SET count = proj_payout_totals.count + 1, amount = proj_payout_totals.amount + $4""",
            e.ocmw_id, d["rule_set_id"], payout["kind"], Decimal(payout["amount"]),
        )
    await conn.execute(
        "UPDATE proj_fbu_cases SET paid_total = paid_total + $2, updated_at = $3 WHERE case_id = $1",
        e.case_id, Decimal(d["amount"]), e.occurred_at,
    )


# ---- energy ----------------------------------------------------------------------------------------------


@on("DefaultNoticeSent")
async def _notice(conn: asyncpg.Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        """INSERT INTO proj_energy_cases (case_id, ocmw_id, netbeheerder, energy, phase, rule_set_id,
                                          notice_of_default_on, updated_at)
           VALUES ($1, $2, $3, $4, 'notice_period', $5, $6::text::date, $7)""",
        e.case_id, e.ocmw_id, d["netbeheerder"], d["energy"], d["rule_set_id"], d["notice_of_default_on"],
        e.occurred_at,
    )


async def _energy(conn: asyncpg.Connection, e: StoredEvent, assignments: str, *values: object) -> None:
    await conn.execute(
        f"UPDATE proj_energy_cases SET {assignments}, updated_at = $2 WHERE case_id = $1",  # noqa: S608 - fixed
        e.case_id, e.occurred_at, *values,
    )


@on("ContractEnded")
async def _contract_ended(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _energy(conn, e, "phase = 'awaiting_takeover'")


@on("SocialSupplierTookOver")
async def _took_over(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _energy(conn, e, "phase = 'social_supplier'")


@on("PrepaymentActivated")
async def _prepayment(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _energy(conn, e, "phase = 'prepayment', prepayment_active = true, "
                           "minimal_supply = CASE WHEN energy = 'electricity' THEN 'normal' END")


@on("MinimalSupplyActivated")
async def _minimal(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _energy(conn, e, "minimal_supply = 'minimal'")


@on("MinimalSupplySwitchedOff")
async def _minimal_off(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _energy(conn, e, "minimal_supply = 'off'")


@on("MinimalSupplyRestored")
async def _minimal_restored(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _energy(conn, e, "minimal_supply = 'normal'")


@on("DebtUpdated")
async def _debt(conn: asyncpg.Connection, e: StoredEvent) -> None:
    await _energy(conn, e, "total_debt = $3", Decimal(e.data["total_debt"]))


async def apply(conn: asyncpg.Connection, event: StoredEvent) -> None:
    handler = _handlers.get(event.type)
    if handler is not None:
        await handler(conn, event)


async def catch_up(conn: asyncpg.Connection, batch: int = 1000,
                   progress: Callable[[int], None] | None = None) -> int:
    """Apply every event after the checkpoint; the caller provides the transaction."""
    from vangnet.eventstore import events_after

    position = await conn.fetchval(
        "SELECT position FROM projection_checkpoints WHERE projector = $1 FOR UPDATE", PROJECTOR
    )
    if position is None:
        await conn.execute("INSERT INTO projection_checkpoints VALUES ($1, 0) ON CONFLICT DO NOTHING", PROJECTOR)
        position = 0
    applied = 0
    while True:
        events = await events_after(conn, position, batch)
        if not events:
            break
        for event in events:
            await apply(conn, event)
            position = event.position
            applied += 1
        if progress is not None:
            progress(applied)
    await conn.execute("UPDATE projection_checkpoints SET position = $2 WHERE projector = $1", PROJECTOR, position)
    return applied


async def rebuild(conn: asyncpg.Connection, progress: Callable[[int], None] | None = None) -> int:
    """Drop the read models and replay the whole log into them, in one transaction."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7240002)")
        for table in TABLES:
            await conn.execute(f"TRUNCATE {table}")
        await conn.execute("DELETE FROM projection_checkpoints WHERE projector = $1", PROJECTOR)
        return await catch_up(conn, progress=progress)


async def snapshot(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, list[dict[str, object]]]:
    """Every read-model row, ordered, for comparing a rebuild with the live tables."""
    out: dict[str, list[dict[str, object]]] = {}
    for table in TABLES:
        rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3")  # noqa: S608
        out[table] = [dict(r) for r in rows]
    return out
