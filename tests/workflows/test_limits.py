"""Abuse limits: oversized bodies get 413, a token that writes too fast gets 429 with Retry-After."""

from __future__ import annotations

import httpx

from api.app import create_app
from api.limits import WriteRateLimiter
from tests.conftest import Stack
from tests.fbu_helpers import open_body


def test_token_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = WriteRateLimiter(per_minute=2, clock=lambda: now[0])
    assert limiter.allow("a") == 0 and limiter.allow("a") == 0
    wait = limiter.allow("a")
    assert 29 < wait <= 30  # one token every 30 s
    assert limiter.allow("b") == 0  # another token has its own bucket
    now[0] += 30
    assert limiter.allow("a") == 0


async def test_body_size_and_write_rate_limits(stack: Stack) -> None:
    app = create_app(max_body_bytes=2048, writes_per_minute=3)
    app.state.ctx = stack.api._transport.app.state.ctx  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://limits.test") as api:
        ocmw = stack.token("ocmw", "ocmw-44021")
        big = open_body()
        big["dwelling"]["address"] = "x" * 4000
        r = await api.post("/v1/fbu/cases", json=big, headers=ocmw)
        assert r.status_code == 413
        statuses = [(await api.post("/v1/fbu/cases", json={"bad": 1}, headers=ocmw)).status_code for _ in range(4)]
        assert statuses[:3] == [422, 422, 422] and statuses[3] == 429
        r = await api.post("/v1/fbu/cases", json={"bad": 1}, headers=ocmw)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        # Reads are not limited, and another token has its own budget.
        assert (await api.get("/v1/fbu/cases", headers=ocmw)).status_code == 200
        other = stack.token("ocmw", "ocmw-11002")
        assert (await api.post("/v1/fbu/cases", json={"bad": 1}, headers=other)).status_code == 422
