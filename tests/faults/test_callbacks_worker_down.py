"""Netbeheerder callbacks sent while the worker is down, duplicated, out of order and late (they happened two hours
before they are delivered): each is stored once at once (202, a repeat 200), and when a worker is back each is
applied once, in the order they happened, not the order they arrived."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from schemas.netbeheerder import signature_headers
from tests.faults.harness import OCMW, assert_log_and_projections, fault_stack, say

pytestmark = pytest.mark.integration
SECRET = "dev-secret-fluvius"  # the embedded default of both the API and the netbeheerder simulator


def fresh_ean() -> str:
    body = f"54144882{uuid.uuid4().int % 10**9:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


async def _events(dsn: str, case_id: str) -> list[tuple[str, dict[str, Any]]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT type, data FROM domain_events WHERE case_id = $1 ORDER BY position", case_id)
        return [(r["type"], json.loads(r["data"])) for r in rows]
    finally:
        await conn.close()


async def _stored(dsn: str, ean: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT count(*) AS n, count(forwarded_at) AS forwarded FROM netbeheerder_callbacks "
                                  "WHERE ean = $1 AND event_id LIKE 'fault-%'", ean)
        return int(row["n"]), int(row["forwarded"])
    finally:
        await conn.close()


def test_callbacks_while_the_worker_is_down(stack_database: str) -> None:
    started = time.monotonic()
    with fault_stack(stack_database) as stack:
        ocmw = {"Authorization": f"Bearer {stack.token('ocmw', OCMW)}"}
        ean, today = fresh_ean(), date.today()
        body = {"household": {"name": "Samira Benali", "national_number": "85.07.30-033.28",
                              "address": "Brugsesteenweg 12, 9000 Gent", "municipality_nis": "44021"},
                "ean": ean, "energy": "gas", "supplier": "Engie", "netbeheerder": "fluvius",
                "notice_of_default_on": today.isoformat()}
        r = httpx.post(f"{stack.ws.api_url}/v1/energy/cases", json=body, timeout=30,
                       headers={**ocmw, "Idempotency-Key": f"cb-{ean}"})
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]

        stack.kill_worker("worker-1")
        # What happened at the netbeheerder, two hours ago, ten minutes apart: an invoice, the debt, the invoice
        # paid, the debt again.
        at = datetime.now(UTC) - timedelta(hours=2)
        happened = [
            ("invoice_issued", {"invoice_id": "INV-1", "due_on": (today + timedelta(days=14)).isoformat(),
                                "amount": "180.00"}),
            ("debt_updated", {"total_debt": "500.00"}),
            ("invoice_paid", {"invoice_id": "INV-1"}),
            ("debt_updated", {"total_debt": "320.00"}),
        ]
        callbacks = [{"event_id": f"fault-{ean}-{i}", "ean": ean, "energy": "gas", "netbeheerder": "fluvius",
                      "occurred_at": (at + timedelta(minutes=10 * i)).isoformat(), "type": t, "data": d}
                     for i, (t, d) in enumerate(happened)]
        delivery = [3, 2, 1, 3, 0, 1, 2]  # newest first, each of three delivered twice
        answers = []
        for i in delivery:
            raw = json.dumps(callbacks[i]).encode()
            r = httpx.post(f"{stack.ws.api_url}/v1/integrations/netbeheerder/callbacks", content=raw, timeout=30,
                           headers={"Content-Type": "application/json", **signature_headers(SECRET, raw)})
            answers.append(r.status_code)
        stored, _ = asyncio.run(_stored(stack_database, ean))
        say(f"worker SIGKILLed; {len(delivery)} signed callbacks delivered in the order {delivery} (happened "
            f"0..3, two hours late, three of them twice): answers {answers}, {stored} stored")
        assert answers == [202, 202, 202, 200, 202, 200, 200], answers
        assert stored == len(callbacks)
        assert [t for t, _ in asyncio.run(_events(stack_database, case_id))] == ["DefaultNoticeSent",
                                                                              "NoticePeriodStarted"]

        stack.start_worker("worker-2")
        restarted = time.monotonic()
        deadline = time.monotonic() + 120
        while True:
            events = asyncio.run(_events(stack_database, case_id))
            if sum(t == "DebtUpdated" for t, _ in events) >= 2 and any(t == "InvoicePaid" for t, _ in events):
                break
            assert time.monotonic() < deadline, f"callbacks not applied within 120 s: {events}"
            time.sleep(0.5)
        time.sleep(2)  # anything applied twice would show by now
        events = asyncio.run(_events(stack_database, case_id))
        applied = [(t, d.get("total_debt") or d.get("invoice_id")) for t, d in events
                   if t in ("InvoiceIssued", "DebtUpdated", "InvoicePaid", "CallbackRejected")]
        assert applied == [("InvoiceIssued", "INV-1"), ("DebtUpdated", "500.00"), ("InvoicePaid", "INV-1"),
                           ("DebtUpdated", "320.00")], applied
        state = httpx.get(f"{stack.ws.api_url}/v1/energy/cases/{case_id}", headers=ocmw, timeout=30).json()
        assert state["total_debt"] == "320.00", state
        stored, forwarded = asyncio.run(_stored(stack_database, ean))
        assert stored == forwarded == len(callbacks)
        streams, count = assert_log_and_projections(stack_database)
    say(f"verified: applied {time.monotonic() - restarted:.1f} s after the worker was back, once each, in the order "
        f"they happened: {applied}; debt on the case {state['total_debt']}; {stored} callbacks stored and forwarded "
        f"once; {count} events in {streams} streams without gap or duplicate; projections equal a rebuild; test "
        f"took {time.monotonic() - started:.0f} s")
