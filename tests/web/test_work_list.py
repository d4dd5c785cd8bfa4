"""The OCMW's work list in the browser: FBU and energy cases together from the projections, counts of what needs
action, filters and paging; another OCMW's cases never appear."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from tests.conftest import Stack
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver, agreement_body, open_body
from tests.web.conftest import check_page, sign_in


async def test_work_list_filters_counts_and_pages(stack: Stack, context: Any) -> None:
    fbu, energy = Driver(stack), EnergyDriver(stack)
    in_force = await fbu.open()
    await fbu.draft(in_force, agreement_body(Decimal("2400.00"), Decimal("600.00"), 6,
                                             await fbu.today() + timedelta(days=3)))  # first instalment in 3 days
    await fbu.sign_all(in_force)
    for _ in range(25):
        await fbu.open()
    energy_case, _ = await energy.open()
    other = stack.token("ocmw", "ocmw-11002")
    body = open_body()
    body["dwelling"] = {**body["dwelling"], "municipality_nis": "11002"}
    r = await stack.api.post("/v1/fbu/cases", json=body, headers=other)
    assert r.status_code == 201, r.text
    foreign = r.json()["case_id"]

    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    open_cases = int(await page.locator(".count", has_text="open dossiers").locator(".n").inner_text())
    assert open_cases >= 27
    week = int(await page.locator(".count", has_text="binnen 7 dagen").locator(".n").inner_text())
    assert week >= 1  # the in-force case's first instalment
    assert await page.get_by_role("navigation", name="Pagina's").count() == 1
    assert foreign[:12] not in await page.content()
    assert await check_page(page, "werklijst-met-dossiers") == []
    await page.get_by_role("link", name="Volgende").click()
    await page.get_by_text("Pagina 2 van").wait_for()

    await page.get_by_label("Procedure").select_option("energie")
    await page.get_by_role("button", name="Filteren").click()
    await page.get_by_role("link", name=energy_case[:12]).wait_for()
    assert await page.locator("tbody tr", has_text="FBU").count() == 0

    await page.get_by_label("Procedure").select_option("fbu")
    await page.get_by_label("Fase").select_option("in_force")
    await page.get_by_role("button", name="Filteren").click()
    await page.get_by_role("link", name=in_force[:12]).wait_for()
    assert await page.locator("tbody tr", has_text="ontwerp").count() == 0
    assert await check_page(page, "werklijst-gefilterd") == []
    await page.get_by_role("link", name=in_force[:12]).click()
    await page.get_by_role("heading", name="Tijdlijn").wait_for()
