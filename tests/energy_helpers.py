"""Builders and steps shared by the energy tests."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from schemas.events import DomainEvent
from schemas.netbeheerder import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.conftest import NETBEHEERDER_SECRET, Stack, eventually
from tests.fbu_helpers import ok

OCMW = "ocmw-44021"


def closed_event(stream: str, version: int, event_id: str | None = None) -> DomainEvent:
    """A ready-made event for tests of the log itself: an energy case closed, as ``stream``'s ``version``."""
    return DomainEvent(event_id=event_id or f"{stream}:{version}", stream=stream, stream_version=version,
                       case_id=stream, case_kind="energy", ocmw_id=OCMW, type="CaseClosed",
                       data={"reason": "moved", "closed_on": "2026-03-01"},
                       occurred_at=datetime(2026, 3, 1, 9, tzinfo=UTC))


def ean(n: int) -> str:
    """A valid Belgian EAN-18 (GS1 check digit) from a serial number."""
    body = f"54144882{n:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def open_body(ean_code: str, energy: str = "gas", notice: date | None = None, nis: str = "44021") -> dict[str, Any]:
    return {
        "household": {"name": "Samira Benali", "national_number": "85.07.30-033.28",
                      "address": "Brugsesteenweg 12, 9000 Gent", "municipality_nis": nis},
        "ean": ean_code, "energy": energy, "supplier": "Engie", "netbeheerder": "fluvius",
        "notice_of_default_on": (notice or date(2026, 11, 2)).isoformat(),
    }


def signed(body: dict[str, Any], secret: str = NETBEHEERDER_SECRET, ts: int | None = None) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    stamp = int(time.time()) if ts is None else ts
    return raw, {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, raw),
                 "Content-Type": "application/json"}


def callback(ean_code: str, type_: str, energy: str = "gas", data: dict[str, Any] | None = None,
             event_id: str | None = None) -> dict[str, Any]:
    return {"event_id": event_id or f"test-{uuid.uuid4().hex}", "type": type_, "ean": ean_code, "energy": energy,
            "netbeheerder": "fluvius", "occurred_at": datetime.now(UTC).isoformat(), "request_key": None,
            "data": data or {}}


class EnergyDriver:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.api: httpx.AsyncClient = stack.api
        self.ocmw = stack.token("ocmw", OCMW)
        self._serial = int(time.time() * 1000) % 10**8

    def new_ean(self) -> str:
        self._serial += 1
        return ean(self._serial)

    async def today(self) -> date:
        from schemas.calendar import brussels_date

        return brussels_date(await self.stack.env.get_current_time())

    async def sleep_until(self, day: date) -> None:
        from schemas.calendar import brussels_midnight

        target = brussels_midnight(day) + timedelta(hours=9)
        now = await self.stack.env.get_current_time()
        if target > now:
            await self.stack.env.sleep(target - now)

    async def walk_until(self, day: date, netbeheerder: Any) -> None:
        """Move the clock one day at a time, letting the simulator deliver each day's callbacks before the next
        day starts (the simulator answers in real time; the test server's clock would otherwise run ahead)."""
        import asyncio

        current = await self.today()
        while current < day:
            current += timedelta(days=1)
            await self.sleep_until(current)
            for _ in range(200):
                if not netbeheerder.app.state.simulator.tasks:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.02)

    async def open(self, energy: str = "gas", notice: date | None = None, ean_code: str | None = None
                   ) -> tuple[str, str]:
        code = ean_code or self.new_ean()
        notice = notice or await self.today()
        r = await self.api.post("/v1/energy/cases", json=open_body(code, energy, notice), headers=self.ocmw)
        return str((await ok(r, 201))["case_id"]), code

    async def step(self, case_id: str, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        r = await self.api.post(f"/v1/energy/cases/{case_id}/{path}", json=body, headers=self.ocmw)
        return await ok(r, status)

    async def case(self, case_id: str) -> dict[str, Any]:
        return await ok(await self.api.get(f"/v1/energy/cases/{case_id}", headers=self.ocmw))

    async def types(self, case_id: str) -> list[str]:
        r = await self.api.get(f"/v1/energy/cases/{case_id}/events", headers=self.ocmw)
        assert r.status_code == 200, r.text
        return [e["type"] for e in r.json()]

    async def events(self, case_id: str) -> list[dict[str, Any]]:
        r = await self.api.get(f"/v1/energy/cases/{case_id}/events", headers=self.ocmw)
        return list(r.json())

    async def wait_for(self, case_id: str, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            found = [e for e in await self.events(case_id) if e["type"] == event_type]
            return found if len(found) >= count else None

        return await eventually(probe)

    async def post_callback(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        raw, headers = signed(body, **kwargs)
        return await self.api.post("/v1/integrations/netbeheerder/callbacks", content=raw, headers=headers)

    async def in_prepayment(self, energy: str = "gas") -> tuple[str, str]:
        """A case whose contract ended and whose netbeheerder activated the prepayment function."""
        case_id, code = await self.open(energy)
        await self.step(case_id, "supplier-events", {"type": "contract_ended", "on": str(await self.today())})
        await self.wait_for(case_id, "SocialSupplierTookOver")
        if energy == "gas":
            await self.step(case_id, "prepayment-requests", {"note": "customer asks"})
        await self.wait_for(case_id, "PrepaymentActivated")
        return case_id, code


def next_date(after: date, month: int, day: int) -> date:
    """The first month-day on or after ``after``."""
    candidate = date(after.year, month, day)
    return candidate if candidate >= after else date(after.year + 1, month, day)


CUTOVER = date(2022, 7, 1)  # the social public service obligations rewritten: energy-2022-07 starts


def shifted_energy_book(cutover: date) -> dict[str, Any]:
    """The packaged energy rule book with its rule sets and emergency credit periods moved so that energy-2022-07
    starts on ``cutover`` instead of 2022-07-01 (the clock of a rehearsal or the test server cannot go back to
    2022, so the change is moved into its future). Seasonal windows and index years stay as they are."""
    from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES

    data: dict[str, Any] = json.loads(DEFAULT_ENERGY_RULES.read_text(encoding="utf-8"))
    delta = cutover - CUTOVER
    for part in ("rule_sets", "emergency_credit_periods"):
        for item in data[part]:
            for key in ("valid_from", "valid_until"):
                if item.get(key):
                    item[key] = (date.fromisoformat(item[key]) + delta).isoformat()
    data["description"] = f"TEST COPY, energy-2022-07 moved to {cutover}. " + data["description"]
    return data


def outside_winter_ban(today: date) -> date:
    """A day from which the next six weeks are outside the winter ban (a LAC advice is carried out at once)."""
    if 3 <= today.month <= 9:
        return today
    return date(today.year + (1 if today.month >= 10 else 0), 3, 2)


async def switch_minimal_supply_off(driver: EnergyDriver, case_id: str, count: int = 1) -> None:
    """The LAC is asked and advises to switch minimal supply off today; the simulator confirms the switch-off."""
    today = str(await driver.today())
    await driver.step(case_id, "lac-requests", {"hearing_on": today})
    await driver.step(case_id, "lac-advice", {"advice": "switch_off_minimal_supply", "on": today})
    await driver.wait_for(case_id, "MinimalSupplySwitchedOff", count)
