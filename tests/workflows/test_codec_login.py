"""The Temporal Web UI decrypts payloads through the codec endpoint after an administrator signs in once in the
browser: the login cookie is HttpOnly, scoped to /codec, accepted only from the UI's origin, and every decode is
in the access log."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from google.protobuf.json_format import MessageToDict
from temporalio.api.common.v1 import Payload, Payloads

from tests.conftest import TEST_CODEC, Stack

UI = "http://127.0.0.1:8233"  # the embedded Temporal UI's origin (the settings' default port)


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def sealed_body(text: str) -> dict[str, Any]:
    sealed = await TEST_CODEC.encode([Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())])
    return MessageToDict(Payloads(payloads=sealed))


async def sign_in(stack: Stack, token: str) -> httpx.Response:
    r = await stack.api.post("/codec/login", data={"token": token})
    stack.api.cookies.clear()  # the shared test client must not carry the login into other tests: headers only
    return r


async def test_an_admin_signs_in_and_the_ui_decodes_with_the_cookie(stack: Stack) -> None:
    page = await stack.api.get("/codec/login")
    assert page.status_code == 200 and "Not signed in" in page.text and "/codec" in page.text

    r = await sign_in(stack, token_of(stack.token("admin")))
    assert r.status_code == 303 and r.headers["location"] == "/codec/login"
    cookie = r.headers["set-cookie"]
    for attribute in ("HttpOnly", "Path=/codec", "SameSite=strict", "Max-Age="):
        assert attribute in cookie, cookie
    value = cookie.split(";")[0]  # vangnet_codec=<jwt>
    signed_in = await stack.api.get("/codec/login", headers={"Cookie": value})
    assert "Signed in as admin:central:user (admin)" in signed_in.text

    # The UI's preflight, then its decode with credentials: allowed from the UI's origin.
    pre = await stack.api.options("/codec/decode", headers={
        "Origin": UI, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace"})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == UI
    assert pre.headers["access-control-allow-credentials"] == "true"
    before = await stack.pool.fetchval("SELECT count(*) FROM access_log WHERE route = '/codec/decode'")
    decoded = await stack.api.post("/codec/decode", json=await sealed_body("Eloïse"), headers={
        "Cookie": value, "Origin": UI, "X-Namespace": "default"})
    assert decoded.status_code == 200, decoded.text
    assert base64.b64decode(decoded.json()["payloads"][0]["data"]).decode() == '"Eloïse"'
    assert decoded.headers["access-control-allow-origin"] == UI
    after = await stack.pool.fetchrow("SELECT subject, role, purpose FROM access_log WHERE route = '/codec/decode' "
                                      "ORDER BY id DESC LIMIT 1")
    assert await stack.pool.fetchval("SELECT count(*) FROM access_log WHERE route = '/codec/decode'") == before + 1
    assert dict(after) == {"subject": "admin:central:user", "role": "admin", "purpose": "temporal-payloads:default"}

    # Signing out clears the cookie.
    out = await stack.api.post("/codec/logout", headers={"Cookie": value})
    assert out.status_code == 303 and 'vangnet_codec=""' in out.headers["set-cookie"]
    assert "Max-Age=0" in out.headers["set-cookie"]


async def test_the_cookie_is_refused_from_another_origin_and_other_pages_get_no_cors(stack: Stack) -> None:
    value = (await sign_in(stack, token_of(stack.token("admin")))).headers["set-cookie"].split(";")[0]
    body = await sealed_body("secret")
    evil = "http://127.0.0.1:9999"
    r = await stack.api.post("/codec/decode", json=body, headers={"Cookie": value, "Origin": evil})
    assert r.status_code == 403 and "not a configured Temporal UI" in r.json()["detail"]
    assert "secret" not in r.text and "access-control-allow-origin" not in r.headers
    pre = await stack.api.options("/codec/decode", headers={"Origin": evil, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403
    # CORS is for the codec only: an API route answers the UI's origin without it.
    other = await stack.api.get("/v1/fbu/cases", headers={"Origin": UI, **stack.token("ocmw", "ocmw-44021")})
    assert "access-control-allow-origin" not in other.headers


async def test_only_an_administrator_can_sign_in(stack: Stack) -> None:
    for role, org in (("ocmw", "ocmw-44021"), ("auditor", None), ("wonen-vlaanderen", None)):
        r = await sign_in(stack, token_of(stack.token(role, org)))
        assert r.status_code == 403 and "set-cookie" not in r.headers and "admin" in r.text
    garbage = await sign_in(stack, "not-a-token")
    assert garbage.status_code == 401 and "invalid token" in garbage.text and "set-cookie" not in garbage.headers
    empty = await sign_in(stack, "")
    assert empty.status_code == 401
    # A cookie that is not a valid token opens nothing.
    r = await stack.api.post("/codec/decode", json=await sealed_body("x"), headers={"Cookie": "vangnet_codec=forged"})
    assert r.status_code == 401


async def test_a_malformed_body_is_a_clear_422(stack: Stack) -> None:
    """The body is described in the OpenAPI document (CodecPayloads): what breaks it is invalid input, naming the
    field; a well-formed payload that claims Vangnet's encryption but does not decrypt has its own code."""
    admin = stack.token("admin")
    for body, field in (({"payloads": "nope"}, "payloads"), ({"payloads": [{"data": 5}]}, "payloads.0.data"),
                        ([1, 2], ""), ({"unknown": 1}, "unknown"), ({"payloads": [{"data": "not base64!"}]},
                                                                    "payloads.0.data"),
                        ({"payloads": [{"data": None}]}, "payloads.0.data")):
        r = await stack.api.post("/codec/decode", json=body, headers=admin)
        assert r.status_code == 422 and r.json()["code"] == "invalid_input", (body, r.status_code, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.text)
    r = await stack.api.post("/codec/decode", content=b"{not json",
                             headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 422
    forged = {"payloads": [{"metadata": {"encoding": base64.b64encode(b"binary/encrypted").decode(),
                                         "encryption-key-id": base64.b64encode(b"test-k1").decode()},
                            "data": base64.b64encode(b"x" * 40).decode()}]}
    r = await stack.api.post("/codec/decode", json=forged, headers=admin)
    assert r.status_code == 422 and "cannot be decoded" in r.json()["detail"]
    assert r.json()["code"] == "undecodable_payload"
