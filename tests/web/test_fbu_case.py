"""An FBU case in the browser: the new-case form's Dutch validation, the case page, the agreement and the three
signatures recorded by htmx without a full reload, personal data behind a logged button, another OCMW's 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Stack, eventually
from tests.fbu_helpers import Driver
from tests.web.conftest import check_page, sign_in


async def open_case_in_browser(page: Any, stack: Stack) -> str:
    today = await Driver(stack).today()
    await page.goto(stack.url + "/fbu/nieuw")
    await page.get_by_label("Naam").first.fill("Eloïse Janssens")
    await page.get_by_label("Rijksregisternummer").fill("85.07.30-033.29")  # wrong check digits
    await page.get_by_label("IBAN van de huurder").fill("BE71 0961 2345 6769")
    await page.get_by_label("Naam").nth(1).fill("Immo De Smet bv")
    await page.get_by_label("IBAN van de verhuurder").fill("BE68539007547034")
    await page.get_by_label("Adres").fill("Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent")
    await page.get_by_label("Maandhuur (€)").fill("800,00")
    await page.get_by_label("Huurachterstal (€)").fill("2.400,00")
    await page.get_by_label("Achterstal sinds").fill((today - timedelta(days=90)).isoformat())
    await page.get_by_role("button", name="Dossier openen").click()
    nn = page.get_by_label("Rijksregisternummer")
    await page.locator("#tenant-national_number-error", has_text="Dit is geen geldig rijksregisternummer").wait_for()
    await page.get_by_role("link", name="Rijksregisternummer: Dit is geen geldig").click()  # summary -> field
    assert await page.evaluate("document.activeElement.id") == "tenant-national_number"
    assert await nn.get_attribute("aria-invalid") == "true"
    assert "tenant-national_number-error" in (await nn.get_attribute("aria-describedby") or "")
    assert await nn.input_value() == "85.07.30-033.29"  # what was typed stays
    assert await page.get_by_label("Huurachterstal (€)").input_value() == "2.400,00"
    assert await check_page(page, "fbu-nieuw-fouten") == []
    await nn.fill("85.07.30-033.28")
    await page.get_by_role("button", name="Dossier openen").click()
    await page.get_by_role("heading", name="Tijdlijn").wait_for()
    return page.url.rsplit("/", 1)[1]


async def sign_agreement_in_browser(page: Any, stack: Stack) -> None:
    today = await Driver(stack).today()
    await page.evaluate("window.__noReload = true")
    await page.get_by_label("Betaling aan de verhuurder nu (€)").fill("600,00")
    await page.get_by_label("Eerste afbetaling op").fill((today + timedelta(days=10)).isoformat())
    await page.get_by_label("Aantal maandelijkse afbetalingen").fill("6")
    await page.get_by_role("button", name="Overeenkomst bewaren").click()
    await page.get_by_text("Versie 1").wait_for()
    for party in ("Huurder", "Verhuurder", "OCMW"):
        await page.get_by_label("Partij", exact=True).first.select_option(label=party)
        await page.get_by_label("Bewijs").fill("papier getekend, scan in dossier")
        await page.get_by_role("button", name="Handtekening registreren").click()
        await page.locator("#signatures tr", has_text=party).locator(".badge").wait_for()
    assert await page.evaluate("window.__noReload === true"), "the page was reloaded"
    await page.get_by_text("lopend").first.wait_for()


async def test_fbu_case_form_page_and_signatures(stack: Stack, context: Any, browser: Any) -> None:
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    await page.goto(stack.url + "/fbu/nieuw")
    assert await check_page(page, "fbu-nieuw") == []
    case_id = await open_case_in_browser(page, stack)
    assert await check_page(page, "fbu-dossier-nieuw") == []
    await sign_agreement_in_browser(page, stack)
    assert "Uitkeringen" in await page.content()
    text = await page.locator("#payouts").inner_text()
    assert "45% × 2.400,00 = 1.080,00; plafond 1.185,00; regelset fbu-2022" in text
    assert await check_page(page, "fbu-dossier-getekend") == []

    # personal data: only on request, and the read is logged
    assert "Eloïse" not in await page.content()
    await page.get_by_role("button", name="Toon persoonsgegevens").click()
    await page.get_by_text("Eloïse Janssens").wait_for()
    assert await check_page(page, "fbu-persoonsgegevens") == []
    logged = await stack.pool.fetchval("SELECT count(*) FROM access_log WHERE case_id = $1", case_id)
    assert logged == 1

    # consent: recorded through the page (the consent API's step), listed on it, kept in the database
    await page.get_by_role("textbox", name="Doel", exact=True).fill("fbu-claim")
    await page.get_by_role("textbox", name="Opmerking", exact=True).fill("formulier getekend")
    await page.get_by_role("button", name="Toestemming vastleggen").click()
    await page.locator("#consents").get_by_text("fbu-claim").wait_for()
    assert "gegeven" in await page.locator("#consents").inner_text()
    recorded = await stack.pool.fetchrow("SELECT purpose, given, note FROM consents WHERE case_id = $1", case_id)
    assert dict(recorded) == {"purpose": "fbu-claim", "given": True, "note": "formulier getekend"}
    assert await check_page(page, "fbu-toestemming") == []

    # another OCMW gets "niet gevonden", never the case
    other = await browser.new_context(bypass_csp=True)
    try:
        page2 = await other.new_page()
        await sign_in(page2, stack.url, "ocmw", "ocmw-11002")
        response = await page2.goto(f"{stack.url}/fbu/{case_id}")
        assert response.status == 404
        await page2.get_by_role("heading", name="Niet gevonden").wait_for()
        assert await check_page(page2, "niet-gevonden") == []
    finally:
        await other.close()


async def test_claim_approved_in_the_inbox_shows_paid_on_the_case_page(stack: Stack, context: Any, browser: Any
                                                                        ) -> None:
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    case_id = await open_case_in_browser(page, stack)
    await sign_agreement_in_browser(page, stack)

    claim_id = await eventually(lambda: stack.pool.fetchval(
        "SELECT claim_id FROM proj_claims WHERE case_id = $1 AND status = 'claimed'", case_id))
    wv_context = await browser.new_context(bypass_csp=True)
    try:
        wv = await wv_context.new_page()
        await sign_in(wv, stack.url, "wonen-vlaanderen")
        await wv.get_by_role("heading", name="Aanvragen", exact=True).wait_for()
        assert await check_page(wv, "claims-inbox") == []
        link = wv.get_by_role("link", name=claim_id[:14])
        while not await link.count():  # oldest first: other tests' claims may come before it
            await wv.get_by_role("link", name="Volgende").click()
            await wv.wait_for_load_state("load")
        await link.click()
        await wv.get_by_role("heading", name="Bedragen en hun berekening").wait_for()
        assert "45% × 2.400,00 = 1.080,00; plafond 1.185,00; regelset fbu-2022" in await wv.locator(
            "#claim-payouts").inner_text()
        assert await check_page(wv, "claim") == []
        # a rejection without a reason is refused next to the field, without a reload
        await wv.get_by_label("Afwijzen").check()
        await wv.get_by_role("button", name="Beslissing registreren").click()
        reason = wv.get_by_label("Reden (verplicht bij een afwijzing)")
        await wv.get_by_text("Een afwijzing heeft een reden nodig").wait_for()
        assert await reason.get_attribute("aria-invalid") == "true"
        await wv.get_by_label("Goedkeuren").check()
        await wv.get_by_role("button", name="Beslissing registreren").click()
        await wv.get_by_text("Beslissing geregistreerd.").wait_for()
    finally:
        await wv_context.close()

    async def paid() -> bool:
        await page.goto(f"{stack.url}/fbu/{case_id}")
        return "betaald" in await page.locator("#payouts").inner_text()

    await eventually(paid, within=20, interval=0.5)
    assert "Uitkering betaald" in (await page.locator(".timeline svg").text_content() or "")
    assert await check_page(page, "fbu-dossier-betaald") == []


async def test_agreement_form_shows_the_landlord_payment_guideline_and_provisional_eligibility(
        stack: Stack, context: Any) -> None:
    """The guideline (50% of the arrears, capped by the year's cap from the rule book) sits beside the amount the
    OCMW chooses, on the form and on the drafted agreement; eligibility at opening is shown as provisional."""
    driver = Driver(stack)
    case_id = await driver.open(arrears="4000.00", rent="800.00")
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    await page.goto(f"{stack.url}/fbu/{case_id}")
    eligibility = await page.locator("#eligibility").inner_text()
    assert "Voorlopig ontvankelijk volgens regelset fbu-2022" in eligibility
    guideline = await page.locator("#landlord-guideline").inner_text()
    # in 2026 the cap in force is the one from 2024 (1,482): 50% of 4,000 is 2,000, capped
    assert guideline == ("Richtbedrag: 50% van de huurachterstal (€ 2.000,00), hoogstens € 1.482,00 "
                         "(plafond geldig sinds 1 januari 2024): € 1.482,00.")
    assert await check_page(page, "fbu-richtbedrag") == []
    await page.get_by_label("Betaling aan de verhuurder nu (€)").fill("1.000,00")
    await page.get_by_label("Eerste afbetaling op").fill(((await driver.today()) + timedelta(days=10)).isoformat())
    await page.get_by_label("Aantal maandelijkse afbetalingen").fill("6")
    await page.get_by_role("button", name="Overeenkomst bewaren").click()
    await page.get_by_text("Versie 1").wait_for()
    card = await page.locator("#agreement-guideline").inner_text()
    agreement = await page.locator(".card", has=page.locator("#agreement-guideline")).inner_text()
    assert "Betaling aan de verhuurder: € 1.000,00" in agreement and "Richtbedrag" in agreement
    assert card.endswith("€ 1.482,00.")


async def test_repayment_stable_housing_and_closing_in_the_browser(stack: Stack, context: Any) -> None:
    """The follow-up steps through their forms, by htmx without a reload: a repayment counted in the plan's
    progress, a repayment dated in the future refused in Dutch next to nothing lost, stable housing declared with
    its reason; and another case closed (withdrawn), after which the page offers no step."""
    driver = Driver(stack)
    case_id, _ = await driver.in_force_case()
    today = await driver.today()
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    await page.goto(f"{stack.url}/fbu/{case_id}")
    await page.evaluate("window.__noReload = true")

    repay = page.locator("form", has=page.get_by_role("heading", name="Afbetaling registreren"))
    await repay.get_by_label("Bedrag (€)").fill("300,00")
    await repay.get_by_label("Betaald op").fill(today.isoformat())
    await repay.get_by_role("button", name="Afbetaling registreren").click()
    await page.get_by_text("€ 300,00 van € 1.800,00 terugbetaald; nog € 1.500,00 te gaan.").wait_for()
    assert await check_page(page, "fbu-afbetaling") == []

    future = today + timedelta(days=3)
    repay = page.locator("form", has=page.get_by_role("heading", name="Afbetaling registreren"))
    await repay.get_by_label("Bedrag (€)").fill("50,00")
    await repay.get_by_label("Betaald op").fill(future.isoformat())
    await repay.get_by_role("button", name="Afbetaling registreren").click()
    await page.get_by_role("alert").filter(has_text="ligt in de toekomst").wait_for()
    alert = await page.get_by_role("alert").filter(has_text="ligt in de toekomst").inner_text()
    assert "De betaaldatum" in alert and "lies in" not in alert, alert
    assert await repay.get_by_label("Bedrag (€)").input_value() == "50,00"  # what was typed stays
    assert "€ 300,00 van € 1.800,00 terugbetaald" in await page.content()  # nothing was recorded

    stable = page.locator("form", has=page.get_by_role("heading", name="Stabiele woonsituatie vaststellen"))
    await stable.get_by_label("Reden").fill("Huur zes maanden op tijd betaald")
    await stable.get_by_role("button", name="Stabiele woonsituatie vaststellen").click()
    await page.get_by_text("Stabiele woonsituatie vastgesteld.").wait_for()
    assert await page.evaluate("window.__noReload === true"), "the page was reloaded"
    assert "StableHousingDeclared" in await driver.event_types(case_id)
    assert await check_page(page, "fbu-stabiel") == []

    other = await driver.open()
    await page.goto(f"{stack.url}/fbu/{other}")
    close = page.locator("form", has=page.get_by_role("heading", name="Dossier afsluiten"))
    await close.get_by_label("Reden").select_option(label="ingetrokken")
    await close.get_by_role("button", name="Dossier afsluiten").click()
    await page.get_by_text("Dossier afgesloten.").wait_for()
    assert not await page.locator("form[action*='/stap/']").count()  # a closed case offers no step
    assert (await driver.event_types(other))[-1] == "CaseClosed"
    assert await check_page(page, "fbu-afgesloten") == []
