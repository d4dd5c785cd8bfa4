"""The coordinator's and auditor's dashboard: charts drawn by Chart.js from the aggregate reports, CSV export."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Stack
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver
from tests.web.conftest import check_page, sign_in


async def test_coordinator_dashboard_draws_charts_and_exports_csv(stack: Stack, context: Any) -> None:
    await Driver(stack).in_force_case()  # figures to draw, whatever ran before
    await EnergyDriver(stack).open()
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await sign_in(page, stack.url, "ocmw-coordinator", "ocmw-44021")
    assert page.url.endswith("/dashboard")
    await page.get_by_label("Maandbudget FBU (€)").fill("5.000,00")
    await page.get_by_role("button", name="Tonen").click()
    await page.get_by_role("heading", name="FBU-uitkeringen per maand").wait_for()
    await page.get_by_role("heading", name="Gemiste termijnen van open dossiers (één OCMW)").wait_for()
    drawn = await page.evaluate("Array.from(document.querySelectorAll('canvas')).map(c => !!Chart.getChart(c))")
    assert drawn and all(drawn)
    assert errors == []  # among others: no Content-Security-Policy refusal
    assert await check_page(page, "dashboard") == []
    session = next(c["value"] for c in await context.cookies() if c["name"] == "vangnet_session")
    async with httpx.AsyncClient(base_url=stack.url, cookies={"vangnet_session": session}) as http:
        r = await http.get("/dashboard/fbu-status.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.text.splitlines()[0] == "Status;Dossiers"
        assert "lopend;" in r.text


async def test_auditor_sees_the_dashboard_for_every_ocmw(stack: Stack, context: Any) -> None:
    page = await context.new_page()
    await sign_in(page, stack.url, "auditor")
    await page.get_by_role("heading", name="Energiedossiers per OCMW (gemeente)").wait_for()
    assert "Kleine aantallen" in await page.content()
    assert await check_page(page, "dashboard-auditor") == []
    await page.goto(stack.url + "/werklijst")
    await page.get_by_role("heading", name="Niet toegestaan").wait_for()
    assert await check_page(page, "niet-toegestaan") == []
