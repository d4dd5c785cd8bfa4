"""Signing in and out. Embedded default: the user picks a role and an organisation and the API's own local issuer
signs the token, exactly like ``vangnet token``; the token lives only in an HttpOnly cookie."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.context import get_context
from api.web import i18n, oidc
from api.web.core import HOME, PRE_CSRF_COOKIE, SESSION_COOKIE, WebRoute, check_csrf, page, render, secure_cookies
from vangnet.security.tokens import ORG_ROLES, TokenError, issue, load_or_create_key

router = APIRouter(route_class=WebRoute, include_in_schema=False)
SESSION_HOURS = 8
ROLES = ("ocmw", "ocmw-coordinator", "wonen-vlaanderen", "auditor")
# Demo organisations offered in the embedded sign-in (NIS code -> municipality); any ocmw-NNNNN can be typed.
MUNICIPALITIES = {"44021": "Gent", "11002": "Antwerpen", "24062": "Leuven", "31005": "Brugge", "71016": "Genk"}


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """``/`` sends a signed-in user to the page of their role, anyone else to the sign-in form."""
    try:
        p = await page(request, *ROLES)
    except HTTPException:
        return RedirectResponse("/aanmelden", status_code=303)
    return RedirectResponse(HOME[p.who.role], status_code=303)


@router.get("/aanmelden", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    return _form(request, {}, None)


def _form(request: Request, typed: dict[str, str], error: str | None, status: int = 200) -> Response:
    pre = secrets.token_urlsafe(24)
    response = render(request, "signin.html", status, pre_csrf=pre, typed=typed, error=error, roles=ROLES,
                      municipalities=MUNICIPALITIES, embedded=_embedded(request))
    response.set_cookie(PRE_CSRF_COOKIE, pre, httponly=True, samesite="strict", secure=secure_cookies(request),
                        max_age=3600, path="/aanmelden")
    return response


def _embedded(request: Request) -> bool:
    """The role picker exists only with the local issuer; a configured identity provider never has it."""
    ctx = getattr(request.app.state, "ctx", None)
    return ctx is not None and ctx.settings.token_jwks_url is None and not oidc.enabled(request)


@router.post("/aanmelden", response_class=HTMLResponse)
async def sign_in(request: Request, role: Annotated[str, Form()], org: Annotated[str, Form()] = "") -> Response:
    await check_csrf(request, request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_hex(16))
    ctx = await get_context(request)
    if not _embedded(request):
        raise HTTPException(403, i18n._("Sign in with your organisation's identity provider."))
    org = org.strip()
    typed = {"role": role, "org": org}
    if role not in ROLES:
        return _form(request, typed, i18n._("Choose a role."), 422)
    if role in ORG_ROLES and not (org.startswith("ocmw-") and len(org) == 10 and org[5:].isdigit()):
        return _form(request, typed, i18n._("Choose the OCMW you work for."), 422)
    key = load_or_create_key(ctx.settings.key_file)
    try:
        token = issue(key, issuer=ctx.settings.token_issuer, audience=ctx.settings.token_audience, role=role,
                      org=org if role in ORG_ROLES else None, ttl_seconds=SESSION_HOURS * 3600)
    except TokenError as exc:
        return _form(request, typed, str(exc), 422)
    response = RedirectResponse(HOME[role], status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookies(request),
                        max_age=SESSION_HOURS * 3600, path="/")
    response.delete_cookie(PRE_CSRF_COOKIE, path="/aanmelden")
    return response


@router.post("/afmelden")
async def sign_out(request: Request) -> Response:
    await page(request, *ROLES)  # checks the CSRF value: no other site can sign a user out
    response = RedirectResponse("/aanmelden?afgemeld=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
