"""Winter heating support (VR 2022-10-19): the OCMW's top-ups on a prepayment meter, who qualifies, the refund.

When support can be applied for is a seasonal window (``schemas.energy_seasons``); this module holds the amounts
and conditions. Split from ``schemas.energy_rules`` (which re-exports every name); pure like the rest of
``schemas``: it runs inside Temporal workflows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal, Protocol

from pydantic import Field, model_validator

from schemas.common import Fraction, Frozen
from schemas.money import round_cents

HeatingKind = Literal["gas", "electric_night_tariff"]


# ---- winter heating support ---------------------------------------------------------------------------------


class ReimbursementRate(Frozen):
    """The share of the loaded top-ups the energy fund reimburses the OCMW for one winter."""

    winter_start_year: int = Field(ge=2000, le=2200, description="2022 is the winter 2022-2023.")
    rate: Fraction
    source: str = Field(min_length=1)


class WinterSupportRules(Frozen):
    """Winter heating support (VR 2022-10-19): top-ups the OCMW loads on a prepayment meter, and its refund."""

    source: str = Field(min_length=1)
    assumptions: tuple[str, ...] = ()
    topup_share: Fraction = Field(description="Share of the average monthly winter consumption, per month.")
    topup_days_of_month: tuple[Annotated[int, Field(ge=1, le=28)], ...] = Field(
        min_length=1, description="The days of each month on which the half-monthly top-up is loaded."
    )
    reimbursement_rates: tuple[ReimbursementRate, ...] = ()
    default_reimbursement_rate: Fraction
    default_reimbursement_source: str = Field(min_length=1)
    eligible_heating: tuple[HeatingKind, ...] = Field(min_length=1)
    electric_night_tariff_eligible_from: date = Field(
        description="Electric heating on exclusive night tariff qualifies for applications from this day."
    )

    @model_validator(mode="after")
    def _check_lists(self) -> WinterSupportRules:
        if list(self.topup_days_of_month) != sorted(set(self.topup_days_of_month)):
            raise ValueError("topup_days_of_month must be sorted without repeats")
        for previous, following in pairwise(self.reimbursement_rates):
            if following.winter_start_year <= previous.winter_start_year:
                raise ValueError(
                    "reimbursement_rates must be sorted by winter_start_year without repeats: "
                    f"{following.winter_start_year} comes after {previous.winter_start_year}"
                )
        if len(set(self.eligible_heating)) != len(self.eligible_heating):
            raise ValueError("eligible_heating lists a kind of heating twice")
        return self


class HasWinterSupport(Protocol):
    """What this module reads of a rule book (its winter support rules); ``EnergyRuleBook`` has it.

    A Protocol rather than the book itself, because the book (``schemas.energy_rules``) is built from this module's
    models and importing it here would make a cycle.
    """

    @property
    def winter_support(self) -> WinterSupportRules: ...


def half_monthly_topup(book: HasWinterSupport, average_monthly_winter_consumption_eur: Decimal) -> Decimal:
    """The amount of one half-monthly top-up: average monthly winter consumption × share / 2, to the cent.

    ⚑ The sources say the half-monthly top-ups are "worth 60% of the average winter consumption". Vangnet reads
    that as 60% of the household's average monthly winter consumption per month, loaded in two halves, so each
    top-up is half of 60% of a month (an average of 200.00 a month gives top-ups of 60.00).
    """
    if average_monthly_winter_consumption_eur < 0:
        raise ValueError("average_monthly_winter_consumption_eur must not be negative")
    return round_cents(average_monthly_winter_consumption_eur * book.winter_support.topup_share / 2)


def reimbursement_rate(book: HasWinterSupport, winter_start_year: int) -> Decimal:
    """The share of the top-ups the energy fund refunds the OCMW for the winter starting in that year."""
    for entry in book.winter_support.reimbursement_rates:
        if entry.winter_start_year == winter_start_year:
            return entry.rate
    return book.winter_support.default_reimbursement_rate


def reimbursement_amount(book: HasWinterSupport, winter_start_year: int, loaded_total: Decimal) -> Decimal:
    """What the energy fund refunds the OCMW for one winter: the loaded top-ups × the winter's rate, rounded
    half-up to the cent (60.75 at 70% is 42.53, not the 42.52 of banker's rounding)."""
    return round_cents(loaded_total * reimbursement_rate(book, winter_start_year))


def heating_eligible(book: HasWinterSupport, heating: HeatingKind, on: date) -> bool:
    """Whether a household heating this way qualifies for winter heating support when applying on ``on``."""
    support = book.winter_support
    if heating not in support.eligible_heating:
        return False
    return heating != "electric_night_tariff" or on >= support.electric_night_tariff_eligible_from
