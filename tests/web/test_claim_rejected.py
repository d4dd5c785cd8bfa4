"""A claim Wonen-Vlaanderen rejects in the browser: the OCMW sees the reason on its case page and resubmits it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Stack, eventually
from tests.fbu_helpers import Driver
from tests.web.conftest import check_page, sign_in


async def test_rejected_claim_is_resubmitted_from_the_case_page(stack: Stack, context: Any, browser: Any) -> None:
    driver = Driver(stack)
    case_id, _ = await driver.in_force_case()
    claim = await eventually(lambda: driver.claim(case_id, "initial"))

    wv_context = await browser.new_context(bypass_csp=True)
    try:
        wv = await wv_context.new_page()
        await sign_in(wv, stack.url, "wonen-vlaanderen")
        await wv.goto(f"{stack.url}/claims/{claim['claim_id']}")
        await wv.get_by_label("Afwijzen").check()
        reason = wv.get_by_label("Reden (verplicht bij een afwijzing)")
        await reason.fill("Handtekening verhuurder ontbreekt op de scan")
        await wv.get_by_role("button", name="Beslissing registreren").click()
        await wv.get_by_text("De aanvraag is afgewezen.").wait_for()
    finally:
        await wv_context.close()

    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    await page.goto(f"{stack.url}/fbu/{case_id}")
    await page.get_by_text("Reden van Wonen-Vlaanderen: Handtekening verhuurder ontbreekt op de scan").wait_for()
    assert await check_page(page, "fbu-aanvraag-afgewezen") == []
    await page.get_by_role("button", name="Aanvraag opnieuw indienen").click()
    await page.get_by_text("Vul dit veld in.").wait_for()  # the comment is required; nothing was sent
    await page.get_by_label("Wat werd verbeterd").fill("Nieuwe scan met alle handtekeningen")
    await page.get_by_role("button", name="Aanvraag opnieuw indienen").click()
    await page.get_by_text("Aanvraag opnieuw ingediend.").wait_for()
    assert await driver.claim(case_id, "initial", "claimed") is not None
