"""Aggregate reports for the coordinator and the auditor: real figures from real cases, no personal data.

The shared time-skipping stack also holds other tests' cases, so the figures here are those of two OCMWs no other
test uses: Brugge (ocmw-31005) and Genk (ocmw-71016). On day D Brugge opens five FBU cases (two through to a paid
initial claim, one whose claim is rejected, one awaiting signatures, one withdrawn) and Genk two (one paid); on
D+1 Brugge opens one more. Energy: Brugge three cases on D (one closed on D+1) and one on D+1, Genk one; outreach
signals: two for Brugge, one for Genk.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from pydantic import ValidationError

from schemas.reports import EnergyOrganisation
from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver, callback
from tests.energy_helpers import open_body as energy_body
from tests.fbu_helpers import Driver, agreement_body, ok, open_body

BRUGGE, GENK = "ocmw-31005", "ocmw-71016"
NIS = {BRUGGE: "31005", GENK: "71016"}
TENANT = {BRUGGE: ("Nele Claeys", "85.07.30-033.28", "BE71 0961 2345 6769", "Langestraat 17, 8000 Brugge"),
          GENK: ("Dirk Vandenbroucke", "78.03.12-123.12", "BE07363001234566", "Molenstraat 5, 3600 Genk")}
HOUSEHOLD = {BRUGGE: ("Fatima El Amrani", "Vlamingstraat 3, 8000 Brugge"),
             GENK: ("Luc Janssen", "Hasseltweg 88, 3600 Genk")}
#: Every piece of personal data the fixtures enter (and the matrix test's, which share the database).
PERSONAL = (
    "Nele Claeys", "Claeys", "Dirk Vandenbroucke", "Vandenbroucke", "Fatima El Amrani", "El Amrani", "Luc Janssen",
    "85073003328", "85.07.30-033.28", "78031212312", "78.03.12-123.12", "BE71096123456769", "BE71 0961 2345 6769",
    "BE07363001234566", "BE68539007547034", "Immo De Smet", "Langestraat", "Molenstraat", "Vlamingstraat",
    "Hasseltweg", "Eloïse Janssens", "Samira Benali", "Sint-Pietersnieuwstraat", "Brugsesteenweg",
)


ID_PATTERN = re.compile(r"\b(?:(?:fbu|nrg|sig)-[0-9a-f]{12,}|clm-[0-9a-f-]{36}|\d{18})\b")


@dataclass
class World:
    day: date  # D
    next_day: date  # D+1
    fbu: dict[str, list[str]] = field(default_factory=lambda: {BRUGGE: [], GENK: []})
    energy: dict[str, list[str]] = field(default_factory=lambda: {BRUGGE: [], GENK: []})
    claims: list[str] = field(default_factory=list)
    eans: list[str] = field(default_factory=list)
    #: every report body read by the tests, searched for personal data at the end
    bodies: list[str] = field(default_factory=list)


def fbu_body(org: str, arrears: str) -> dict[str, Any]:
    name, national_number, iban, address = TENANT[org]
    body = open_body(arrears=arrears)
    body["tenant"] = {"name": name, "national_number": national_number, "iban": iban}
    body["dwelling"] |= {"address": address, "municipality_nis": NIS[org]}
    return body


class OrgDriver(Driver):
    """The FBU driver, as the OCMW ``org``."""

    def __init__(self, stack: Stack, org: str) -> None:
        super().__init__(stack)
        self.org = org
        self.ocmw = stack.token("ocmw", org)

    async def open_case(self, world: World, arrears: str = "2400.00") -> str:
        r = await self.api.post("/v1/fbu/cases", json=fbu_body(self.org, arrears), headers=self.ocmw)
        case_id = str((await ok(r, 201))["case_id"])
        world.fbu[self.org].append(case_id)
        return case_id

    async def drafted(self, world: World, arrears: str = "2400.00") -> str:
        case_id = await self.open_case(world, arrears)
        await self.draft(case_id, agreement_body(Decimal(arrears), Decimal("600.00"), 6,
                                                 (await self.today()) + timedelta(days=10)))
        return case_id

    async def claimed(self, world: World, arrears: str = "2400.00") -> str:
        """In force, its initial claim (forfait + tranche 1) in Wonen-Vlaanderen's inbox; returns the claim id."""
        case_id = await self.drafted(world, arrears)
        await self.sign_all(case_id)
        claim = await eventually(lambda: self.claim(case_id, "initial"))
        world.claims.append(str(claim["claim_id"]))
        return str(claim["claim_id"])

    async def paid(self, world: World, arrears: str = "2400.00") -> None:
        claim_id = await self.claimed(world, arrears)
        await self.decide(claim_id, "approve")

        async def is_paid() -> bool:
            return bool(await self.stack.pool.fetchval(
                "SELECT 1 FROM proj_claims WHERE claim_id = $1 AND status = 'paid'", claim_id))

        await eventually(is_paid, within=20)

    async def rejected(self, world: World) -> None:
        await self.decide(await self.claimed(world), "reject", reason="Handtekening verhuurder ontbreekt")

    async def withdrawn(self, world: World) -> None:
        case_id = await self.open_case(world)
        await self.step(case_id, "POST", "close", {"reason": "withdrawn"})


async def open_energy(stack: Stack, e: EnergyDriver, world: World, org: str, energy: str, notice: date) -> str:
    code = e.new_ean()
    body = energy_body(code, energy, notice, nis=NIS[org])
    name, address = HOUSEHOLD[org]
    body["household"] |= {"name": name, "address": address, "national_number": TENANT[org][1]}
    r = await stack.api.post("/v1/energy/cases", json=body, headers=stack.token("ocmw", org))
    case_id = str((await ok(r, 201))["case_id"])
    world.energy[org].append(case_id)
    world.eans.append(code)
    return case_id


async def signal(e: EnergyDriver, world: World, org: str, energy: str) -> None:
    code = e.new_ean()
    world.eans.append(code)
    r = await e.post_callback(callback(code, "invoice_unpaid", energy=energy, data={"municipality_nis": NIS[org]}))
    assert r.status_code == 202 and r.json()["status"] == "signal_created", r.text


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(stack: Stack) -> AsyncIterator[World]:
    brugge, genk, e = OrgDriver(stack, BRUGGE), OrgDriver(stack, GENK), EnergyDriver(stack)
    day = await brugge.today()
    w = World(day=day, next_day=day + timedelta(days=1))
    try:
        await asyncio.gather(
            brugge.paid(w, "2400.00"), brugge.paid(w, "3000.00"), brugge.rejected(w), brugge.drafted(w),
            brugge.withdrawn(w), genk.paid(w, "2400.00"), genk.open_case(w),
            open_energy(stack, e, w, BRUGGE, "gas", day), open_energy(stack, e, w, BRUGGE, "gas", day),
            open_energy(stack, e, w, GENK, "gas", day),
            signal(e, w, BRUGGE, "gas"), signal(e, w, BRUGGE, "electricity"), signal(e, w, GENK, "gas"))
        closing = await open_energy(stack, e, w, BRUGGE, "electricity", day)
        await brugge.sleep_days(1)
        assert await brugge.today() == w.next_day
        await brugge.open_case(w)
        await open_energy(stack, e, w, BRUGGE, "electricity", w.next_day)
        r = await stack.api.post(f"/v1/energy/cases/{closing}/close", json={"reason": "moved"},
                                 headers=stack.token("ocmw", BRUGGE))
        await ok(r)
        yield w
    finally:
        await close_everything(stack, w)


async def close_everything(stack: Stack, w: World) -> None:
    """Close every case opened here, so its timers do not load the shared time-skipping server."""
    for org in (BRUGGE, GENK):
        token = stack.token("ocmw", org)
        for kind, ids in (("fbu", w.fbu[org]), ("energy", w.energy[org])):
            for case_id in ids:
                await stack.api.post(f"/v1/{kind}/cases/{case_id}/close", json={"reason": "withdrawn"},
                                     headers=token)  # 409 for the ones already closed


# ---- reading reports ----------------------------------------------------------------------------------------


async def report(stack: Stack, w: World, kind: str, role: str, org: str | None = None,
                 status: int = 200, params: dict[str, str] | None = None, **query: str) -> dict[str, Any]:
    """One report as ``role``; the period goes in ``params`` (``from`` is a keyword) or as keywords."""
    r = await stack.api.get(f"/v1/reports/{kind}", params={**(params or {}), **query}, headers=stack.token(role, org))
    w.bodies.append(r.text)
    return await ok(r, status)


def org_of(body: dict[str, Any], org: str) -> dict[str, Any]:
    found = [o for o in body["organisations"] if o["ocmw_id"] == org]
    assert len(found) == 1, f"{org} not once in {[o['ocmw_id'] for o in body['organisations']]}"
    return found[0]


@contextmanager
def min_cell(stack: Stack, value: int) -> Iterator[None]:
    """The operator's small-cell threshold, changed for a block (the API reads the same settings object)."""
    saved = stack.settings.report_min_cell
    stack.settings.report_min_cell = value
    try:
        yield
    finally:
        stack.settings.report_min_cell = saved


def months(w: World, d_count: int, next_count: int) -> list[dict[str, Any]]:
    d, n = w.day.strftime("%Y-%m"), w.next_day.strftime("%Y-%m")
    if d == n:
        return [{"month": d, "cases": d_count + next_count}]
    return [{"month": d, "cases": d_count}, {"month": n, "cases": next_count}]


NO_STATUS = {"draft": 0, "awaiting_signatures": 0, "in_force": 0, "plan_breached": 0, "stable_housing": 0,
             "closed": 0}
NO_CLAIM = {"claimed": 0, "approved": 0, "rejected": 0, "paid": 0}


def brugge_fbu(w: World) -> dict[str, Any]:
    return {
        "ocmw_id": BRUGGE, "cases_total": 6,
        "cases_by_status": NO_STATUS | {"draft": 1, "awaiting_signatures": 1, "in_force": 3, "closed": 1},
        "cases_opened_by_month": months(w, 5, 1),
        "claims_total": 3, "claims_by_status": NO_CLAIM | {"paid": 2, "rejected": 1},
        "payouts_total": 4, "paid_total": "3109.00",
        "payouts": [{"rule_set_id": "fbu-2022", "kind": "forfait", "payouts": 2, "amount": "844.00"},
                    {"rule_set_id": "fbu-2022", "kind": "tranche_1", "payouts": 2, "amount": "2265.00"}],
    }


def genk_fbu(w: World) -> dict[str, Any]:
    return {
        "ocmw_id": GENK, "cases_total": 2,
        "cases_by_status": NO_STATUS | {"draft": 1, "in_force": 1},
        "cases_opened_by_month": months(w, 2, 0)[:1],
        "claims_total": 1, "claims_by_status": NO_CLAIM | {"paid": 1},
        "payouts_total": 2, "paid_total": "1502.00",
        "payouts": [{"rule_set_id": "fbu-2022", "kind": "forfait", "payouts": 1, "amount": "422.00"},
                    {"rule_set_id": "fbu-2022", "kind": "tranche_1", "payouts": 1, "amount": "1080.00"}],
    }


NO_PHASE = {"notice_period": 0, "awaiting_takeover": 0, "social_supplier": 0, "prepayment": 0, "closed": 0}
BRUGGE_ENERGY = {"ocmw_id": BRUGGE, "cases_total": 4, "cases_by_phase": NO_PHASE | {"notice_period": 3, "closed": 1},
                 "cases_by_energy": {"electricity": 2, "gas": 2},
                 "signals_total": 2, "signals_by_energy": {"electricity": 1, "gas": 1}}
GENK_ENERGY = {"ocmw_id": GENK, "cases_total": 1, "cases_by_phase": NO_PHASE | {"notice_period": 1},
               "cases_by_energy": {"electricity": 0, "gas": 1},
               "signals_total": 1, "signals_by_energy": {"electricity": 0, "gas": 1}}


# ---- tests --------------------------------------------------------------------------------------------------


async def test_the_coordinator_sees_its_own_organisations_exact_figures(stack: Stack, world: World) -> None:
    brugge = await report(stack, world, "fbu", "ocmw-coordinator", BRUGGE)
    assert brugge == {"period": {"from": None, "to": None}, "min_cell": None, "organisations": [brugge_fbu(world)]}
    totals = brugge["organisations"][0]
    # fbu-2022: forfait 422.00 per case; tranche 1 is 45% of the arrears, at most 1185.00 (so 1080.00 and 1185.00)
    tranche_1 = Decimal("2400.00") * Decimal("0.45") + min(Decimal("3000.00") * Decimal("0.45"), Decimal("1185.00"))
    assert Decimal(totals["paid_total"]) == sum((Decimal(p["amount"]) for p in totals["payouts"]), Decimal(0)) \
        == Decimal("422.00") * 2 + tranche_1 == Decimal("3109.00")
    genk = await report(stack, world, "fbu", "ocmw-coordinator", GENK)
    assert genk["organisations"] == [genk_fbu(world)]

    energy = await report(stack, world, "energy", "ocmw-coordinator", BRUGGE)
    assert energy == {"period": {"from": None, "to": None}, "min_cell": None, "organisations": [BRUGGE_ENERGY]}
    assert (await report(stack, world, "energy", "ocmw-coordinator", GENK))["organisations"] == [GENK_ENERGY]

    # the organisation comes from the token: naming its own is allowed, naming another is refused
    assert (await report(stack, world, "fbu", "ocmw-coordinator", BRUGGE, ocmw=BRUGGE)) == brugge
    refused = await report(stack, world, "fbu", "ocmw-coordinator", BRUGGE, status=403, ocmw=GENK)
    assert "own organisation" in refused["detail"]
    await report(stack, world, "energy", "ocmw-coordinator", BRUGGE, status=403, ocmw=GENK)
    # small-cell protection is for the cross-organisation view: the coordinator's own figures are never hidden
    with min_cell(stack, 50):
        assert (await report(stack, world, "fbu", "ocmw-coordinator", GENK))["organisations"] == [genk_fbu(world)]


async def test_only_the_coordinator_and_the_auditor_get_reports(stack: Stack, world: World) -> None:
    for kind in ("fbu", "energy"):
        for role, org in (("ocmw", BRUGGE), ("wonen-vlaanderen", None), ("netbeheerder", "fluvius"),
                          ("admin", None)):
            r = await stack.api.get(f"/v1/reports/{kind}", headers=stack.token(role, org))
            assert r.status_code == 403, (kind, role, r.text)
        r = await stack.api.get(f"/v1/reports/{kind}")
        assert r.status_code == 401, r.text


async def test_the_auditor_sees_every_organisation_with_small_cells_hidden(stack: Stack, world: World) -> None:
    # Threshold 1 hides nothing: the auditor's figures are the coordinators' figures, for both OCMWs in one report.
    with min_cell(stack, 1):
        every = await report(stack, world, "fbu", "auditor")
        assert every["min_cell"] == 1
        assert org_of(every, BRUGGE) == brugge_fbu(world) and org_of(every, GENK) == genk_fbu(world)
        energy = await report(stack, world, "energy", "auditor")
        assert org_of(energy, BRUGGE) == BRUGGE_ENERGY and org_of(energy, GENK) == GENK_ENERGY
        # one OCMW only, when asked; an OCMW without any case is listed with zeros
        only = await report(stack, world, "fbu", "auditor", ocmw=GENK)
        assert only["organisations"] == [genk_fbu(world)]
        empty = (await report(stack, world, "energy", "auditor", ocmw="ocmw-99999"))["organisations"]
        assert empty == [{"ocmw_id": "ocmw-99999", "cases_total": 0, "cases_by_phase": NO_PHASE,
                          "cases_by_energy": {"electricity": 0, "gas": 0}, "signals_total": 0,
                          "signals_by_energy": {"electricity": 0, "gas": 0}}]

    # The default threshold (5): Brugge's 6 cases are shown as a total, every status below 5 is hidden; its 3
    # claims and 4 payouts are below 5 as a whole, so those tables are hidden whole (zeros too). Genk: all hidden.
    assert stack.settings.report_min_cell == 5
    body = await report(stack, world, "fbu", "auditor")
    assert body["min_cell"] == 5
    brugge = org_of(body, BRUGGE)
    month_cells = months(world, 5, 1)
    if len(month_cells) == 2:  # D and D+1 in two months: 1 is hidden, and 5 with it (else 6 - 1 gives it away)
        month_cells = [{"month": m["month"], "cases": None} for m in month_cells]
    assert brugge == {
        "ocmw_id": BRUGGE, "cases_total": 6,
        "cases_by_status": NO_STATUS | {"draft": None, "awaiting_signatures": None, "in_force": None, "closed": None},
        "cases_opened_by_month": month_cells,
        "claims_total": None, "claims_by_status": dict.fromkeys(NO_CLAIM),
        "payouts_total": None, "paid_total": None,
        "payouts": [{"rule_set_id": "fbu-2022", "kind": "forfait", "payouts": None, "amount": None},
                    {"rule_set_id": "fbu-2022", "kind": "tranche_1", "payouts": None, "amount": None}],
    }
    genk = org_of(body, GENK)
    assert genk["cases_total"] is None and set(genk["cases_by_status"].values()) == {None}
    assert genk["paid_total"] is None and genk["claims_total"] is None
    energy = await report(stack, world, "energy", "auditor")
    assert org_of(energy, BRUGGE) == {
        "ocmw_id": BRUGGE, "cases_total": None, "cases_by_phase": dict.fromkeys(NO_PHASE),
        "cases_by_energy": {"electricity": None, "gas": None}, "signals_total": None,
        "signals_by_energy": {"electricity": None, "gas": None}}


async def test_suppression_at_the_threshold(stack: Stack, world: World) -> None:
    with min_cell(stack, 3):
        brugge = org_of(await report(stack, world, "fbu", "auditor"), BRUGGE)
        # a count equal to the threshold is shown, below it hidden
        assert brugge["cases_total"] == 6
        assert brugge["cases_by_status"] == NO_STATUS | {"draft": None, "awaiting_signatures": None, "in_force": 3,
                                                         "closed": None}
        # 3 claims: 2 paid and 1 rejected are both below 3
        assert brugge["claims_total"] == 3 and brugge["claims_by_status"] == NO_CLAIM | {"paid": None,
                                                                                        "rejected": None}
        # 4 payouts and their euro total are shown; each kind (2) is hidden, with its amount
        assert (brugge["payouts_total"], brugge["paid_total"]) == (4, "3109.00")
        assert [(p["payouts"], p["amount"]) for p in brugge["payouts"]] == [(None, None), (None, None)]
        genk = org_of(await report(stack, world, "fbu", "auditor"), GENK)
        assert genk["cases_total"] is None  # 2 cases in all, below 3: the whole table
        # Complementary suppression: 1 closed energy case is hidden, and then the 3 in the notice period too,
        # or 4 - 3 would give it away.
        energy = org_of(await report(stack, world, "energy", "auditor"), BRUGGE)
        assert energy["cases_total"] == 4
        assert energy["cases_by_phase"] == NO_PHASE | {"notice_period": None, "closed": None}
        assert energy["cases_by_energy"] == {"electricity": None, "gas": None}
        assert energy["signals_total"] is None
    with min_cell(stack, 4):
        brugge = org_of(await report(stack, world, "fbu", "auditor"), BRUGGE)
        assert brugge["cases_by_status"]["in_force"] is None  # 3 < 4
        assert (brugge["payouts_total"], brugge["paid_total"]) == (4, "3109.00")
    with min_cell(stack, 2):
        claims = org_of(await report(stack, world, "fbu", "auditor"), BRUGGE)["claims_by_status"]
        # 1 rejected is hidden; 2 paid alone would reveal it (3 - 2), so it is hidden too
        assert claims == NO_CLAIM | {"paid": None, "rejected": None}


async def test_period_filters(stack: Stack, world: World) -> None:
    d, n = str(world.day), str(world.next_day)
    later = (await report(stack, world, "fbu", "ocmw-coordinator", BRUGGE, params={"from": n, "to": n}))
    assert later["period"] == {"from": n, "to": n}
    assert later["organisations"] == [{
        "ocmw_id": BRUGGE, "cases_total": 1, "cases_by_status": NO_STATUS | {"draft": 1},
        "cases_opened_by_month": [{"month": world.next_day.strftime("%Y-%m"), "cases": 1}],
        "claims_total": 0, "claims_by_status": NO_CLAIM, "payouts_total": 0, "paid_total": "0.00", "payouts": []}]
    first = (await report(stack, world, "fbu", "ocmw-coordinator", BRUGGE, params={"from": d, "to": d}))
    expected = brugge_fbu(world) | {"cases_total": 5, "cases_opened_by_month": months(world, 5, 0)[:1],
                                    "cases_by_status": NO_STATUS | {"awaiting_signatures": 1, "in_force": 3,
                                                                    "closed": 1}}
    assert first["organisations"] == [expected]  # payouts paid on D, summed from the PayoutPaid events

    # Payouts: summed from the event log for a period, from the payout-totals read model without one: the same.
    wide = {"from": str(world.day - timedelta(days=400)), "to": n}
    for org in (BRUGGE, GENK):
        ever = (await report(stack, world, "fbu", "ocmw-coordinator", org))["organisations"][0]
        span = (await report(stack, world, "fbu", "ocmw-coordinator", org, params=wide))["organisations"][0]
        assert span == ever
        assert (await report(stack, world, "fbu", "ocmw-coordinator", org, params={"from": n}))["organisations"][0][
            "paid_total"] == "0.00"
        assert (await report(stack, world, "fbu", "ocmw-coordinator", org, to=d))["organisations"][0][
            "payouts_total"] == ever["payouts_total"]

    energy = (await report(stack, world, "energy", "ocmw-coordinator", BRUGGE, params={"from": n, "to": n}))
    cases = {k: v for k, v in energy["organisations"][0].items() if not k.startswith("signals")}
    assert cases == {"ocmw_id": BRUGGE, "cases_total": 1, "cases_by_phase": NO_PHASE | {"notice_period": 1},
                     "cases_by_energy": {"electricity": 1, "gas": 0}}
    # Signals are dated by the day Vangnet received them (the server's clock, not the test server's).
    received = (await stack.pool.fetchval("SELECT now()")).astimezone(ZoneInfo("Europe/Brussels")).date()
    around = {"from": str(received - timedelta(days=1)), "to": str(received + timedelta(days=1))}
    signals = (await report(stack, world, "energy", "ocmw-coordinator", BRUGGE, params=around))["organisations"][0]
    assert (signals["signals_total"], signals["signals_by_energy"]) == (2, {"electricity": 1, "gas": 1})


async def test_bad_filters_are_refused_with_a_clear_message(stack: Stack, world: World) -> None:
    async def refused(role: str, org: str | None, params: dict[str, str] | None = None, **query: str) -> str:
        return str((await report(stack, world, "fbu", role, org, status=422, params=params, **query))["detail"])

    async def code(params: dict[str, str]) -> str:
        r = await stack.api.get("/v1/reports/fbu", params=params, headers=stack.token("ocmw-coordinator", BRUGGE))
        assert r.status_code == 422, r.text
        return str(r.json()["code"])

    coordinator = ("ocmw-coordinator", BRUGGE)
    assert "'from' must be on or before 'to'" in await refused(*coordinator, {"from": "2026-12-01", "to": "2026-11-30"})
    assert "at most 3660 days" in await refused(*coordinator, {"from": "2001-01-01", "to": "2026-01-01"})
    assert "between 2000-01-01 and 2099-12-31" in await refused(*coordinator, to="2205-01-01")
    # The bounds are in the schema (a pattern): invalid input; the rules between the two dates have their own code.
    assert await code({"to": "2205-01-01"}) == "invalid_input"
    assert await code({"from": "2026-12-01", "to": "2026-11-30"}) == "inconsistent_fields"
    assert await code({"from": "2001-01-01", "to": "2026-01-01"}) == "inconsistent_fields"
    assert (await refused(*coordinator, {"from": "2026-02-30"})).startswith("query.from: ")
    assert (await refused(*coordinator, to="yesterday")).startswith("query.to: ")
    assert (await refused("auditor", None, ocmw="Gent")).startswith("query.ocmw: ")
    r = await stack.api.get("/v1/reports/energy", params={"from": "2026-12-01", "to": "2026-11-01"},
                            headers=stack.token("auditor"))
    assert r.status_code == 422 and "'from' must be on or before 'to'" in r.json()["detail"]
    world.bodies.append(r.text)


async def test_no_personal_data_or_identifier_in_any_report(stack: Stack, world: World) -> None:
    for params in ({}, {"from": str(world.day), "to": str(world.next_day)}):
        for kind in ("fbu", "energy"):
            with min_cell(stack, 1):  # nothing hidden: the fullest answers
                await report(stack, world, kind, "auditor", params=params)
            for org in (BRUGGE, GENK, "ocmw-44021"):
                await report(stack, world, kind, "ocmw-coordinator", org, params=params)
    identifiers = [*world.fbu[BRUGGE], *world.fbu[GENK], *world.energy[BRUGGE], *world.energy[GENK], *world.claims,
                   *world.eans]
    assert len(world.bodies) >= 20
    for text in world.bodies:
        readable = text + "\n" + json.dumps(json.loads(text), ensure_ascii=False)
        low = readable.lower()
        assert not [p for p in PERSONAL if p.lower() in low], readable[:300]
        assert not [i for i in identifiers if i.lower() in low], readable[:300]
        # nor any other case, claim or signal id, or an 18-digit connection point (EAN)
        assert not ID_PATTERN.findall(readable), ID_PATTERN.findall(readable)


def test_report_models_forbid_extra_fields() -> None:
    with pytest.raises(ValidationError):
        EnergyOrganisation.model_validate(GENK_ENERGY | {"case_ids": ["nrg-1"]})
