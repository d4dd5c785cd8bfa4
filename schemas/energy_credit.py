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

    With ``indexed`` the amounts are base amounts, multiplied by the ``credit_index`` factor of the year (or
    granted as they are, flagged "index not set", while that factor is not set).
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
    """The cumulative factor applied to the indexed base emergency credit during one calendar year.

    ``factor`` null means *not set*: the operator has not entered the published value yet. Until then the
    unindexed base is granted and every output flags it ("index not set"); no other year's factor stands in.
    """

    year: int = Field(ge=2000, le=2200)
    factor: IndexFactor | None
    source: str = Field(min_length=1)


class EmergencyCredit(Frozen):
    """The emergency credit granted on a day, and how its index was applied."""

    amount: Decimal
    indexed: bool = Field(description="The period's amounts are base amounts, multiplied by a yearly factor.")
    index_year: int | None = None
    index_factor: Decimal | None = Field(None, description="The factor applied; null when not indexed or not set.")

    @property
    def index_set(self) -> bool | None:
        """``None`` for a fixed amount; otherwise whether the operator has set the year's factor."""
        return self.index_factor is not None if self.indexed else None

    def note(self) -> str | None:
        """What an output must say when the index of the year is not set (``None`` otherwise)."""
        return index_not_set_note(self.index_year) if self.index_set is False else None


def index_not_set_note(year: int | None) -> str:
    return (f"index not set for {year}: the unindexed base amount is granted until the operator sets the "
            "year's credit_index factor")


class HasCreditRules(Protocol):
    """What this module reads of a rule book (its credit periods and index factors); ``EnergyRuleBook`` has it.

    A Protocol rather than the book itself, because the book (``schemas.energy_rules``) is built from this module's
    models and importing it here would make a cycle.
    """

    @property
    def emergency_credit_periods(self) -> tuple[EmergencyCreditPeriod, ...]: ...

    @property
    def credit_index(self) -> tuple[CreditIndex, ...]: ...


def credit_index_factor(book: HasCreditRules, year: int) -> Decimal | None:
    """The index factor the operator set for ``year``; ``None`` if not set (never an earlier year's)."""
    return next((index.factor for index in book.credit_index if index.year == year), None)


def credit_index_years_not_set(book: HasCreditRules, through_year: int) -> list[int]:
    """The years up to ``through_year`` in which an indexed credit period applies but no factor is set."""
    years = {year for period in book.emergency_credit_periods if period.indexed
             for year in range(period.valid_from.year,
                               min(through_year, period.valid_until.year if period.valid_until else through_year) + 1)}
    return sorted(year for year in years if credit_index_factor(book, year) is None)


def emergency_credit(book: HasCreditRules, energy: EnergyCarrier, on: date) -> EmergencyCredit:
    """The emergency credit in euro granted on ``on`` for electricity or gas, rounded half-up to the cent.

    For an indexed period the base amount is multiplied by the index factor of ``on.year``; while that factor is
    not set, the unindexed base is granted and the result says so (``index_set`` false).
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
    base = period.electricity_eur if energy == "electricity" else period.gas_eur
    if not period.indexed:
        return EmergencyCredit(amount=round_cents(base), indexed=False)
    factor = credit_index_factor(book, on.year)
    amount = base * factor if factor is not None else base
    return EmergencyCredit(amount=round_cents(amount), indexed=True, index_year=on.year, index_factor=factor)
