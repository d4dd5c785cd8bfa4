"""Production sign-in: the OIDC authorisation-code flow with PKCE against a provider the test starts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
import uvicorn
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.context import ApiContext
from api.web.oidc import OidcSettings
from tests.conftest import LiveServer, free_port, serve_in_thread
from tests.web.conftest import check_page
from tests.web.oidc_issuer import CLIENT_ID, CLIENT_SECRET, create_issuer
from vangnet.platform.settings import Settings
from vangnet.security.tokens import TokenVerifier


@pytest_asyncio.fixture(loop_scope="session")
async def provider() -> AsyncIterator[LiveServer]:
    holder: dict[str, str] = {}
    live = serve_in_thread(create_issuer(holder))
    holder["url"] = live.url
    yield live
    live.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def oidc_app(provider: LiveServer, ts_env: WorkflowEnvironment, ts_pool: asyncpg.Pool,
                   settings: Settings) -> AsyncIterator[str]:
    """The API and pages configured for the provider (no local issuer), served in this event loop."""
    configured = settings.model_copy(update={"token_issuer": provider.url,
                                             "token_jwks_url": provider.url + "/jwks"})
    app = create_app()
    app.state.ctx = ApiContext(settings=configured, client=ts_env.client, pool=ts_pool, task_queue="unused",
                               clock=ts_env.get_current_time,
                               verifier=TokenVerifier(issuer=provider.url, audience=configured.token_audience,
                                                      jwks_url=provider.url + "/jwks"))
    app.state.oidc = OidcSettings(issuer=provider.url, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


async def test_oidc_code_flow_with_pkce_signs_in(oidc_app: str, provider: LiveServer, context: Any) -> None:
    page = await context.new_page()
    await page.goto(oidc_app + "/aanmelden")
    assert await page.get_by_label("Rol").count() == 0  # no role picker with a real identity provider
    assert await check_page(page, "aanmelden-oidc") == []
    await page.get_by_role("link", name="Aanmelden via uw organisatie").click()
    await page.wait_for_url("**/werklijst")
    await page.get_by_role("heading", name="Werklijst").wait_for()
    assert provider.app.state.exchanges[-1] == {"pkce_ok": True}
    # the embedded sign-in is closed here, and a callback with a forged state is refused
    async with httpx.AsyncClient(base_url=oidc_app) as http:
        pre = (await http.get("/aanmelden")).cookies["vangnet_signin"]
        r = await http.post("/aanmelden", data={"role": "ocmw", "org": "ocmw-44021", "csrf": pre})
        assert r.status_code == 403 and "identiteitsdienst" in r.text and "vangnet_session" not in r.cookies
        r = await http.get("/aanmelden/oidc/terug", params={"code": "x", "state": "forged"},
                           cookies={"vangnet_oidc": '{"state": "other", "verifier": "v"}'})
        assert r.status_code == 403 and "vangnet_session" not in r.cookies
