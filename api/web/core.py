"""What every page shares: the signed-in user (a token from the API's own issuer, in an HttpOnly cookie), CSRF,
the Jinja2 environment, and turning the API's refusals (404, 409, 422) into Dutch pages instead of JSON."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.context import ApiContext, get_context
from api.web import i18n
from vangnet.security.tokens import Principal, TokenError

SESSION_COOKIE = "vangnet_session"
PRE_CSRF_COOKIE = "vangnet_signin"  # the sign-in form's CSRF value, before there is a session
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
HOME = {"ocmw": "/werklijst", "wonen-vlaanderen": "/claims", "ocmw-coordinator": "/dashboard",
        "auditor": "/dashboard"}

env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                  autoescape=select_autoescape(["html", "svg"]), extensions=["jinja2.ext.i18n"],
                  trim_blocks=True, lstrip_blocks=True)
env.install_gettext_translations(i18n.translations(), newstyle=True)  # type: ignore[attr-defined]
env.filters.update(euro=i18n.euro, day=i18n.day, percent=i18n.percent, month=i18n.month, refusal=i18n.refusal)


class SignInNeeded(Exception):
    """No valid session: the page sends the user to the sign-in form."""


@dataclass
class Page:
    """One request to a page: who asks, with what context, and the CSRF value its forms must send back."""

    request: Request
    ctx: ApiContext
    who: Principal
    csrf: str

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return render(self.request, template, status_code, who=self.who, csrf=self.csrf, **values)


def csrf_for(secret: str) -> str:
    """The CSRF value belonging to a session: derived from the cookie's secret value, which a third-party site can
    neither read (HttpOnly, SameSite) nor guess, so no server-side store is needed."""
    return hmac.new(b"vangnet-web-csrf", secret.encode(), hashlib.sha256).hexdigest()


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("who", None)
    values.setdefault("csrf", "")
    html = env.get_template(template).render(request=request, path=request.url.path, **values)
    return HTMLResponse(html, status_code=status_code,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                            "style-src 'self'; frame-ancestors 'none'"})


Flash = tuple[str, str, str]  # kind (success | error), title, text


async def posted_form(request: Request) -> dict[str, str]:
    """The posted form's text fields, stripped (what was typed is shown again when a step is refused)."""
    return {k: str(v).strip() for k, v in (await request.form()).items() if isinstance(v, str)}


async def attempt(step: str, call: Awaitable[Any]) -> Flash:
    """Run a step through the API's own function; its answer becomes the page's message: the step and the new
    status, or the refusal (409, 422, 404 …) with its reason, never an error page."""
    try:
        result = await call
    except HTTPException as exc:
        return ("error", i18n._("The step was not applied."), i18n.refusal(str(exc.detail)))
    return ("success", i18n.term("step", step), i18n.term("status", result.status))


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def secure_cookies(request: Request) -> bool:
    """Secure cookies everywhere except on a local address (the embedded default serves plain HTTP there)."""
    return request.url.hostname not in ("127.0.0.1", "localhost", "::1", "testserver")


async def page(request: Request, *roles: str) -> Page:
    """The signed-in user with one of ``roles``; a POST must carry the session's CSRF value (form field or header)."""
    ctx = await get_context(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInNeeded
    try:
        who = ctx.verifier.verify(token)
    except TokenError as exc:
        raise SignInNeeded from exc
    if who.role not in roles:
        raise HTTPException(403, i18n._("This page is not for your role."))
    csrf = csrf_for(token)
    if request.method == "POST":
        await check_csrf(request, csrf)
    return Page(request=request, ctx=ctx, who=who, csrf=csrf)


async def check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, i18n._("The form has expired or did not come from this application. "
                                        "Reload the page and try again."))


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class WebRoute(APIRoute):
    """A page route: the API's refusals become a Dutch page (or, for htmx, a fragment), never JSON."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SignInNeeded:
                if is_htmx(request):
                    return Response(status_code=204, headers={"HX-Redirect": "/aanmelden"})
                return RedirectResponse("/aanmelden", status_code=303)
            except HTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail))
            except RequestValidationError:
                return error_page(request, 422, i18n._("The address of this page is not valid."))

        return handler


MESSAGES = {
    404: "Not found",
    403: "Not allowed",
    409: "This step does not fit the case now",
    422: "The input is not valid",
    503: "The service is not available",
}


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    """A refusal in Dutch. A 404 never says whether the case exists elsewhere (ids cannot be probed)."""
    title = i18n._(MESSAGES.get(status, "Something went wrong"))
    text = i18n.refusal(detail) if status != 404 else i18n._("This case does not exist, or it is not yours.")
    if is_htmx(request):
        return render(request, "_message.html", 200, kind="error", title=title, text=text)
    return render(request, "error.html", status, title=title, text=text, code=status)
