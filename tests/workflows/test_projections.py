"""Projections rebuilt from the whole event log equal the live read models."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import Stack, eventually
from tests.fbu_helpers import Driver
from vangnet.storage import projections
from vangnet.storage.eventstore import APPEND_LOCK


async def test_rebuild_reproduces_the_live_read_models(stack: Stack) -> None:
    d = Driver(stack)
    # A few cases in different states, so every projection handler has rows to produce.
    paid_case, _ = await d.in_force_case(arrears="3000.00", landlord_payment="500.00")
    claim = await eventually(lambda: d.claim(paid_case, "initial"))
    await d.decide(claim["claim_id"], "approve")
    rejected_case, _ = await d.in_force_case(arrears="1500.00", landlord_payment="0.00")
    claim = await eventually(lambda: d.claim(rejected_case, "initial"))
    await d.decide(claim["claim_id"], "reject", "Ontbrekende handtekening")
    closed_case = await d.open()
    await d.step(closed_case, "POST", "close", {"reason": "withdrawn"})
    await eventually(lambda: d.claim(paid_case, "initial", status="paid"))

    async with stack.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)  # no append in between
        live = await projections.snapshot(conn)
        replayed = await projections.rebuild(conn)
        rebuilt = await projections.snapshot(conn)
    assert replayed == await stack.pool.fetchval("SELECT count(*) FROM domain_events")
    assert rebuilt == live
    statuses = {r["case_id"]: r["status"] for r in live["proj_fbu_cases"]}
    assert statuses[paid_case] == "in_force" and statuses[closed_case] == "closed"
    claims = {r["case_id"]: r for r in live["proj_claims"]}
    assert claims[rejected_case]["status"] == "rejected" and claims[paid_case]["status"] == "paid"
    totals = {(r["ocmw_id"], r["kind"]): r["amount"] for r in live["proj_payout_totals"]}
    assert Decimal(str(totals[("ocmw-44021", "forfait")])) >= Decimal("422.00")


async def test_a_wiped_read_model_is_restored_by_rebuild(stack: Stack) -> None:
    d = Driver(stack)
    await d.in_force_case()
    async with stack.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
        live = await projections.snapshot(conn)
        await conn.execute("DELETE FROM proj_claims")
        await conn.execute("UPDATE proj_fbu_cases SET status = 'draft'")
        assert await projections.snapshot(conn) != live
        await projections.rebuild(conn)
        assert await projections.snapshot(conn) == live
