"""A single callback that arrives after a later one was applied (patch ``late-callbacks-in-occurrence-order``), on
the time-skipping server: callbacks sent one at a time in the bad order, each waited for before the next.

- a debt report that happened before the one applied is recorded (``DebtReportSuperseded``) and the newer debt
  stands; a report newer than both is applied;
- an invoice paid before it was issued is held, and paid when the invoice arrives (before: the payment was lost
  and the invoice stayed unpaid, which could bring prepayment 20 days after its due date).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Stack
from tests.energy_helpers import EnergyDriver, callback
from tests.recorded_histories import keep_history


@pytest.fixture
def driver(stack: Stack) -> EnergyDriver:
    return EnergyDriver(stack)


def happened(code: str, type_: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return callback(code, type_, data=data) | {"occurred_at": at.isoformat()}


async def test_an_older_debt_report_arriving_late_is_recorded_but_the_newer_debt_stands(driver: EnergyDriver) -> None:
    case_id, code = await driver.open("gas")
    t0 = datetime.now(UTC) - timedelta(hours=3)
    newer = happened(code, "debt_updated", t0 + timedelta(hours=1), {"total_debt": "320.00"})
    older = happened(code, "debt_updated", t0, {"total_debt": "500.00"})
    assert (await driver.post_callback(newer)).status_code == 202
    await driver.wait_for(case_id, "DebtUpdated")
    assert (await driver.post_callback(older)).status_code == 202  # arrives after the newer one was applied
    [superseded] = await driver.wait_for(case_id, "DebtReportSuperseded")
    assert superseded["data"]["total_debt"] == "500.00"
    assert datetime.fromisoformat(superseded["data"]["happened_at"]) == t0
    assert datetime.fromisoformat(superseded["data"]["newer_report_happened_at"]) == t0 + timedelta(hours=1)
    assert (await driver.case(case_id))["total_debt"] == "320.00"
    assert [e["data"]["total_debt"] for e in await driver.events(case_id) if e["type"] == "DebtUpdated"] == ["320.00"]

    newest = happened(code, "debt_updated", t0 + timedelta(hours=2), {"total_debt": "100.00"})
    assert (await driver.post_callback(newest)).status_code == 202
    await driver.wait_for(case_id, "DebtUpdated", count=2)
    assert (await driver.case(case_id))["total_debt"] == "100.00"
    assert (await driver.post_callback(older)).status_code == 200  # a redelivery: stored once, applied never again
    types = await driver.types(case_id)
    assert types.count("DebtReportSuperseded") == 1 and types.count("DebtUpdated") == 2, types
    await keep_history(driver.stack.env.client, case_id, f"energy-case-{case_id.removeprefix('nrg-')[:12]}")


async def test_an_invoice_paid_before_it_was_issued_is_paid_when_it_arrives(driver: EnergyDriver) -> None:
    case_id, code = await driver.open("gas")
    t0 = datetime.now(UTC) - timedelta(hours=3)
    due_on = (await driver.today()) + timedelta(days=14)
    issued = happened(code, "invoice_issued", t0, {"invoice_id": "INV-7", "due_on": str(due_on), "amount": "180.00"})
    paid = happened(code, "invoice_paid", t0 + timedelta(hours=1), {"invoice_id": "INV-7"})
    marker = happened(code, "debt_updated", t0 + timedelta(hours=2), {"total_debt": "40.00"})
    assert (await driver.post_callback(paid)).status_code == 202
    assert (await driver.post_callback(marker)).status_code == 202
    await driver.wait_for(case_id, "DebtUpdated")  # applied after the payment: the payment was applied alone
    assert "InvoicePaid" not in await driver.types(case_id)
    assert (await driver.post_callback(issued)).status_code == 202  # the invoice arrives last
    await driver.wait_for(case_id, "InvoicePaid")
    types = await driver.types(case_id)
    applied = [t for t in types if t in ("InvoiceIssued", "InvoicePaid", "DebtUpdated")]
    assert applied == ["DebtUpdated", "InvoiceIssued", "InvoicePaid"], types
    case = await driver.case(case_id)
    assert [(i["invoice_id"], i["paid"]) for i in case["invoices"]] == [("INV-7", True)], case["invoices"]
    assert case["phase"] == "social_supplier"  # the invoice implies the takeover (inferred)
    again = happened(code, "invoice_paid", t0 + timedelta(hours=1), {"invoice_id": "INV-7"})  # a new event id
    assert (await driver.post_callback(again)).status_code == 202
    marker2 = happened(code, "debt_updated", t0 + timedelta(hours=4), {"total_debt": "0.01"})
    assert (await driver.post_callback(marker2)).status_code == 202
    await driver.wait_for(case_id, "DebtUpdated", count=2)
    assert (await driver.types(case_id)).count("InvoicePaid") == 1
    await keep_history(driver.stack.env.client, case_id, f"energy-case-{case_id.removeprefix('nrg-')[:12]}")
