"""The API's one middleware (``api.gate``): every answer is observed and carries its request id, a refusing check
answers before routing, and a request whose handler raises is counted as the 500 the server sends."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.gate import Gate


def _app() -> tuple[FastAPI, CollectorRegistry, list[str]]:
    registry = CollectorRegistry()
    requests = Counter("http_requests_total", "", ["method", "route", "status"], registry=registry)
    latency = Histogram("http_request_duration_seconds", "", ["method", "route"], registry=registry)
    app = FastAPI()
    routed: list[str] = []

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        routed.append(item_id)
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("handler failed")

    def no_blocked(request: Request) -> Response | None:
        return JSONResponse({"refused": True}, status_code=429) if "blocked" in request.scope["path"] else None

    def extra(request: Request) -> dict[str, str]:
        return {"X-Extra": "yes"} if request.headers.get("origin") else {}

    app.add_middleware(Gate, checks=[no_blocked], extra_headers=extra, requests=requests, latency=latency)
    return app, registry, routed


def _count(registry: CollectorRegistry, route: str, status: str) -> float:
    return registry.get_sample_value("http_requests_total", {"method": "GET", "route": route, "status": status}) or 0


async def test_answers_are_observed_by_route_template_with_their_request_id() -> None:
    app, registry, routed = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        given = await client.get("/items/a", headers={"X-Request-ID": "req-1", "Origin": "http://ui"})
        fresh = await client.get("/items/b")
    assert given.json() == {"id": "a"} and given.headers["x-request-id"] == "req-1"
    assert given.headers["x-extra"] == "yes" and "x-extra" not in fresh.headers
    assert len(fresh.headers["x-request-id"]) == 32  # one made up when the caller sent none
    assert routed == ["a", "b"]
    assert _count(registry, "/items/{item_id}", "200") == 2
    assert registry.get_sample_value("http_request_duration_seconds_count",
                                     {"method": "GET", "route": "/items/{item_id}"}) == 2


async def test_a_refusing_check_answers_before_routing_and_is_observed() -> None:
    app, registry, routed = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        refused = await client.get("/items/blocked", headers={"X-Request-ID": "req-2"})
    assert refused.status_code == 429 and refused.json() == {"refused": True}
    assert refused.headers["x-request-id"] == "req-2"
    assert routed == []
    assert _count(registry, "unmatched", "429") == 1


async def test_a_raising_handler_counts_as_a_500() -> None:
    app, registry, _ = _app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        failed = await client.get("/boom")
    assert failed.status_code == 500
    assert _count(registry, "/boom", "500") == 1


@pytest.mark.parametrize("path", ["/items/x%00y", "/items/x?q=%00"])
async def test_the_product_limits_refuse_a_nul_in_the_url(path: str) -> None:
    from api.limits import WriteRateLimiter, limits_check

    check = limits_check(1024, WriteRateLimiter(60))
    raw, _, query = path.partition("?")
    scope = {"type": "http", "method": "GET", "path": raw.replace("%00", "\x00"), "query_string": query.encode(),
             "headers": []}
    refusal = check(Request(scope))
    assert refusal is not None and refusal.status_code == 422
    assert check(Request({**scope, "path": "/items/x", "query_string": b"q=1"})) is None
