"""Which rule applies, on the time-skipping server: an energy case whose notice of default came before 2022-07-01
gets the later rules for later facts (domain.md §2), and the OCMW's request to restore minimal supply under the
earlier rule. The earlier rule can only be met in the future with a rule book whose change is moved there (the
clock cannot go back to 2022): the stack's energy rule file is rewritten for that and restored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Stack
from tests.energy_helpers import (
    EnergyDriver,
    callback,
    outside_winter_ban,
    shifted_energy_book,
    switch_minimal_supply_off,
)

OLD, NEW = "energy-pre-2022-07", "energy-2022-07"
RESTORE = "minimal-supply/restore-request"


@pytest.fixture
def driver(stack: Stack) -> EnergyDriver:
    return EnergyDriver(stack)


@pytest.fixture
def energy_book(energy_rules_file: Path) -> Iterator[Path]:
    """The stack's energy rule file, restored after the test."""
    original = energy_rules_file.read_text(encoding="utf-8")
    yield energy_rules_file
    energy_rules_file.write_text(original, encoding="utf-8")


def data_of(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == event_type]


async def report_debt(driver: EnergyDriver, case_id: str, code: str, amount: str, count: int) -> dict[str, Any]:
    await driver.post_callback(callback(code, "debt_updated", "electricity", {"total_debt": amount}))
    return (await driver.wait_for(case_id, "DebtUpdated", count))[-1]["data"]


async def restore_request(driver: EnergyDriver, case_id: str, key: str) -> tuple[int, dict[str, Any]]:
    r = await driver.api.post(f"/v1/energy/cases/{case_id}/{RESTORE}", json={"note": "the customer asks"},
                              headers={**driver.ocmw, "Idempotency-Key": key})
    return r.status_code, r.json()


async def test_pre_2022_notice_gas_invoice_due_after_the_change_gets_the_20_day_term(driver: EnergyDriver) -> None:
    case_id, code = await driver.open("gas", notice=date(2022, 6, 15))
    await driver.wait_for(case_id, "SocialSupplierTookOver")  # the 60-day notice period ended long ago
    events = await driver.events(case_id)
    assert data_of(events, "NoticePeriodStarted")[0] == {"days": 60, "ends_on": "2022-08-14", "rule_set_id": OLD}
    assert data_of(events, "DefaultNoticeSent")[0]["registered_letter_required"] is True
    due = (await driver.today()) + timedelta(days=14)
    await driver.post_callback(callback(code, "invoice_issued", "gas",
                                        {"invoice_id": "INV-20", "amount": "120.00", "due_on": str(due)}))
    issued = (await driver.wait_for(case_id, "InvoiceIssued"))[0]["data"]
    assert (issued["rule_set_id"], issued["prepayment_after_unpaid_days"]) == (NEW, 20)
    case = await driver.case(case_id)
    assert case["rule_set_id"] == OLD and case["invoices"][0]["prepayment_after_unpaid_days"] == 20
    assert {"kind": "prepayment_activation", "due_on": str(due + timedelta(days=21))} in case["deadlines"]
    await driver.sleep_until(due + timedelta(days=20))
    assert "PrepaymentActivationRequested" not in await driver.types(case_id)
    await driver.sleep_until(due + timedelta(days=21))
    requested = (await driver.wait_for(case_id, "PrepaymentActivationRequested"))[0]["data"]
    assert (requested["reason"], requested["days"], requested["rule_set_id"]) == ("invoice_unpaid", 20, NEW)
    credit = (await driver.wait_for(case_id, "EmergencyCreditGranted"))[0]["data"]
    assert credit["rule_set_id"] == NEW


async def test_pre_2022_notice_gets_prepayment_at_takeover_and_minimal_supply_back_below_150(
        driver: EnergyDriver) -> None:
    await driver.sleep_until(outside_winter_ban(await driver.today()))
    case_id, code = await driver.open("electricity", notice=date(2022, 6, 15))
    requested = (await driver.wait_for(case_id, "PrepaymentActivationRequested"))[0]["data"]
    assert (requested["reason"], requested["rule_set_id"]) == ("takeover", NEW)  # the takeover's day rules
    took_over = data_of(await driver.events(case_id), "SocialSupplierTookOver")[0]
    assert took_over["rule_set_id"] == NEW
    await driver.wait_for(case_id, "PrepaymentActivated")
    await switch_minimal_supply_off(driver, case_id)
    assert (await report_debt(driver, case_id, code, "412.60", 1))["rule_set_id"] == NEW
    status, problem = await restore_request(driver, case_id, f"{case_id}-early")
    assert (status, problem["code"]) == (409, "minimal_supply_restore_automatic"), problem
    assert "automatisch" in problem["detail"] and "150.00" in problem["detail"]
    await report_debt(driver, case_id, code, "150.00", 2)
    assert "MinimalSupplyRestored" not in await driver.types(case_id)
    await report_debt(driver, case_id, code, "149.99", 3)
    restored = (await driver.wait_for(case_id, "MinimalSupplyRestored"))[0]["data"]
    assert (restored["rule_set_id"], restored["threshold"], restored["on_request"]) == (NEW, "150.00", False)
    case = await driver.case(case_id)
    assert case["minimal_supply"] == "normal" and case["rule_set_id"] == OLD and case["debt_rule_set_id"] == NEW


async def test_restore_on_request_before_the_change_and_automatic_after(driver: EnergyDriver,
                                                                        energy_book: Path) -> None:
    day0 = outside_winter_ban(await driver.today())
    await driver.sleep_until(day0)
    cutover = day0 + timedelta(days=20)
    energy_book.write_text(json.dumps(shifted_energy_book(cutover)), encoding="utf-8")
    case_id, code = await driver.open("electricity", notice=day0)
    await driver.step(case_id, "supplier-events", {"type": "contract_ended", "on": str(day0)})
    took_over = (await driver.wait_for(case_id, "SocialSupplierTookOver"))[0]["data"]
    assert took_over["rule_set_id"] == OLD  # before the (moved) change: no prepayment at takeover
    assert (await report_debt(driver, case_id, code, "400.00", 1))["rule_set_id"] == OLD
    await switch_minimal_supply_off(driver, case_id)
    assert "PrepaymentActivationRequested" not in await driver.types(case_id)
    status, problem = await restore_request(driver, case_id, f"{case_id}-nothing-repaid")
    assert (status, problem["code"]) == (409, "invalid_for_case") and "0.00%" in problem["detail"], problem
    await report_debt(driver, case_id, code, "240.00", 2)
    status, problem = await restore_request(driver, case_id, f"{case_id}-40")
    assert (status, problem["code"]) == (409, "invalid_for_case") and "40.00%" in problem["detail"], problem
    await report_debt(driver, case_id, code, "120.00", 3)  # below 150, but the earlier rule is not automatic
    assert "MinimalSupplyRestored" not in await driver.types(case_id)
    status, answer = await restore_request(driver, case_id, f"{case_id}-70")
    assert status == 200 and "70.00%" in answer["message"], answer
    assert (await restore_request(driver, case_id, f"{case_id}-70")) == (status, answer)  # applied once
    restored = await driver.wait_for(case_id, "MinimalSupplyRestored")
    assert len(restored) == 1
    assert {k: restored[0]["data"][k] for k in ("rule_set_id", "on_request", "debt_at_switch_off", "repaid_share")} \
        == {"rule_set_id": OLD, "on_request": True, "debt_at_switch_off": "400.00", "repaid_share": "0.7000"}
    assert (await driver.case(case_id))["minimal_supply"] == "normal"
    # After the change the same case's next switch-off comes back by itself, by the day of the debt report.
    await driver.sleep_until(cutover + timedelta(days=1))
    await switch_minimal_supply_off(driver, case_id, count=2)
    assert (await report_debt(driver, case_id, code, "300.00", 4))["rule_set_id"] == NEW
    status, problem = await restore_request(driver, case_id, f"{case_id}-after")
    assert (status, problem["code"]) == (409, "minimal_supply_restore_automatic"), problem
    await report_debt(driver, case_id, code, "140.00", 5)
    restored = await driver.wait_for(case_id, "MinimalSupplyRestored", 2)
    assert (restored[1]["data"]["rule_set_id"], restored[1]["data"]["on_request"]) == (NEW, False)
