"""Every path of domain.md §2 on the time-skipping server, with the netbeheerder simulator over real HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from schemas.money import round_cents
from tests.conftest import LiveServer, Stack, eventually
from tests.energy_helpers import EnergyDriver, callback, next_date


@pytest.fixture
def driver(stack: Stack) -> EnergyDriver:
    return EnergyDriver(stack)


async def test_gas_from_notice_of_default_to_prepayment_after_20_unpaid_days(
        driver: EnergyDriver, netbeheerder: LiveServer) -> None:
    case_id, code = await driver.open("gas")
    opened = await driver.today()
    case = await driver.case(case_id)
    assert case["rule_set_id"] == "energy-2022-07" and case["phase"] == "notice_period"
    assert case["notice_period_ends_on"] == str(opened + timedelta(days=45))
    await driver.sleep_until(opened + timedelta(days=45))
    assert (await driver.case(case_id))["phase"] == "notice_period"
    await driver.sleep_until(opened + timedelta(days=46))
    await driver.wait_for(case_id, "SocialSupplierTookOver")  # takeover requested and confirmed over HTTP
    invoice_due = (await driver.today()) + timedelta(days=14)
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{netbeheerder.url}/v1/emit", json={
            "type": "invoice_issued", "ean": code, "energy": "gas",
            "data": {"invoice_id": "INV-1", "amount": "312.40", "due_on": str(invoice_due)},
            "callback_url": f"{driver.stack.url}/v1/integrations/netbeheerder/callbacks"})
        assert r.status_code in (200, 201, 202), r.text
    await driver.wait_for(case_id, "InvoiceIssued")
    await driver.sleep_until(invoice_due + timedelta(days=20))
    assert "PrepaymentActivationRequested" not in await driver.types(case_id)
    await driver.sleep_until(invoice_due + timedelta(days=21))
    requested = await driver.wait_for(case_id, "PrepaymentActivationRequested")
    assert requested[0]["data"]["reason"] == "invoice_unpaid"
    await driver.wait_for(case_id, "PrepaymentActivated")
    credit = await driver.wait_for(case_id, "EmergencyCreditGranted")
    assert credit[0]["data"]["amount"] == "75.00"
    assert {k: credit[0]["data"][k] for k in ("indexed", "index_set", "index_factor")} == {
        "indexed": True, "index_set": False, "index_factor": None}
    types = await driver.types(case_id)
    assert types[:4] == ["DefaultNoticeSent", "NoticePeriodStarted", "ContractEnded", "SocialSupplierTookOver"]
    case = await driver.case(case_id)
    assert case["phase"] == "prepayment" and case["prepayment_active"] is True


async def test_electricity_prepayment_is_activated_at_takeover(driver: EnergyDriver) -> None:
    case_id, _ = await driver.open("electricity")
    await driver.step(case_id, "supplier-events", {"type": "contract_ended", "on": str(await driver.today())})
    requested = await driver.wait_for(case_id, "PrepaymentActivationRequested")
    assert requested[0]["data"]["reason"] == "takeover"
    await driver.wait_for(case_id, "EmergencyCreditGranted")
    case = await driver.case(case_id)
    assert case["minimal_supply"] == "normal" and case["emergency_credit"] == "75.00"
    # the shipped book sets no index factor: the unindexed base is granted, and the case says so
    assert case["emergency_credit_index_set"] is False and "index not set" in case["emergency_credit_note"]


@pytest.mark.parametrize("event", ["payment_received", "payment_plan_agreed", "new_supplier_found"])
async def test_supplier_events_end_the_case_during_the_notice_period(driver: EnergyDriver, event: str) -> None:
    case_id, _ = await driver.open("gas")
    step = await driver.step(case_id, "supplier-events", {"type": event, "on": str(await driver.today())})
    assert step["status"] == "closed"
    case = await driver.case(case_id)
    assert case["closing_reason"] == event
    await driver.step(case_id, "supplier-events", {"type": "contract_ended", "on": str(await driver.today())},
                      status=409)


async def test_rule_set_follows_the_notice_date(driver: EnergyDriver) -> None:
    before, _ = await driver.open("gas", notice=date(2022, 6, 30))
    after, _ = await driver.open("gas", notice=date(2022, 7, 1))
    b, a = await driver.case(before), await driver.case(after)
    assert (b["rule_set_id"], b["notice_period_ends_on"]) == ("energy-pre-2022-07", "2022-08-29")
    assert (a["rule_set_id"], a["notice_period_ends_on"]) == ("energy-2022-07", "2022-08-15")
    started = next(e for e in await driver.events(before) if e["type"] == "DefaultNoticeSent")
    assert started["data"]["registered_letter_required"] is True


async def test_duplicate_and_reordered_callbacks_count_once(driver: EnergyDriver) -> None:
    case_id, code = await driver.open("gas")
    # prepayment_activated arrives before takeover_confirmed, and twice.
    early = callback(code, "prepayment_activated", event_id=f"reorder-{code}")
    assert (await driver.post_callback(early)).status_code == 202
    assert (await driver.post_callback(early)).status_code == 200
    await driver.wait_for(case_id, "PrepaymentActivated")
    late = callback(code, "takeover_confirmed")
    assert (await driver.post_callback(late)).status_code == 202
    await eventually(lambda: _forwarded(driver, late["event_id"]))
    types = await driver.types(case_id)
    assert types.count("SocialSupplierTookOver") == 1 and types.count("PrepaymentActivated") == 1
    assert types.index("SocialSupplierTookOver") < types.index("PrepaymentActivated")
    took_over = next(e for e in await driver.events(case_id) if e["type"] == "SocialSupplierTookOver")
    assert took_over["data"]["inferred"] is True


async def _forwarded(driver: EnergyDriver, event_id: str) -> bool:
    return bool(await driver.stack.pool.fetchval(
        "SELECT forwarded_at IS NOT NULL FROM netbeheerder_callbacks WHERE event_id = $1", event_id))


async def test_minimal_supply_comes_back_strictly_below_150(driver: EnergyDriver) -> None:
    case_id, code = await driver.in_prepayment("electricity")
    outside_ban = next_date(await driver.today(), 4, 5)
    await driver.sleep_until(outside_ban)
    await driver.step(case_id, "lac-requests", {"hearing_on": str(outside_ban + timedelta(days=10))})
    await driver.sleep_until(outside_ban + timedelta(days=10))
    await driver.step(case_id, "lac-advice", {"advice": "switch_off_minimal_supply",
                                              "on": str(outside_ban + timedelta(days=10))})
    await driver.wait_for(case_id, "DisconnectionScheduled")
    await driver.wait_for(case_id, "MinimalSupplySwitchedOff")  # the simulator confirms the switch-off
    await driver.post_callback(callback(code, "debt_updated", "electricity", {"total_debt": "150.00"}))
    await driver.wait_for(case_id, "DebtUpdated")
    assert "MinimalSupplyRestored" not in await driver.types(case_id)
    await driver.post_callback(callback(code, "debt_updated", "electricity", {"total_debt": "149.99"}))
    restored = await driver.wait_for(case_id, "MinimalSupplyRestored")
    assert restored[0]["data"]["total_debt"] == "149.99"
    assert (await driver.case(case_id))["minimal_supply"] == "normal"


async def test_disconnection_advised_in_winter_waits_for_the_end_of_the_ban(driver: EnergyDriver) -> None:
    case_id, _ = await driver.in_prepayment("gas")
    in_ban = next_date(await driver.today(), 12, 5)
    await driver.sleep_until(in_ban)
    await driver.step(case_id, "lac-requests", {"hearing_on": str(in_ban + timedelta(days=7))})
    await driver.sleep_until(in_ban + timedelta(days=7))
    step = await driver.step(case_id, "lac-advice", {"advice": "disconnect", "on": str(in_ban + timedelta(days=7))})
    ban_end = date(in_ban.year + 1, 3, 1)
    assert str(ban_end) in step["message"]
    deferred = await driver.wait_for(case_id, "DisconnectionDeferred")
    assert deferred[0]["data"]["until"] == str(ban_end)
    await driver.sleep_until(ban_end - timedelta(days=1))
    assert "DisconnectionScheduled" not in await driver.types(case_id)
    await driver.sleep_until(ban_end)
    scheduled = await driver.wait_for(case_id, "DisconnectionScheduled")
    assert scheduled[0]["data"]["on"] == str(ban_end)


async def test_winter_heating_support_top_ups_and_reimbursement(driver: EnergyDriver,
                                                                 netbeheerder: LiveServer) -> None:
    case_id, _ = await driver.in_prepayment("gas")
    november = next_date(await driver.today(), 11, 3)
    await driver.sleep_until(november)
    await driver.step(case_id, "winter-support", {"average_monthly_winter_consumption_eur": "200.00", "heating": "gas"})
    step = await driver.step(case_id, "winter-support/decision", {"decision": "approve"})
    assert "60.00" in step["message"]  # 60% of 200 per month, per half month
    await driver.wait_for(case_id, "TopUpLoaded")
    await driver.walk_until(date(november.year + 1, 4, 2), netbeheerder)
    claimed = await driver.wait_for(case_id, "ReimbursementClaimed")
    topups = [e for e in await driver.events(case_id) if e["type"] == "TopUpLoaded"]
    loaded = sum(Decimal(e["data"]["amount"]) for e in topups)
    assert len(topups) >= 9  # approval day plus every 1st and 16th until 31 March
    assert claimed[0]["data"]["loaded_total"] == str(loaded)
    assert claimed[0]["data"]["rate"] == "0.70"
    assert Decimal(claimed[0]["data"]["amount"]) == round_cents(loaded * Decimal("0.70"))


async def test_winter_support_outside_the_window_is_refused(driver: EnergyDriver) -> None:
    case_id, _ = await driver.in_prepayment("gas")
    await driver.sleep_until(next_date(await driver.today(), 4, 10))
    r = await driver.api.post(f"/v1/energy/cases/{case_id}/winter-support",
                              json={"average_monthly_winter_consumption_eur": "200.00"}, headers=driver.ocmw)
    assert r.status_code == 409 and "1 November to 31 March" in r.json()["detail"]
    old_name = await driver.api.post(f"/v1/energy/cases/{case_id}/winter-support",
                                     json={"average_winter_consumption_eur": "200.00"}, headers=driver.ocmw)
    assert old_name.status_code == 422  # renamed: the monthly average has its own name now
    assert {e["field"] for e in old_name.json()["errors"]} == {
        "average_monthly_winter_consumption_eur", "average_winter_consumption_eur"}


async def test_customer_left_and_debt_paid_end_the_case(driver: EnergyDriver) -> None:
    left, code = await driver.in_prepayment("gas")
    await driver.post_callback(callback(code, "customer_left"))
    await driver.wait_for(left, "CaseClosed")
    assert (await driver.case(left))["closing_reason"] == "back_to_commercial_supplier"
    paid, code2 = await driver.in_prepayment("gas")
    await driver.post_callback(callback(code2, "debt_updated", data={"total_debt": "0.00"}))
    await driver.wait_for(paid, "CaseClosed")
    assert (await driver.case(paid))["closing_reason"] == "debt_paid"
    moved, _ = await driver.open("gas")
    await driver.step(moved, "close", {"reason": "moved"})
    assert (await driver.case(moved))["closing_reason"] == "moved"


async def test_callback_security_and_signals(driver: EnergyDriver) -> None:
    case_id, code = await driver.open("gas")
    url = "/v1/integrations/netbeheerder/callbacks"
    body = callback(code, "takeover_confirmed")
    import json as _json

    raw = _json.dumps(body).encode()
    assert (await driver.api.post(url, content=raw)).status_code == 401
    assert (await driver.post_callback(body, secret="forged")).status_code == 401
    import time as _time

    assert (await driver.post_callback(body, ts=int(_time.time()) - 301)).status_code == 401
    unknown = callback(driver.new_ean(), "takeover_confirmed")
    assert (await driver.post_callback(unknown)).status_code == 404
    assert (await driver.post_callback(body)).status_code == 202
    assert (await driver.post_callback(body)).status_code == 200
    # A payment problem for a household without a case becomes an outreach signal for its OCMW, not a case.
    problem = callback(driver.new_ean(), "invoice_unpaid", data={"invoice_id": "X1", "municipality_nis": "44021"})
    r = await driver.post_callback(problem)
    assert r.status_code == 202 and r.json()["status"] == "signal_created"
    signals = (await driver.api.get("/v1/signals", headers=driver.ocmw)).json()
    assert any(s["signal_id"] == r.json()["signal_id"] and s["kind"] == "invoice_unpaid" for s in signals)
    other = driver.stack.token("ocmw", "ocmw-11002")
    assert all(s["signal_id"] != r.json()["signal_id"]
               for s in (await driver.api.get("/v1/signals", headers=other)).json())
    assert (await driver.api.get(f"/v1/energy/cases/{case_id}", headers=other)).status_code == 404


async def test_bad_input_on_energy_routes(driver: EnergyDriver) -> None:
    from tests.energy_helpers import open_body

    h = driver.ocmw
    bad = open_body("541448820000000000")
    bad["ean"] = bad["ean"][:-1] + str((int(bad["ean"][-1]) + 1) % 10)
    assert (await driver.api.post("/v1/energy/cases", json=bad, headers=h)).status_code == 422
    future = open_body(driver.new_ean(), notice=(await driver.today()) + timedelta(days=3))
    r = await driver.api.post("/v1/energy/cases", json=future, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "date_in_future" and "future" in r.json()["detail"]
    elsewhere = open_body(driver.new_ean(), nis="11002")
    r = await driver.api.post("/v1/energy/cases", json=elsewhere, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "wrong_municipality" and "ocmw-11002" in r.json()["detail"]
    case_id, code = await driver.open("gas")
    again = open_body(code, notice=await driver.today())
    assert (await driver.api.post("/v1/energy/cases", json=again, headers=h)).status_code == 409
    await driver.step(case_id, "lac-advice", {"advice": "disconnect", "on": str(await driver.today())}, status=409)
    await driver.step(case_id, "prepayment-requests", {}, status=409)
