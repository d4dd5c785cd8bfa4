"""Sign-in, session cookie, CSRF and sign-out in a real browser."""

from __future__ import annotations

from typing import Any

import httpx

from api.web.core import CSRF_HEADER, csrf_for
from tests.conftest import Stack
from tests.fbu_helpers import Driver
from tests.web.conftest import check_page, sign_in


async def test_sign_in_as_ocmw_lands_on_the_work_list_and_signs_out(stack: Stack, context: Any) -> None:
    page = await context.new_page()
    await page.goto(stack.url + "/")
    assert page.url.endswith("/aanmelden")
    assert await check_page(page, "aanmelden") == []
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    assert page.url.endswith("/werklijst")
    await page.get_by_role("heading", name="Werklijst").wait_for()
    cookie = next(c for c in await context.cookies() if c["name"] == "vangnet_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert await check_page(page, "werklijst") == []
    await page.get_by_role("button", name="Afmelden").click()
    await page.get_by_text("U bent afgemeld.").wait_for()
    assert await check_page(page, "afgemeld") == []
    assert not [c for c in await context.cookies() if c["name"] == "vangnet_session"]
    await page.goto(stack.url + "/werklijst")
    assert page.url.endswith("/aanmelden")


async def test_posts_without_the_csrf_token_are_refused(stack: Stack, context: Any) -> None:
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    session = next(c["value"] for c in await context.cookies() if c["name"] == "vangnet_session")
    async with httpx.AsyncClient(base_url=stack.url, cookies={"vangnet_session": session}) as http:
        r = await http.post("/afmelden", data={})
        assert r.status_code == 403 and "formulier is verlopen" in r.text
        r = await http.post("/afmelden", data={"csrf": "forged"})
        assert r.status_code == 403
        for path in ("/fbu/nieuw", "/fbu/fbu-x/stap/handtekening", "/energie/nrg-x/stap/prepayment",
                     "/claims/clm-x/beslissing"):
            r = await http.post(path, data={"party": "tenant", "evidence": "forged"})
            assert r.status_code == 403, path
        r = await http.post("/fbu/fbu-x/stap/handtekening", headers={"HX-Request": "true", "X-CSRF-Token": "forged"})
        assert "formulier is verlopen" in r.text  # htmx gets the refusal as a fragment
        r = await http.post("/aanmelden", data={"role": "ocmw", "org": "ocmw-44021"})
        assert r.status_code == 403 and "vangnet_session" not in r.cookies
    # the browser's own form carries it and works
    await page.get_by_role("button", name="Afmelden").click()
    await page.get_by_text("U bent afgemeld.").wait_for()


async def test_session_cookie_is_secure_outside_localhost(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, headers={"Host": "vangnet.example.be"}) as http:
        first = await http.get("/aanmelden")
        assert "secure" in first.headers["set-cookie"].lower()
        pre = first.cookies["vangnet_signin"]
        http.cookies.clear()
        r = await http.post("/aanmelden", data={"role": "ocmw", "org": "ocmw-44021", "csrf": pre},
                            headers={"Cookie": f"vangnet_signin={pre}"})
        cookie = r.headers["set-cookie"].lower()
        assert r.status_code == 303 and "vangnet_session=" in cookie
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


async def test_roles_get_their_own_start_page(stack: Stack, context: Any) -> None:
    page = await context.new_page()
    await sign_in(page, stack.url, "wonen-vlaanderen")
    assert page.url.endswith("/claims")
    await page.goto(stack.url + "/werklijst")
    assert await page.get_by_role("heading", name="Niet toegestaan").count() == 1


async def test_keyboard_alone_signs_in_and_reaches_the_content(stack: Stack, context: Any) -> None:
    page = await context.new_page()
    await page.goto(stack.url + "/aanmelden")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "inhoud"
    for _ in range(10):  # from the role buttons on to the submit button
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.type") == "submit":
            break
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/werklijst")


async def test_a_refused_step_reads_in_dutch_with_its_values(stack: Stack, context: Any) -> None:
    """The workflow refuses in English with values in the text; the page shows the Dutch template with them."""
    case_id, _ = await Driver(stack).in_force_case()
    page = await context.new_page()
    await sign_in(page, stack.url, "ocmw", "ocmw-44021")
    session = next(c["value"] for c in await context.cookies() if c["name"] == "vangnet_session")
    headers = {"HX-Request": "true", CSRF_HEADER: csrf_for(session)}
    async with httpx.AsyncClient(base_url=stack.url, cookies={"vangnet_session": session}, headers=headers) as http:
        r = await http.post(f"/fbu/{case_id}/stap/afbetaling", data={"amount": "10,00", "paid_on": "2099-01-31"})
    assert r.status_code == 200, r.text
    assert "De betaaldatum 31 januari 2099 ligt in de toekomst." in r.text, r.text[:2000]
    assert "lies in the future" not in r.text
