"""Eligibility is judged under the rule set of the submission day; at opening the answer is provisional, and says so.

Driven through the API on the time-skipping server; the operator's rule book gains a set that starts while the case
waits for signatures (restored after each test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Stack
from tests.fbu_helpers import Driver, agreement_body, ok, open_body


@pytest.fixture
def driver(stack: Stack) -> Driver:
    return Driver(stack)


@pytest.fixture
def next_rule_set(rules_file: Path) -> Iterator[Any]:
    """``install(today, **changes)``: the current set ends in 5 days, a set with ``changes`` starts the day after."""
    original = rules_file.read_text()

    def install(today: Any, current: dict[str, Any], following: dict[str, Any]) -> None:
        book = json.loads(original)
        last = book["rule_sets"][-1]
        last.update(current, valid_until=str(today + timedelta(days=5)))
        book["rule_sets"].append({**last, "id": "fbu-test-next", "valid_from": str(today + timedelta(days=6)),
                                  "valid_until": None, **following})
        rules_file.write_text(json.dumps(book))

    yield install
    rules_file.write_text(original)


async def events(d: Driver, case_id: str) -> list[dict[str, Any]]:
    r = await d.api.get(f"/v1/fbu/cases/{case_id}/events", headers=d.ocmw)
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


async def test_an_eligible_opening_is_provisional_until_the_submission(driver: Driver) -> None:
    case_id = await driver.open()
    case = await driver.case(case_id)
    assert case["eligibility_provisional"] is True and case["eligibility_rule_set_id"] == "fbu-2022"
    opened = (await events(driver, case_id))[0]
    assert opened["type"] == "CaseOpened" and opened["data"]["provisional"] is True
    await driver.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("600.00"), 6,
                                               (await driver.today()) + timedelta(days=20)))
    await driver.sign_all(case_id)
    case = await driver.case(case_id)
    assert case["eligibility_provisional"] is False and case["eligibility_rule_set_id"] == "fbu-2022"
    assert case["eligibility_reasons"] == []


async def test_ineligible_on_the_opening_day_but_covered_by_the_submission_days_set(
        driver: Driver, next_rule_set: Any) -> None:
    today = await driver.today()
    next_rule_set(today, {"arrears_months_min": "2", "arrears_months_max": "6"},
                  {"arrears_months_min": None, "arrears_months_max": None})
    case_id = await driver.open(arrears="800.00", rent="800.00")  # one month of rent: too little today
    case = await driver.case(case_id)
    assert case["status"] == "draft" and case["eligibility_provisional"] is True
    assert case["eligibility_rule_set_id"] != "fbu-test-next"
    assert any("the arrears must be between 2 and 6 months of rent" in r for r in case["eligibility_reasons"])
    assert any(r.startswith("Provisional: under rule set fbu-test-next") for r in case["eligibility_reasons"])
    opened = (await events(driver, case_id))[0]["data"]
    assert opened["eligible"] is False and opened["provisional"] is True

    await driver.draft(case_id, agreement_body(Decimal("800.00"), Decimal("200.00"), 3, today + timedelta(20)))
    await driver.sleep_days(7)
    await driver.sign_all(case_id)
    case = await driver.case(case_id)
    assert case["status"] == "in_force" and case["rule_set_id"] == "fbu-test-next"
    assert case["eligibility_provisional"] is False and case["eligibility_rule_set_id"] == "fbu-test-next"
    assert case["eligibility_reasons"] == [] and case["payouts"]


async def test_eligible_at_opening_refused_at_submission_with_rule_set_and_reason(
        driver: Driver, next_rule_set: Any) -> None:
    today = await driver.today()
    next_rule_set(today, {}, {"svk_eligible": False})
    case_id = await driver.open(market="svk")
    assert (await driver.case(case_id))["eligibility_provisional"] is True
    await driver.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, today + timedelta(20)))
    await driver.sleep_days(7)
    last = await driver.sign_all(case_id)
    assert last["status"] == "closed" and last["message"].startswith("All three parties signed, but the claim is "
                                                                     "refused: Tenants of a social rental agency")
    case = await driver.case(case_id)
    assert (case["status"], case["closing_reason"]) == ("closed", "ineligible")
    assert case["eligibility_provisional"] is False and case["eligibility_rule_set_id"] == "fbu-test-next"
    assert case["payouts"] == []
    assert any("social rental agency (SVK)" in r and "fbu-test-next" in r for r in case["eligibility_reasons"])
    closed = (await events(driver, case_id))[-1]
    assert closed["type"] == "CaseClosed" and closed["data"]["reason"] == "ineligible"
    assert closed["data"]["rule_set_id"] == "fbu-test-next" and closed["data"]["reasons"]


async def test_not_covered_by_any_set_a_submission_can_fall_under_is_refused_at_opening(
        driver: Driver, next_rule_set: Any) -> None:
    next_rule_set(await driver.today(), {}, {"svk_eligible": True})
    r = await driver.api.post("/v1/fbu/cases", json=open_body(market="social"), headers=driver.ocmw)
    body = await ok(r, 409)
    assert "Social housing" in body["detail"]
