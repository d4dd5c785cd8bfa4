"""The emergency credit in euro on a prepayment meter: its dated amounts, the yearly index, the amount on a day.

The credit is chosen by the day it is granted, not by the case's rule set, so it is dated on its own. Split from
``schemas.energy_rules`` (which re-exports every name); pure like the rest of ``schemas``: it runs inside Temporal
workflows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Protocol

from pydantic import Field, model_validator

from schemas.common import Frozen
from schemas.dated import check_until, covers
from schemas.energy_rule_sets import NoEnergyRuleSetError
from schemas.money import PositiveEuro, round_cents

EnergyCarrier = Literal["electricity", "gas"]

# A cumulative index factor applied to a base amount ("1.0432" is +4.32% on the base); always positive.
IndexFactor = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=6, examples=["1.0432"])]


class NoEuroCreditError(ValueError):
    """The emergency credit asked for falls before credit was granted in euro (it was counted in kWh)."""


class EmergencyCreditPeriod(Frozen):
    """The emergency credit in euro granted on days from ``valid_from`` to ``valid_until`` (inclusive).

    With ``indexed`` the amounts are base amounts, multiplied by the ``credit_index`` factor of the year.
    """

    valid_from: date
    valid_until: date | None = None
    electricity_eur: PositiveEuro
    gas_eur: PositiveEuro
    indexed: bool = False
    source: str = Field(min_length=1)
    assumptions: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_dates(self) -> EmergencyCreditPeriod:
        check_until(f"emergency credit period from {self.valid_from}", self.valid_from, self.valid_until)
        return self

    def name(self) -> str:
        return f"emergency credit period from {self.valid_from.isoformat()}"


class CreditIndex(Frozen):
    """The cumulative factor applied to the indexed base emergency credit during one calendar year."""

    year: int = Field(ge=2000, le=2200)
    factor: IndexFactor
    source: str = Field(min_length=1)


class HasCreditRules(Protocol):
    """What this module reads of a rule book (its credit periods and index factors); ``EnergyRuleBook`` has it.

    A Protocol rather than the book itself, because the book (``schemas.energy_rules``) is built from this module's
    models and importing it here would make a cycle.
    """

    @property
    def emergency_credit_periods(self) -> tuple[EmergencyCreditPeriod, ...]: ...

    @property
    def credit_index(self) -> tuple[CreditIndex, ...]: ...


def credit_index_factor(book: HasCreditRules, year: int) -> Decimal:
    """The index factor of ``year``; the latest earlier year's if not yet entered; 1 if none is known."""
    known = [index for index in book.credit_index if index.year <= year]
    return known[-1].factor if known else Decimal(1)


def emergency_credit(book: HasCreditRules, energy: EnergyCarrier, on: date) -> Decimal:
    """The emergency credit in euro granted on ``on`` for electricity or gas, rounded half-up to the cent.

    For an indexed period the base amount is multiplied by the index factor of ``on.year``.
    """
    periods = book.emergency_credit_periods
    if on < periods[0].valid_from:
        raise NoEuroCreditError(
            f"Emergency credit granted on {on.isoformat()} was counted in kWh, not in euro: euro amounts apply "
            f"from {periods[0].valid_from.isoformat()}."
        )
    period = next((p for p in periods if covers(p, on)), None)
    if period is None:
        last = periods[-1]
        raise NoEnergyRuleSetError(
            f"No emergency credit period covers {on.isoformat()}: the last one ended "
            f"{last.valid_until.isoformat() if last.valid_until else '?'}; the operator must add a period."
        )
    amount = period.electricity_eur if energy == "electricity" else period.gas_eur
    if period.indexed:
        amount = amount * credit_index_factor(book, on.year)
    return round_cents(amount)
