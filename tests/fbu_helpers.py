"""Builders and steps shared by the FBU tests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from schemas.calendar import add_months

OCMW = "ocmw-44021"
OTHER_OCMW = "ocmw-11002"


def open_body(arrears: str = "2400.00", rent: str = "800.00", since: date | None = None,
              market: str = "private") -> dict[str, Any]:
    return {
        "tenant": {"name": "Eloïse Janssens", "national_number": "85.07.30-033.28", "iban": "BE71 0961 2345 6769"},
        "landlord": {"name": "Immo De Smet bv", "iban": "BE68539007547034"},
        "dwelling": {"address": "Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent", "municipality_nis": "44021",
                     "rental_market": market, "monthly_rent": rent},
        "arrears": {"amount": arrears, "since": (since or date(2026, 6, 1)).isoformat()},
    }


def monthly_plan(total: Decimal, months: int, first_due: date) -> list[dict[str, str]]:
    """Equal monthly instalments (the last one takes the rounding rest)."""
    each = (total / months).quantize(Decimal("0.01"))
    items = []
    for i in range(months):
        amount = each if i < months - 1 else total - each * (months - 1)
        items.append({"due_on": add_months(first_due, i).isoformat(), "amount": str(amount)})
    return items


def agreement_body(arrears: Decimal, landlord_payment: Decimal, months: int, first_due: date) -> dict[str, Any]:
    return {"landlord_payment": str(landlord_payment),
            "plan": monthly_plan(arrears - landlord_payment, months, first_due)}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def later(d: date, days: int) -> date:
    return d + timedelta(days=days)
