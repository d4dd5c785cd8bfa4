"""Money: one rounding (half-up to the cent, ``schemas.money.round_cents``) used by every product package."""

from __future__ import annotations

import ast
import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from schemas.energy import EnergyCaseInput, EnergyCaseState, WinterSupport
from schemas.energy_events import ReimbursementClaimed
from schemas.energy_rules import reimbursement_amount
from schemas.events import EventData
from schemas.money import euro_text, has_cents_only, round_cents
from vangnet.rulebooks.rulebook import load_energy_rule_book
from workflows.energy_procedure import EnergyCase

ROOT = Path(__file__).resolve().parents[2]
# The product packages; ``simulators`` play external systems and ``scripts`` are drivers, so they are not checked.
PRODUCT = ("schemas", "workflows", "activities", "api", "vangnet", "worker")
MONEY = Path("schemas/money.py")
# Rounding calls outside schemas/money.py that are not on money, each with why (a new one must be added here).
NOT_MONEY = {
    (Path("schemas/fbu_rules.py"), "quantize", "_MONTHS_QUANTUM"): "the arrears in months, not euro",
    (Path("schemas/fbu_rules.py"), "quantize", "Decimal('0.0001')"): "months shown with four decimals",
    (Path("api/limits.py"), "round", "wait"): "seconds in a Retry-After header",
    (Path("schemas/energy_rule_sets.py"), "quantize", "SHARE_PLACES"): "a repaid share (rounded down), not euro",
}


def _rounding_calls(path: Path) -> list[tuple[str, str]]:
    """``(name, first argument)`` of every ``x.quantize(…)`` and builtin ``round(…)`` call in the file."""
    found = []
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "quantize":
            found.append(("quantize", ast.unparse(node.args[0])))
        elif isinstance(node.func, ast.Name) and node.func.id == "round":
            found.append(("round", ast.unparse(node.args[0])))
    return found


def test_money_is_rounded_only_in_schemas_money() -> None:
    files = sorted(p.relative_to(ROOT) for package in PRODUCT for p in (ROOT / package).rglob("*.py"))
    assert MONEY in files and len(files) > 50
    stray = [f"{path}: {name}({arg})" for path in files if path != MONEY
             for name, arg in _rounding_calls(path) if (path, name, arg) not in NOT_MONEY]
    assert stray == [], "round money with schemas.money.round_cents, not here:\n" + "\n".join(stray)
    # the allowed exceptions still exist (a stale entry would hide a new call of the same shape)
    present = {(path, name, arg) for path, _, _ in NOT_MONEY for name, arg in _rounding_calls(path)}
    assert set(NOT_MONEY) <= present


@pytest.mark.parametrize(("amount", "cents"), [
    ("42.525", "42.53"), ("42.515", "42.52"), ("0.005", "0.01"), ("0.004999", "0.00"), ("75.045", "75.05"),
    ("1250", "1250.00"),
])
def test_round_cents_is_half_up(amount: str, cents: str) -> None:
    assert str(round_cents(Decimal(amount))) == cents
    assert euro_text(Decimal(amount)) == cents


def test_has_cents_only() -> None:
    assert has_cents_only(Decimal("12.30")) and has_cents_only(Decimal("12"))
    assert not has_cents_only(Decimal("12.305"))


def test_reimbursement_of_60_75_at_70_percent_is_42_53() -> None:
    book = load_energy_rule_book()
    assert reimbursement_amount(book, 2024, Decimal("60.75")) == Decimal("42.53")  # banker's rounding: 42.52
    assert reimbursement_amount(book, 2022, Decimal("60.75")) == Decimal("54.68")  # 90%: 54.675


def test_the_workflow_claims_42_53_for_60_75_loaded() -> None:
    """The reimbursement step of the energy case workflow itself (its event recorder stubbed)."""
    book = load_energy_rule_book()
    state = EnergyCaseState(
        case_id="c-1", ocmw_id="ocmw-1", ean="541448800000000001", energy="gas", supplier="s", netbeheerder="n",
        municipality_nis="11002", phase="prepayment", rule_set_id="energy-2022-07",
        notice_of_default_on=date(2024, 9, 1), notice_period_ends_on=date(2024, 10, 16),
        winter_support=WinterSupport(status="approved", applied_on=date(2024, 11, 5), winter_start_year=2024,
                                     heating="gas", average_monthly_winter_consumption_eur=Decimal("202.50"),
                                     topup_amount=Decimal("60.75"), loaded_total=Decimal("60.75")))
    inp = EnergyCaseInput(case_id="c-1", ocmw_id="ocmw-1", ean=state.ean, energy="gas", supplier="s",
                          netbeheerder="n", municipality_nis="11002", notice_of_default_on=date(2024, 9, 1),
                          callback_url="http://localhost/cb", state=state, book=book)
    case = EnergyCase(inp, on_change=lambda: None)
    emitted: list[EventData] = []

    async def record(*bodies: EventData) -> None:
        emitted.extend(bodies)

    case.emit = record  # type: ignore[method-assign]
    asyncio.run(case.claim_reimbursement())
    assert emitted == [ReimbursementClaimed(winter="2024-2025", loaded_total=Decimal("60.75"), rate=Decimal("0.70"),
                                            amount=Decimal("42.53"))]
    assert case.s.winter_support is not None and case.s.winter_support.reimbursement_claimed == Decimal("42.53")
