"""An energy case in the browser: opened with the form, the contract ends, the netbeheerder simulator takes over
(signed callbacks over HTTP), the OCMW requests prepayment and the page shows the budget meter active."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver, callback, ean, outside_winter_ban, switch_minimal_supply_off
from tests.fbu_helpers import Driver
from tests.web.conftest import check_page, sign_in


async def test_energy_case_to_prepayment(stack: Stack, context: Any, browser: Any) -> None:
    today = await Driver(stack).today()
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    await page.goto(stack.url + "/energie/nieuw")
    assert await check_page(page, "energie-nieuw") == []
    await page.get_by_label("Naam").fill("Samira Benali")
    await page.get_by_label("Rijksregisternummer").fill("85.07.30-033.28")
    await page.get_by_label("Adres").fill("Brugsesteenweg 12, 9000 Gent")
    await page.get_by_label("EAN-code").fill("541448820000000001")  # wrong check digit
    await page.get_by_label("Commerciële leverancier").fill("Engie")
    await page.get_by_label("Datum van de ingebrekestelling").fill(today.isoformat())
    await page.get_by_role("button", name="Dossier openen").click()
    await page.locator("#ean-error", has_text="Deze EAN-code is niet geldig").wait_for()
    assert await page.get_by_label("EAN-code").get_attribute("aria-invalid") == "true"
    await page.get_by_label("EAN-code").fill(ean(int(time.time() * 1000) % 10**8))
    await page.get_by_role("button", name="Dossier openen").click()
    await page.get_by_role("heading", name="Tijdlijn").wait_for()
    case_id = page.url.rsplit("/", 1)[1]
    assert await check_page(page, "energie-dossier") == []

    await page.evaluate("window.__noReload = true")
    await page.get_by_label("Gebeurtenis", exact=True).select_option("contract_ended")
    await page.get_by_label("Op", exact=True).fill(today.isoformat())
    await page.get_by_role("button", name="Registreren", exact=True).click()
    await page.get_by_text("Melding van de leverancier geregistreerd.").wait_for()
    assert await page.evaluate("window.__noReload === true")

    async def phase(name: str) -> bool:
        return await stack.pool.fetchval("SELECT phase FROM proj_energy_cases WHERE case_id = $1", case_id) == name

    await eventually(lambda: phase("social_supplier"), within=20)
    await page.goto(f"{stack.url}/energie/{case_id}")
    await page.get_by_role("button", name="Budgetmeter aanvragen").click()
    await page.get_by_text("Budgetmeter aangevraagd.").wait_for()
    await eventually(lambda: phase("prepayment"), within=20)

    async def credit_granted() -> bool:  # recorded just after the prepayment, once the netbeheerder was asked
        return bool(await stack.pool.fetchval(
            "SELECT 1 FROM domain_events WHERE case_id = $1 AND type = 'EmergencyCreditGranted'", case_id))

    await eventually(credit_granted, within=20)
    await page.goto(f"{stack.url}/energie/{case_id}")
    await page.get_by_text("actief", exact=True).wait_for()
    assert "Budgetmeter actief" in (await page.locator(".timeline svg").text_content() or "")
    assert await check_page(page, "energie-budgetmeter") == []
    # the emergency credit says its index is not set (the shipped book sets none); the heating support form asks
    # for the monthly average and states the top-up formula with the rule book's share
    assert "index niet ingesteld" in await page.locator("dl.facts").inner_text()
    assert await page.get_by_label("Gemiddeld maandelijks verbruik in de winter (€)").count() == 1
    assert await page.get_by_text("Elke halfmaandelijkse opwaardering is 60% daarvan, gedeeld door 2.").count() == 1
    # the LAC: ask for a hearing, then record its advice, both without a reload
    await page.get_by_label("Zitting op").fill((today + timedelta(days=14)).isoformat())
    await page.get_by_role("button", name="Zitting aanvragen").click()
    await page.get_by_text("LAC-zitting aangevraagd.").wait_for()
    await page.get_by_label("Advies", exact=True).select_option("refuse")
    await page.locator("#adv-on").fill(today.isoformat())
    await page.get_by_role("button", name="Advies registreren").click()
    await page.get_by_text("Advies van de LAC geregistreerd.").wait_for()
    assert "advies: afsluiting geweigerd" in await page.locator("dl.facts").inner_text()
    await page.get_by_role("button", name="Toon persoonsgegevens").click()
    await page.get_by_text("Samira Benali").wait_for()
    assert await stack.pool.fetchval("SELECT count(*) FROM access_log WHERE case_id = $1", case_id) == 1

    other = await browser.new_context(bypass_csp=True)
    try:
        page2 = await other.new_page()
        await sign_in(page2, stack.url, "ocmw", "ocmw-11002")
        response = await page2.goto(f"{stack.url}/energie/{case_id}")
        assert response.status == 404
    finally:
        await other.close()


async def test_restore_request_of_minimal_supply_on_the_case_page(stack: Stack, context: Any, browser: Any) -> None:
    """The action shows only while minimal supply is off; under the later rule the page says the restore is
    automatic (the refusal's Dutch half)."""
    driver = EnergyDriver(stack)
    await driver.sleep_until(outside_winter_ban(await driver.today()))
    case_id, code = await driver.open("electricity", notice=date(2022, 6, 15))
    await driver.wait_for(case_id, "PrepaymentActivated")
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    await page.goto(f"{stack.url}/energie/{case_id}")
    assert await page.get_by_role("heading", name="Minimale levering herstellen").count() == 0
    await switch_minimal_supply_off(driver, case_id)
    await driver.post_callback(callback(code, "debt_updated", "electricity", {"total_debt": "300.00"}))
    await driver.wait_for(case_id, "DebtUpdated")
    await page.goto(f"{stack.url}/energie/{case_id}")
    await page.get_by_role("button", name="Herstel aanvragen").click()
    await page.get_by_role("alert").filter(has_text="komt automatisch terug").wait_for()
    assert "MinimalSupplyRestored" not in await driver.types(case_id)


async def test_winter_support_and_a_supplier_event_that_ends_the_case(stack: Stack, context: Any) -> None:
    """Winter heating support through its two forms on a gas case on prepayment (applied, then approved: the top-up
    is 60% of the monthly average / 2), and a supplier's payment recorded on another case, which closes it."""
    driver = EnergyDriver(stack)
    today = await driver.today()
    if today.month not in (11, 12, 1, 2, 3):  # support is applied for from 1 November to 31 March
        await driver.sleep_until(date(today.year, 11, 2))
    case_id, _ = await driver.in_prepayment("gas")
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    await page.goto(f"{stack.url}/energie/{case_id}")
    await page.evaluate("window.__noReload = true")
    await page.get_by_label("Gemiddeld maandelijks verbruik in de winter (€)").fill("120,00")
    await page.get_by_label("Verwarming", exact=True).select_option("gas")
    await page.get_by_role("button", name="Aanvragen", exact=True).click()
    await page.get_by_text("Winterondersteuning aangevraagd.").wait_for()
    assert await check_page(page, "energie-winter-aangevraagd") == []
    await page.get_by_label("Beslissing", exact=True).select_option("approve")
    await page.locator("#wd-reason").fill("Verwarming op gas, budgetmeter actief")
    await page.get_by_role("button", name="Beslissing registreren").click()
    await page.get_by_text("Beslissing over winterondersteuning geregistreerd.").wait_for()
    assert await page.evaluate("window.__noReload === true"), "the page was reloaded"
    facts = await page.locator("dl.facts").inner_text()
    assert "toegekend" in facts and "36,00" in facts, facts  # 60% x 120,00 / 2
    assert await check_page(page, "energie-winter-toegekend") == []

    other, _ = await driver.open("gas")
    await page.goto(f"{stack.url}/energie/{other}")
    await page.get_by_label("Gebeurtenis", exact=True).select_option("payment_received")
    await page.get_by_label("Op", exact=True).fill((await driver.today()).isoformat())
    await page.get_by_role("button", name="Registreren", exact=True).click()
    await page.get_by_text("Melding van de leverancier geregistreerd.").wait_for()
    types = await driver.types(other)
    assert types[-2:] == ["SupplierEventRecorded", "CaseClosed"], types
    assert not await page.locator("form[action*='/stap/']").count()  # a closed case offers no step
    assert await check_page(page, "energie-afgesloten") == []
