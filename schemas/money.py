"""Money as exact euro amounts.

Amounts are `Decimal` with two decimals. Computed amounts are rounded half-up to the cent (the rounding the
fund's rules state), never with binary floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer

CENT = Decimal("0.01")


def round_cents(amount: Decimal) -> Decimal:
    """Round half-up to the euro cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def euro_text(amount: Decimal) -> str:
    """An amount as JSON text with exactly two decimals ("422.00")."""
    return str(amount.quantize(CENT))


# A positive amount in euro with at most two decimals, serialised as a string so JSON never turns it into a float.
PositiveEuro = Annotated[
    Decimal,
    Field(gt=0, max_digits=12, decimal_places=2, examples=["1250.00"]),
    PlainSerializer(euro_text, return_type=str, when_used="json"),
]
# Zero or more euro (totals, a landlord payment that may be zero).
Euro = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2, examples=["0.00"]),
    PlainSerializer(euro_text, return_type=str, when_used="json"),
]
