"""Codec endpoint for the Temporal Web UI (the remote codec protocol): decrypt payloads for an administrator.

Every payload in Temporal is AES-GCM ciphertext; this is the one place that turns it back into data, so it is
for administrators only and every decode is in the access log. Two ways in:

- a script or ``temporal`` CLI sends ``Authorization: Bearer <admin token>``;
- a browser on the Temporal Web UI signs in once at ``/codec/login`` (pasting a token from ``vangnet token
  --role admin``): the token is kept in an HttpOnly, SameSite=Strict cookie scoped to ``/codec``, and the UI's
  requests are accepted only from the configured UI origins (CORS with credentials), never from another page.

Point the UI at it with ``--ui-codec-endpoint http://HOST:PORT/codec`` (``vangnet dev`` does) and tick
"Include cross-origin credentials" in the UI's codec settings.

The body is what the UI sends, ``Payloads`` in protobuf JSON: ``{"payloads": [{"metadata": {name: base64},
"data": base64}]}``. The OpenAPI document says so exactly (``CodecPayloads``), so a client knows what is accepted;
a payload that claims this codec's encryption but does not decrypt is refused as ``undecodable_payload``.
"""

from __future__ import annotations

import html
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload, Payloads

from api import problems
from api.context import ApiContext, _bearer, authenticate, get_context
from api.openapi import problem_codes
from api.problems import ErrorCode, Refusal
from vangnet.security import access_log
from vangnet.security.tokens import Principal, Role, TokenError

router = APIRouter(prefix="/codec", tags=["Platform"])
Ctx = Annotated[ApiContext, Depends(get_context)]
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
COOKIE = "vangnet_codec"
CODEC_PATHS = ("/codec/decode", "/codec/encode")
ADMIN: tuple[Role, ...] = ("admin",)


def codec_admin(request: Request, creds: Bearer, ctx: Ctx) -> Principal:
    """An administrator, by bearer token or by the login cookie; the cookie only from a Temporal UI origin."""
    if creds is not None:
        return authenticate(creds.credentials, ctx, ADMIN)
    cookie = request.cookies.get(COOKIE)
    origin = request.headers.get("origin")
    if cookie is not None and origin is not None and origin not in ctx.settings.codec_origins:
        raise HTTPException(403, f"The origin {origin} is not a configured Temporal UI "
                                 "(VANGNET_TEMPORAL_UI_ORIGINS); the login cookie is not accepted from it.")
    return authenticate(cookie, ctx, ADMIN)


Admin = Annotated[Principal, Depends(codec_admin)]


#: Standard base64 with its padding, as protobuf JSON writes bytes (and the Temporal UI sends them).
BASE64 = r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
Base64 = Annotated[str, Field(pattern=BASE64, examples=["YmluYXJ5L2VuY3J5cHRlZA=="])]


class CodecPayload(BaseModel):
    """One Temporal ``Payload`` in protobuf JSON."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Base64] = Field(default_factory=dict, description="Metadata values, base64 (`encoding`, "
                                        "`encryption-key-id`, …).")
    data: Base64 = Field("", description="The payload's bytes, base64.")


class CodecPayloads(BaseModel):
    """Temporal ``Payloads`` in protobuf JSON, as the Temporal UI's remote codec client sends and expects them."""

    model_config = ConfigDict(extra="forbid")

    payloads: list[CodecPayload] = Field(default_factory=list, max_length=1000)


async def _apply(body: CodecPayloads, ctx: ApiContext, decode: bool) -> CodecPayloads:
    payloads = ParseDict(body.model_dump(), Payloads()).payloads  # the schema admits only what parses
    codec = ctx.client.data_converter.payload_codec
    if codec is None:
        result: list[Payload] = list(payloads)
    else:
        try:
            result = await (codec.decode(payloads) if decode else codec.encode(payloads))
        except Exception as exc:  # a payload of another key, or not ours at all
            raise Refusal(ErrorCode.UNDECODABLE_PAYLOAD, f"The payloads cannot be {'decoded' if decode else 'encoded'}"
                                                         f": {type(exc).__name__}.") from exc
    return CodecPayloads.model_validate(MessageToDict(Payloads(payloads=result)))


CODEC_CODES = problem_codes(ErrorCode.UNDECODABLE_PAYLOAD)


@router.post("/decode", summary="Decrypt payloads (administrators; bearer token or the UI login)",
             openapi_extra=CODEC_CODES)
async def decode(body: CodecPayloads, request: Request, who: Admin, ctx: Ctx) -> CodecPayloads:
    result = await _apply(body, ctx, decode=True)
    if result.payloads:
        # The UI does not say which workflow the payloads come from; the namespace is what it tells.
        namespace = request.headers.get("x-namespace", ctx.client.namespace)[:100]
        await access_log.record(ctx.pool, who, "-", f"temporal-payloads:{namespace}", ["temporal-payloads"],
                                "/codec/decode")
    return result


@router.post("/encode", summary="Encrypt payloads (administrators; bearer token or the UI login)",
             openapi_extra=CODEC_CODES)
async def encode(body: CodecPayloads, _: Admin, ctx: Ctx) -> CodecPayloads:
    return await _apply(body, ctx, decode=False)


# ---- signing in from a browser ------------------------------------------------------------------------------

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vangnet codec sign-in</title>
<style>body{{font:16px system-ui;max-width:44rem;margin:3rem auto;padding:0 1rem}}textarea{{width:100%;height:8rem}}
.err{{color:#a00}}.ok{{color:#060}}</style></head><body>
<h1>Decrypting Temporal payloads</h1>
<p>Every payload in Temporal is encrypted. Administrators sign in here once so the Temporal Web UI can show
workflow inputs and results; each decryption is recorded in the access log.</p>
{status}
<form method="post" action="/codec/login"><label for="token">Admin token
(<code>vangnet token --role admin</code>)</label><br>
<textarea id="token" name="token" autocomplete="off" spellcheck="false"></textarea><br>
<button type="submit">Sign in</button></form>
<form method="post" action="/codec/logout"><button type="submit">Sign out</button></form>
<p>In the Temporal UI, open the codec settings, set the endpoint to <code>{endpoint}</code> and tick
<em>Include cross-origin credentials</em>.</p></body></html>"""


def _page(request: Request, status: str, code: int = 200) -> HTMLResponse:
    endpoint = html.escape(str(request.base_url).rstrip("/") + "/codec")
    return HTMLResponse(PAGE.format(status=status, endpoint=endpoint), status_code=code,
                        headers={"Cache-Control": "no-store"})


@router.get("/login", response_class=HTMLResponse, summary="Sign-in page for the Temporal Web UI's codec")
async def login_page(request: Request, ctx: Ctx) -> HTMLResponse:
    token = request.cookies.get(COOKIE)
    status = '<p>Not signed in.</p>'
    if token:
        try:
            who = ctx.verifier.verify(token)
            status = f'<p class="ok">Signed in as {html.escape(who.subject)} ({html.escape(who.role)}).</p>'
        except TokenError:
            status = '<p class="err">Your sign-in has expired.</p>'
    return _page(request, status)


@router.post("/login", summary="Sign in with an admin token (form field `token`, or a bearer token)",
             response_class=RedirectResponse, status_code=303,
             responses={401: {"description": "No valid token (the sign-in page, with the reason)",
                              "content": {"text/html": {}}},
                        403: {"description": "Not an administrator (the sign-in page)", "content": {"text/html": {}}}})
async def login(request: Request, creds: Bearer, ctx: Ctx,
                token: Annotated[str | None, Form(max_length=8192)] = None) -> Response:
    raw = creds.credentials if creds is not None else (token or "").strip() or None
    try:
        who = authenticate(raw, ctx, ADMIN)
    except HTTPException as exc:
        return _page(request, f'<p class="err">{html.escape(str(exc.detail))}</p>', exc.status_code)
    response = RedirectResponse("/codec/login", status_code=303)
    response.set_cookie(COOKIE, raw or "", max_age=max((who.expires_at or 0) - int(time.time()), 0), path="/codec",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/logout", summary="Sign out of the codec", response_class=RedirectResponse, status_code=303)
async def logout() -> Response:
    response = RedirectResponse("/codec/login", status_code=303)
    response.delete_cookie(COOKIE, path="/codec", httponly=True, samesite="strict")
    return response


# ---- CORS for the UI ----------------------------------------------------------------------------------------


def _codec_origin(request: Request) -> tuple[str, bool] | None:
    """The origin of a cross-origin call to decode/encode and whether it is allowed; ``None`` for any other."""
    origin = request.headers.get("origin")
    if origin is None or request.scope["path"] not in CODEC_PATHS:
        return None
    ctx: ApiContext | None = getattr(request.app.state, "ctx", None)
    return origin, ctx is not None and origin in ctx.settings.codec_origins


def cors_preflight(request: Request) -> Response | None:
    """A request check (``api.gate``): answers the configured Temporal UI origins' preflights for decode/encode
    with credentials, and refuses everybody else's."""
    found = _codec_origin(request)
    if found is None or request.method != "OPTIONS" or "access-control-request-method" not in request.headers:
        return None
    origin, allowed = found
    if not allowed:
        return problems.response(ErrorCode.FORBIDDEN, f"The origin {origin} may not call the codec.")
    return Response(status_code=204, headers={
        **_cors(origin), "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers",
                                                            "content-type, x-namespace"),
        "Access-Control-Max-Age": "600"})


def cors_headers(request: Request) -> dict[str, str]:
    """The CORS headers of an allowed origin's answer from decode/encode; none for any other request."""
    found = _codec_origin(request)
    return _cors(found[0]) if found is not None and found[1] else {}


def _cors(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
