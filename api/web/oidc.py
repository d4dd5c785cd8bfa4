"""Production sign-in: OpenID Connect authorisation code with PKCE (S256), with Authlib's OAuth 2 client.

The identity provider's access token (audience ``vangnet``, with the ``role`` and ``org`` claims the API reads)
becomes the session, so every page checks it with the API's own verifier (issuer, audience, JWKS, expiry). The
provider is configured with ``VANGNET_OIDC_ISSUER``, ``VANGNET_OIDC_CLIENT_ID`` and ``VANGNET_OIDC_CLIENT_SECRET``;
without an issuer the embedded role picker is used instead.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import authlib.deprecate  # imported before the block below, so that its "always" filter lies under ours
import httpx
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.context import get_context
from api.web import i18n
from api.web.core import HOME, SESSION_COOKIE, WebRoute, secure_cookies
from vangnet.security.tokens import TokenError

with warnings.catch_warnings():  # Authlib prefers httpx2 and says so on import; httpx is what the project uses
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import AsyncOAuth2Client

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PENDING_COOKIE = "vangnet_oidc"
DISCOVERY_SECONDS = 300
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


class OidcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VANGNET_OIDC_", env_file=".env", extra="ignore")

    issuer: str | None = None
    client_id: str = "vangnet-web"
    client_secret: SecretStr | None = None
    scope: str = "openid profile"


def settings_of(request: Request) -> OidcSettings:
    """The app's OIDC settings (tests set ``app.state.oidc``), else the environment's."""
    configured = getattr(request.app.state, "oidc", None)
    if configured is None:
        configured = request.app.state.oidc = OidcSettings()
    return configured


def enabled(request: Request) -> bool:
    return settings_of(request).issuer is not None


async def _metadata(issuer: str) -> dict[str, Any]:
    """The provider's discovery document, cached a few minutes."""
    cached = _discovered.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
        response.raise_for_status()
        meta: dict[str, Any] = response.json()
    _discovered[issuer] = (time.monotonic() + DISCOVERY_SECONDS, meta)
    return meta


def _client(cfg: OidcSettings, request: Request) -> AsyncOAuth2Client:
    secret = cfg.client_secret.get_secret_value() if cfg.client_secret else None
    return AsyncOAuth2Client(cfg.client_id, secret, scope=cfg.scope, code_challenge_method="S256",
                             redirect_uri=str(request.url_for("oidc_callback")),
                             token_endpoint_auth_method="client_secret_basic" if secret else "none")


@router.get("/aanmelden/oidc")
async def start(request: Request) -> Response:
    """Send the browser to the provider with a fresh state and PKCE verifier (kept in a short HttpOnly cookie)."""
    cfg = settings_of(request)
    if cfg.issuer is None:
        raise HTTPException(404, "Not found.")
    meta = await _metadata(cfg.issuer)
    verifier = generate_token(64)
    async with _client(cfg, request) as client:
        url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                     nonce=generate_token(24))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(PENDING_COOKIE, json.dumps({"state": state, "verifier": verifier}), max_age=600,
                        httponly=True, samesite="lax", secure=secure_cookies(request), path="/aanmelden/oidc")
    return response


@router.get("/aanmelden/oidc/terug", name="oidc_callback")
async def callback(request: Request, code: str = "", state: str = "") -> Response:
    """Exchange the code (with the PKCE verifier) for the access token, check it like the API does, sign in."""
    cfg = settings_of(request)
    try:
        pending = json.loads(request.cookies.get(PENDING_COOKIE) or "{}")
    except ValueError:
        pending = {}
    if cfg.issuer is None or not code or not state or state != pending.get("state"):
        raise HTTPException(403, i18n._("The sign-in could not be completed. Please sign in again."))
    meta = await _metadata(cfg.issuer)
    async with _client(cfg, request) as client:
        try:
            token = await client.fetch_token(meta["token_endpoint"], code=code, code_verifier=pending["verifier"])
        except Exception as exc:  # the provider refused the code: say so without its details
            raise HTTPException(403, i18n._("The sign-in could not be completed. Please sign in again.")) from exc
    access = str(token.get("access_token", ""))
    ctx = await get_context(request)
    try:
        who = ctx.verifier.verify(access)
    except TokenError as exc:
        raise HTTPException(403, i18n._("Your organisation's sign-in gives no role in Vangnet.")) from exc
    if who.role not in HOME:
        raise HTTPException(403, i18n._("This page is not for your role."))
    response = RedirectResponse(HOME[who.role], status_code=303)
    max_age = max(60, (who.expires_at or int(time.time()) + 3600) - int(time.time()))
    response.set_cookie(SESSION_COOKIE, access, httponly=True, samesite="lax", secure=secure_cookies(request),
                        max_age=max_age, path="/")
    response.delete_cookie(PENDING_COOKIE, path="/aanmelden/oidc")
    return response
