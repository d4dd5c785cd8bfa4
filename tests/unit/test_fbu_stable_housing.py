"""The stable-housing proposal: 6 consecutive calendar months of a kept plan, whatever the instalment rhythm."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from schemas.calendar import add_months
from schemas.fbu import PlanItem, Repayment
from schemas.fbu_rules import FbuRuleBook
from vangnet.rulebooks.rulebook import DEFAULT_FBU_RULES
from workflows.fbu_plan import kept_since, stable_housing_due

IN_FORCE = date(2025, 1, 15)
MONTHS = 6


def plan(*dues: date, amount: str = "100.00") -> list[PlanItem]:
    return [PlanItem(due_on=d, amount=Decimal(amount)) for d in dues]


def paid(*days: date, amount: str = "100.00") -> list[Repayment]:
    return [Repayment(amount=Decimal(amount), paid_on=d) for d in days]


def test_the_six_months_are_rule_book_data() -> None:
    book = FbuRuleBook.model_validate(json.loads(DEFAULT_FBU_RULES.read_text()))
    assert {r.stable_housing_kept_months for r in book.rule_sets} == {MONTHS}


def test_monthly_plan_kept_is_proposed_six_calendar_months_after_entry_into_force() -> None:
    dues = [add_months(date(2025, 2, 1), i) for i in range(12)]
    p, r = plan(*dues), paid(*dues[:6])
    assert stable_housing_due(p, r, IN_FORCE, date(2025, 7, 10), MONTHS) == date(2025, 7, 15)
    # six kept instalments (due 1 Feb .. 1 Jul) are not yet six months: 14 July is still too early
    assert stable_housing_due(p, r, IN_FORCE, date(2025, 7, 14), MONTHS) == date(2025, 7, 15)


def test_quarterly_plan_kept_is_proposed_after_six_months_with_only_two_instalments() -> None:
    dues = [date(2025, 3, 1), date(2025, 6, 1), date(2025, 9, 1), date(2025, 12, 1)]
    p, r = plan(*dues, amount="300.00"), paid(dues[0], dues[1], amount="300.00")
    assert stable_housing_due(p, r, IN_FORCE, date(2025, 7, 15), MONTHS) == date(2025, 7, 15)


def test_irregular_plan() -> None:
    dues = [date(2025, 1, 20), date(2025, 2, 3), date(2025, 5, 30), date(2026, 1, 31)]
    p, r = plan(*dues), paid(*dues[:3])
    assert stable_housing_due(p, r, IN_FORCE, date(2025, 7, 15), MONTHS) == date(2025, 7, 15)


def test_a_late_instalment_restarts_the_count_from_the_day_it_is_caught_up() -> None:
    dues = [add_months(date(2025, 2, 1), i) for i in range(12)]
    p = plan(*dues)
    # the April instalment is paid 10 days late: the plan counts as kept from 11 April
    r = paid(dues[0], dues[1], date(2025, 4, 11), *dues[3:8])
    assert kept_since(p, r, IN_FORCE, date(2025, 7, 15), MONTHS) == date(2025, 4, 11)
    assert stable_housing_due(p, r, IN_FORCE, date(2025, 7, 15), MONTHS) == date(2025, 10, 11)


def test_no_date_while_an_instalment_is_still_unpaid() -> None:
    dues = [add_months(date(2025, 2, 1), i) for i in range(12)]
    p, r = plan(*dues), paid(dues[0], dues[1])
    assert stable_housing_due(p, r, IN_FORCE, date(2025, 4, 5), MONTHS) is None


def test_a_late_instalment_after_the_six_months_does_not_take_the_proposal_back() -> None:
    dues = [add_months(date(2025, 2, 1), i) for i in range(12)]
    p, r = plan(*dues), paid(*dues[:6])  # the instalment due 1 August is not paid
    assert stable_housing_due(p, r, IN_FORCE, date(2025, 8, 20), MONTHS) == date(2025, 7, 15)


def test_end_of_month_is_clamped() -> None:
    assert stable_housing_due(plan(date(2026, 1, 31)), [], date(2025, 8, 31), date(2025, 9, 1), MONTHS) == \
        date(2026, 2, 28)
