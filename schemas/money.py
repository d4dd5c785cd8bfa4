"""Money as exact euro amounts.

Amounts are `Decimal` with two decimals. Computed amounts are rounded half-up to the cent (the rounding the
fund's rules state), never with binary floats.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")


def round_cents(amount: Decimal) -> Decimal:
    """Round half-up to the euro cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def euro_text(amount: Decimal) -> str:
    """An amount as JSON text with exactly two decimals ("422.00"), rounded half-up like every amount."""
    return str(round_cents(amount))


def has_cents_only(amount: Decimal) -> bool:
    """Whether an amount has at most two decimals (rounding it to the cent leaves it unchanged)."""
    return round_cents(amount) == amount


MAX_EURO = Decimal("9999999999.99")  # twelve digits, two after the point: what the columns hold
AMOUNT_TEXT = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
_AMOUNT_TEXT = re.compile(AMOUNT_TEXT)


def _amount_text(value: object) -> object:
    """A string amount must be plain digits with at most two decimals (no exponent, sign or spaces), as the
    OpenAPI document says; numbers and Decimals go on to pydantic's own checks."""
    if isinstance(value, str) and not _AMOUNT_TEXT.match(value):
        raise ValueError("an amount in euro is digits with at most two decimals, like 1250.00")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("the amount must be more than 0.00")
    return value


def _schema(minimum: str) -> WithJsonSchema:
    """The request schema of an amount: exactly what ``_amount_text`` and the bounds accept."""
    text = {"type": "string", "pattern": AMOUNT_TEXT if minimum == "0" else r"^(?!0+(\.0+)?$)" + AMOUNT_TEXT[1:]}
    number = {"type": "number", "maximum": float(MAX_EURO), "multipleOf": 0.01,
              **({"minimum": 0} if minimum == "0" else {"exclusiveMinimum": 0})}
    return WithJsonSchema({"anyOf": [text, number], "examples": ["1250.00"]}, mode="validation")


# A positive amount in euro with at most two decimals, serialised as a string so JSON never turns it into a float.
PositiveEuro = Annotated[
    Decimal,
    BeforeValidator(_amount_text),
    Field(le=MAX_EURO, max_digits=12, decimal_places=2, examples=["1250.00"]),
    AfterValidator(_positive),
    PlainSerializer(euro_text, return_type=str, when_used="json"),
    _schema("0.01"),
]
# Zero or more euro (totals, a landlord payment that may be zero).
Euro = Annotated[
    Decimal,
    BeforeValidator(_amount_text),
    Field(ge=0, le=MAX_EURO, max_digits=12, decimal_places=2, examples=["0.00"]),
    PlainSerializer(euro_text, return_type=str, when_used="json"),
    _schema("0"),
]
