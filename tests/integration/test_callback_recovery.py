"""The callback recovery's selection and intake on real PostgreSQL, against the netbeheerder simulator in process
(``httpx.ASGITransport``): which requests are overdue, and an outcome whose every delivery was dropped taken in
once, through the same intake as a delivered callback. The whole path over HTTP with a real worker is the fault
test ``tests/faults/test_callback_recovery.py``."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from schemas.netbeheerder import NetbeheerderRequest
from simulators.netbeheerder.app import create_app
from vangnet.services import callback_recovery
from vangnet.services.callback_recovery import Overdue, overdue, record_request
from vangnet.services.callbacks import parse, record

pytestmark = pytest.mark.integration

SIM = "http://nbsim.test"
AFTER, LOOKBACK = timedelta(minutes=15), timedelta(days=14)


def request(case_id: str, purpose: str, ean: str = "541448820000000015") -> NetbeheerderRequest:
    return NetbeheerderRequest(idempotency_key=f"{case_id}:{purpose}:1", type="activate_prepayment", ean=ean,
                               energy="gas", netbeheerder="fluvius", callback_url="http://127.0.0.1:9/callbacks")


async def sent(pool: asyncpg.Pool, case_id: str, purpose: str, ago: timedelta) -> str:
    req = request(case_id, purpose)
    await record_request(pool, req, case_id)
    await pool.execute("UPDATE netbeheerder_requests SET sent_at = now() - $2::interval WHERE idempotency_key = $1",
                       req.idempotency_key, ago)
    return req.idempotency_key


async def delivered(pool: asyncpg.Pool, key: str) -> None:
    body = {"event_id": f"{key}:done", "request_key": key}
    await pool.execute(
        "INSERT INTO netbeheerder_callbacks (event_id, netbeheerder, type, ean, energy, body) "
        "VALUES ($1, 'fluvius', 'prepayment_activated', '541448820000000015', 'gas', $2::jsonb)",
        f"{key}:done", json.dumps(body))


async def test_overdue_are_the_unanswered_requests_between_the_delay_and_the_lookback(pool: asyncpg.Pool) -> None:
    case = "nrg-" + uuid.uuid4().hex[:8]
    late = await sent(pool, case, "late", timedelta(minutes=20))
    older = await sent(pool, case, "older", timedelta(hours=3))
    answered = await sent(pool, case, "answered", timedelta(minutes=30))
    recent = await sent(pool, case, "recent", timedelta(minutes=5))  # not overdue yet
    ancient = await sent(pool, case, "ancient", timedelta(days=20))  # beyond the lookback: an operator's
    await delivered(pool, answered)
    await record_request(pool, request(case, "late"), case)  # a retried activity keeps the first time

    async with pool.acquire() as conn:
        found = [o for o in await overdue(conn, datetime.now(UTC), AFTER, LOOKBACK) if o.case_id == case]
    assert [o.idempotency_key for o in found] == [older, late], found  # oldest first
    assert {recent, ancient, answered}.isdisjoint(o.idempotency_key for o in found)
    marked = await pool.fetchval("SELECT answered_at IS NOT NULL FROM netbeheerder_requests WHERE idempotency_key = "
                                 "$1", answered)
    assert marked, "a request whose callback is stored is marked answered, and never asked for again"
    later = datetime.now(UTC) + timedelta(minutes=11)  # ten minutes on, the recent one is overdue too
    async with pool.acquire() as conn:
        keys = [o.idempotency_key for o in await overdue(conn, later, AFTER, LOOKBACK) if o.case_id == case]
    assert keys == [older, late, recent]
    await pool.execute("DELETE FROM netbeheerder_requests WHERE case_id = $1", case)  # the next tests count theirs


class FakeClient:
    """Stands in for the Temporal client: records the signals ``forward`` sends."""

    def __init__(self) -> None:
        self.signals: list[tuple[str, Any]] = []

    def get_workflow_handle(self, case_id: str) -> Any:
        client = self

        class Handle:
            async def signal(self, _signal: Any, arg: Any) -> None:
                client.signals.append((case_id, arg))

        return Handle()


async def test_a_dropped_callback_is_recovered_once_through_the_intake(pool: asyncpg.Pool) -> None:
    case, ean = "nrg-" + uuid.uuid4().hex[:8], f"5414488{uuid.uuid4().int % 10**11:011d}"
    await pool.execute("INSERT INTO case_registry (case_id, kind, ocmw_id) VALUES ($1, 'energy', 'ocmw-44021')", case)
    await pool.execute("INSERT INTO energy_cases VALUES ($1, $2, 'gas', 'fluvius')", case, ean)
    sim = create_app(secret="s", delay_ms=0)
    sim.state.simulator.faults = sim.state.simulator.faults.model_copy(update={"drop_rate": 1.0})
    client = FakeClient()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url=SIM) as http:
        req = request(case, "prepayment", ean)
        assert (await http.post("/v1/requests", json=req.model_dump(mode="json"))).status_code == 202
        for _ in range(100):  # performed, its one delivery dropped
            view = (await http.get(f"/v1/requests/{req.idempotency_key}")).json()
            if view["callbacks"]:
                break
            await asyncio.sleep(0.02)
        assert view["callbacks"][0]["status"] == "dropped" and view["outcome"]["request_key"] == req.idempotency_key
        assert (await http.get("/v1/requests/nope")).status_code == 404
        await record_request(pool, req, case)
        await pool.execute("UPDATE netbeheerder_requests SET sent_at = now() - interval '1 hour' WHERE case_id = $1",
                           case)

        async def run() -> tuple[list[Any], int]:
            return await callback_recovery.recover(client, pool, http, {"fluvius": SIM},  # type: ignore[arg-type]
                                                   datetime.now(UTC), AFTER, LOOKBACK)

        recovered, missing = await run()
        assert [(r.event_id, r.case_id, r.intake) for r in recovered] == [(f"{req.idempotency_key}:done", case,
                                                                            "accepted")]
        assert missing == 0
        again, _ = await run()  # answered now: not asked for again, nothing stored or signalled twice
        assert again == []
        # The real callback, arriving late after all, is a duplicate for the same intake.
        raw = json.dumps(view["outcome"]).encode()
        async with pool.acquire() as conn:
            assert (await record(conn, parse(raw, "fluvius"), datetime.now(UTC).date())).outcome == "duplicate"
    rows = await pool.fetch("SELECT source, case_id, forwarded_at IS NOT NULL AS fwd FROM netbeheerder_callbacks "
                            "WHERE body ->> 'request_key' = $1", req.idempotency_key)
    assert [(r["source"], r["case_id"], r["fwd"]) for r in rows] == [("recovered", case, True)]
    assert [(c, cb.event_id) for c, cb in client.signals] == [(case, f"{req.idempotency_key}:done")]
    row = await pool.fetchrow("SELECT recovered_event_id, answered_at IS NOT NULL AS answered, checks FROM "
                              "netbeheerder_requests WHERE idempotency_key = $1", req.idempotency_key)
    assert (row["recovered_event_id"], row["answered"], row["checks"]) == (f"{req.idempotency_key}:done", True, 1)


async def test_a_request_not_performed_yet_or_unknown_stays_overdue_with_its_problem(pool: asyncpg.Pool) -> None:
    case = "nrg-" + uuid.uuid4().hex[:8]
    key = await sent(pool, case, "unknown", timedelta(hours=1))
    sim = create_app(secret="s")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url=SIM) as http:
        got = await callback_recovery.recover_one(FakeClient(), pool, http, {"fluvius": SIM},  # type: ignore[arg-type]
                                                  Overdue(key, case, "fluvius", "activate_prepayment",
                                                          datetime.now(UTC)), datetime.now(UTC).date())
    assert got is None
    row = await pool.fetchrow("SELECT answered_at, checks, last_problem FROM netbeheerder_requests "
                              "WHERE idempotency_key = $1", key)
    assert row["answered_at"] is None and row["checks"] == 1
    assert row["last_problem"] == "the netbeheerder does not know this request"


async def test_delivery_and_recovery_of_one_callback_at_the_same_moment_store_it_once(pool: asyncpg.Pool) -> None:
    """Both intakes run concurrently on their own connections: one stores, the other finds it (no 500, no twin)."""
    case, ean = "nrg-" + uuid.uuid4().hex[:8], f"5414488{uuid.uuid4().int % 10**11:011d}"
    await pool.execute("INSERT INTO case_registry (case_id, kind, ocmw_id) VALUES ($1, 'energy', 'ocmw-44021')", case)
    await pool.execute("INSERT INTO energy_cases VALUES ($1, $2, 'gas', 'fluvius')", case, ean)
    event_id = f"{case}:prepayment:1:done"
    raw = json.dumps({"event_id": event_id, "type": "prepayment_activated", "netbeheerder": "fluvius", "ean": ean,
                      "energy": "gas", "occurred_at": datetime.now(UTC).isoformat(), "data": {}}).encode()
    cb = parse(raw, "fluvius")
    today = datetime.now(UTC).date()
    for _ in range(5):  # a few rounds: the race window is small
        await pool.execute("DELETE FROM netbeheerder_callbacks WHERE event_id = $1", event_id)
        async with pool.acquire() as a, pool.acquire() as b:
            outcomes = await asyncio.gather(record(a, cb, today, "delivered"), record(b, cb, today, "recovered"))
        assert sorted(o.outcome for o in outcomes) == ["accepted", "duplicate"], outcomes
        assert await pool.fetchval("SELECT count(*) FROM netbeheerder_callbacks WHERE event_id = $1", event_id) == 1
