"""A small OpenID Connect provider for the tests: discovery, JWKS, an authorisation endpoint that signs in a fixed
user at once, and a token endpoint that insists on PKCE (S256) and the client's secret."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from vangnet.security.tokens import issue, jwks

CLIENT_ID, CLIENT_SECRET = "vangnet-web", "test-oidc-secret"


def create_issuer(url_holder: dict[str, str], role: str = "ocmw", org: str | None = "ocmw-44021",
                  audience: str = "vangnet") -> FastAPI:
    app = FastAPI()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    codes: dict[str, dict[str, str]] = {}
    app.state.exchanges = []

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        base = url_holder["url"]
        return {"issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token",
                "jwks_uri": base + "/jwks", "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"]}

    @app.get("/jwks")
    async def keys() -> dict[str, Any]:
        return jwks(key)

    @app.get("/authorize")
    async def authorize(request: Request) -> RedirectResponse:
        q = request.query_params
        assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID
        assert q["code_challenge_method"] == "S256" and q["code_challenge"]
        code = secrets.token_urlsafe(16)
        codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        return RedirectResponse(q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]}), 302)

    @app.post("/token")
    async def token(request: Request, grant_type: str = Form(), code: str = Form(),
                    code_verifier: str = Form(""), redirect_uri: str = Form("")) -> JSONResponse:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, 401)
        pending = codes.pop(code, None)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
        ok = (grant_type == "authorization_code" and pending is not None and challenge == pending["challenge"]
              and redirect_uri == pending["redirect_uri"])
        app.state.exchanges.append({"pkce_ok": ok})
        if not ok:
            return JSONResponse({"error": "invalid_grant"}, 400)
        access = issue(key, issuer=url_holder["url"], audience=audience, role=role, org=org,
                       subject="oidc-user-1")
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 3600})

    return app
