"""Browser fixtures: Debian's Chromium driven by Playwright against the real stack (time-skipping Temporal,
PostgreSQL, the payment and netbeheerder simulators over HTTP), plus axe-core and screenshots of every page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
SIZES = {"desktop": (1366, 768), "mobile": (390, 844)}
TAKEN: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TAKEN:
        terminalreporter.section("screenshots")
        for path in TAKEN:
            terminalreporter.write_line(str(path.relative_to(ROOT)))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip("playwright.async_api")
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium (.ci/run does it)")
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--lang=nl-BE"])
        yield b
        await b.close()


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser profile per test (its own cookies); CSP bypassed only so axe-core can be injected."""
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True, locale="nl-BE")
    yield ctx
    await ctx.close()


async def sign_in(page: Any, base_url: str, role: str, org: str | None = None) -> None:
    await page.goto(base_url + "/aanmelden")
    await page.get_by_label(ROLE_LABELS[role], exact=True).check()
    if org:
        await page.get_by_label("Organisatie (OCMW)").select_option(org)
    await page.get_by_role("button", name="Aanmelden").click()
    await page.wait_for_load_state("load")


ROLE_LABELS = {"ocmw": "Maatschappelijk werker OCMW", "ocmw-coordinator": "Coördinator OCMW",
               "wonen-vlaanderen": "Wonen-Vlaanderen", "auditor": "Auditor"}


async def check_page(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe-core on the page and save a screenshot at both sizes; return the serious or critical violations."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make` (npm ci) first")
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    for size, (w, h) in SIZES.items():
        await page.set_viewport_size({"width": w, "height": h})
        path = SCREENSHOTS / f"{slug}-{size}-{w}x{h}.png"
        await page.screenshot(path=str(path), full_page=True)
        if path not in TAKEN:
            TAKEN.append(path)
    await page.set_viewport_size({"width": 1366, "height": 768})
    return bad
