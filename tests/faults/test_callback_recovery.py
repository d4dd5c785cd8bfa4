"""A callback the netbeheerder never manages to deliver is fetched: the simulator drops every delivery of the
prepayment's callbacks for good (``drop_rate`` 1.0), and the case still reaches prepayment, because the worker's
callback recovery (a Temporal Schedule) asks the netbeheerder for the outcome of the overdue requests
(``GET /v1/requests/{key}``) and takes it in through the intake of a delivered callback. When the real callbacks
come after all, late, they are duplicates (200): each is applied once."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest

from schemas.netbeheerder import signature_headers
from tests.faults.harness import OCMW, assert_log_and_projections, fault_stack, say
from tests.faults.test_callbacks_worker_down import SECRET, fresh_ean

pytestmark = pytest.mark.integration
OVERDUE_SECONDS, EVERY_SECONDS = 5, 3  # an operator's settings, short for the test


async def _rows(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def rows(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    return asyncio.run(_rows(dsn, sql, *args))


def test_a_callback_never_delivered_is_recovered_and_applied_once(stack_database: str) -> None:
    started = time.monotonic()
    env = {"VANGNET_CALLBACK_OVERDUE_SECONDS": str(OVERDUE_SECONDS),
           "VANGNET_CALLBACK_RECOVERY_EVERY_SECONDS": str(EVERY_SECONDS)}
    with fault_stack(stack_database, worker_env=env) as stack:
        api = httpx.Client(base_url=stack.ws.api_url, timeout=30,
                           headers={"Authorization": f"Bearer {stack.token('ocmw', OCMW)}"})
        sim = httpx.Client(base_url=f"http://127.0.0.1:{stack.ws.ports['netbeheerder']}", timeout=30)
        ean, today = fresh_ean(), date.today()
        body = {"household": {"name": "Samira Benali", "national_number": "85.07.30-033.28",
                              "address": "Brugsesteenweg 12, 9000 Gent", "municipality_nis": "44021"},
                "ean": ean, "energy": "gas", "supplier": "Engie", "netbeheerder": "fluvius",
                "notice_of_default_on": today.isoformat()}
        r = api.post("/v1/energy/cases", json=body, headers={"Idempotency-Key": f"rec-{ean}"})
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]

        def events() -> list[tuple[str, dict[str, Any]]]:
            return [(e["type"], json.loads(e["data"])) for e in rows(
                stack_database, "SELECT type, data FROM domain_events WHERE case_id = $1 ORDER BY position", case_id)]

        def wait_for(what: str, probe: Any, within: float = 120) -> Any:
            deadline = time.monotonic() + within
            while not (found := probe()):
                assert time.monotonic() < deadline, f"{what} not within {within:.0f} s: {events()}"
                time.sleep(0.5)
            return found

        r = api.post(f"/v1/energy/cases/{case_id}/supplier-events", headers={"Idempotency-Key": f"rec-ce-{ean}"},
                     json={"type": "contract_ended", "on": today.isoformat()})
        assert r.status_code == 200, r.text
        wait_for("the takeover (delivered normally)", lambda: any(t == "SocialSupplierTookOver" for t, _ in events()))

        stack.faults("netbeheerder", drop_rate=1.0)  # from now on the simulator never delivers a callback
        r = api.post(f"/v1/energy/cases/{case_id}/prepayment-requests", headers={"Idempotency-Key": f"rec-p-{ean}"},
                     json={"note": "The customer asks for the prepayment function now"})
        assert r.status_code == 200, r.text
        asked = time.monotonic()

        def ours() -> list[dict[str, Any]]:
            return [q for q in sim.get("/v1/requests").json()["requests"] if q["request"]["ean"] == ean]

        wait_for("the prepayment's callbacks dropped", lambda: [q for q in ours() if q["type"] == "grant_emergency_"
                                                                "credit" and q["callbacks"]])
        dropped = {q["type"]: [c["status"] for c in q["callbacks"]] for q in ours()
                   if q["type"] in ("activate_prepayment", "grant_emergency_credit")}
        assert dropped == {"activate_prepayment": ["dropped"], "grant_emergency_credit": ["dropped"]}, dropped
        say(f"injected: drop_rate 1.0 after the takeover; the netbeheerder performed both requests of the prepayment "
            f"and delivered none of their callbacks: {dropped}")
        wait_for("both callbacks recovered", lambda: len(rows(
            stack_database, "SELECT 1 FROM netbeheerder_callbacks WHERE ean = $1 AND source = 'recovered' "
            "AND forwarded_at IS NOT NULL", ean)) == 2)
        recovered_after = time.monotonic() - asked
        state = wait_for("the case in prepayment", lambda: (s := api.get(f"/v1/energy/cases/{case_id}").json())[
            "phase"] == "prepayment" and s)
        assert state["prepayment_active"], state

        # The real callbacks, delivered late after all (signed, as the netbeheerder would): duplicates.
        late = []
        for q in ours():
            if q["type"] in ("activate_prepayment", "grant_emergency_credit"):
                raw = json.dumps(q["outcome"]).encode()
                late.append(httpx.post(f"{stack.ws.api_url}/v1/integrations/netbeheerder/callbacks", content=raw,
                                       timeout=30, headers={"Content-Type": "application/json",
                                                            **signature_headers(SECRET, raw)}).status_code)
        assert late == [200, 200], late
        time.sleep(EVERY_SECONDS + 2)  # another recovery run and the late deliveries: anything doubled shows now
        types = [t for t, _ in events()]
        assert types.count("PrepaymentActivated") == 1 and types.count("EmergencyCreditGranted") == 1, types
        stored = rows(stack_database, "SELECT type, source, forwarded_at IS NOT NULL AS fwd FROM "
                      "netbeheerder_callbacks WHERE ean = $1 ORDER BY received_at", ean)
        assert [(s["type"], s["source"], s["fwd"]) for s in stored] == [
            ("takeover_confirmed", "delivered", True), ("prepayment_activated", "recovered", True),
            ("emergency_credit_granted", "recovered", True)], stored
        requests = rows(stack_database, "SELECT type, recovered_event_id IS NOT NULL AS recovered, answered_at IS NOT "
                        "NULL AS answered FROM netbeheerder_requests WHERE case_id = $1 ORDER BY sent_at", case_id)
        assert [(q["type"], q["recovered"], q["answered"]) for q in requests] == [
            ("request_takeover", False, True), ("activate_prepayment", True, True),
            ("grant_emergency_credit", True, True)], requests
        assert "callback recovered from the netbeheerder" in stack.log("worker-1")
        streams, count = assert_log_and_projections(stack_database)
    say(f"verified: both callbacks recovered {recovered_after:.1f} s after the prepayment was asked (overdue after "
        f"{OVERDUE_SECONDS} s, recovery every {EVERY_SECONDS} s); the case in prepayment; the real callbacks sent "
        f"late answered {late} (duplicates); PrepaymentActivated and EmergencyCreditGranted once each; "
        f"{len(stored)} callbacks stored once (2 recovered); {count} events in {streams} streams without gap or "
        f"duplicate; projections equal a rebuild; test took {time.monotonic() - started:.0f} s")
