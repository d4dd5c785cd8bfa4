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


async def sleep_until(env: Any, day: date) -> None:
    from schemas.calendar import brussels_midnight

    target = brussels_midnight(day) + timedelta(hours=9)
    now = await env.get_current_time()
    if target > now:
        await env.sleep(target - now)


def later(d: date, days: int) -> date:
    return d + timedelta(days=days)


async def workflow_exists(client: Any, workflow_id: str) -> bool:
    """Whether Temporal knows the workflow (a claim has none until its first decision)."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        assert exc.status == RPCStatusCode.NOT_FOUND
        return False
    return True


class Driver:
    """Steps of an FBU case over the API, as an OCMW and as Wonen-Vlaanderen."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.api: httpx.AsyncClient = stack.api
        self.ocmw = stack.token("ocmw", OCMW)
        self.wv = stack.token("wonen-vlaanderen")

    async def today(self) -> date:
        from schemas.calendar import brussels_date

        return brussels_date(await self.stack.env.get_current_time())

    async def sleep_days(self, days: int) -> None:
        """Move the shared clock to 09:00 Brussels, ``days`` calendar days from today: never near midnight, so the
        test's date and the workflow's date cannot fall on two sides of it."""
        await sleep_until(self.stack.env, (await self.today()) + timedelta(days=days))

    async def open(self, **kwargs: Any) -> str:
        r = await self.api.post("/v1/fbu/cases", json=open_body(**kwargs), headers=self.ocmw)
        return str((await ok(r, 201))["case_id"])

    async def step(self, case_id: str, method: str, path: str, body: dict[str, Any], status: int = 200,
                   key: str | None = None) -> dict[str, Any]:
        headers = dict(self.ocmw)
        if key:
            headers["Idempotency-Key"] = key
        r = await self.api.request(method, f"/v1/fbu/cases/{case_id}/{path}", json=body, headers=headers)
        return await ok(r, status)

    async def draft(self, case_id: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        return await self.step(case_id, "PUT", "agreement", body, status)

    async def sign_all(self, case_id: str, parties: tuple[str, ...] = ("tenant", "landlord", "ocmw")) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for party in parties:
            result = await self.step(case_id, "POST", "signatures", {"party": party, "evidence": "signed on paper"})
        return result

    async def case(self, case_id: str) -> dict[str, Any]:
        return await ok(await self.api.get(f"/v1/fbu/cases/{case_id}", headers=self.ocmw))

    async def event_types(self, case_id: str) -> list[str]:
        r = await self.api.get(f"/v1/fbu/cases/{case_id}/events", headers=self.ocmw)
        assert r.status_code == 200, r.text
        return [e["type"] for e in r.json()]

    async def claim(self, case_id: str, kind: str, status: str = "claimed") -> dict[str, Any] | None:
        page = await ok(await self.api.get("/v1/claims", params={"status": status, "page_size": 200},
                                           headers=self.wv))
        return next((c for c in page["items"] if c["case_id"] == case_id and c["claim_kind"] == kind), None)

    async def decide(self, claim_id: str, decision: str, reason: str | None = None, status: int = 200
                     ) -> dict[str, Any]:
        body = {"decision": decision, **({"reason": reason} if reason else {})}
        return await ok(await self.api.post(f"/v1/claims/{claim_id}/decision", json=body, headers=self.wv), status)

    async def in_force_case(self, arrears: str = "2400.00", landlord_payment: str = "600.00", months: int = 6,
                            **kwargs: Any) -> tuple[str, dict[str, Any]]:
        case_id = await self.open(arrears=arrears, **kwargs)
        body = agreement_body(Decimal(arrears), Decimal(landlord_payment), months,
                              (await self.today()) + timedelta(days=10))
        await self.draft(case_id, body)
        await self.sign_all(case_id)
        return case_id, body
