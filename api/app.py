"""The HTTP API: FastAPI app factory and its metrics; the one middleware in ``api.gate``, error bodies in
``api.problems``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram

from api import (
    audit_routes,
    claims_routes,
    codec_routes,
    energy_routes,
    fbu_routes,
    openapi,
    platform_routes,
    problems,
    reports_routes,
    sharing_routes,
)
from api.context import ApiContext
from api.gate import Gate
from api.limits import WriteRateLimiter, limits_check
from api.web import site
from vangnet.services import ops_metrics

DESCRIPTION = """
Vangnet follows FBU eviction-prevention and energy-arrears cases for OCMWs, Wonen-Vlaanderen and grid operators.

Every write accepts an `Idempotency-Key` header: a repeated request with the same key is applied once.
Every error is an RFC 9457 problem (`application/problem+json`): `type`, `title`, `status`, `detail` (a message
for the social worker) and `code`, a stable machine-readable reason to branch on (`step_out_of_order`,
`wrong_municipality`, …; see the `ErrorCode` schema); a `422` lists each wrong field in `errors`. `422` means the
request breaks the contract, `409` that it is well formed but the case's state or the rules in force refuse it,
`403` that it is not yours to do, `404` that the object does not exist for you. The guide is `docs/api.md`.
"""


def create_app(context_factory: Callable[[], Awaitable[tuple[ApiContext, Callable[[], Awaitable[None]]]]] | None = None,
               *, jwks: dict[str, Any] | None = None, max_body_bytes: int = 256 * 1024,
               writes_per_minute: int = 600) -> FastAPI:
    """Build the app; ``context_factory`` connects Temporal and PostgreSQL (tests pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        close: Callable[[], Awaitable[None]] | None = None
        if context_factory is not None:
            app.state.ctx, close = await context_factory()
            close = await ops_metrics.attach(app.state.ctx.pool, registry, close)  # domain gauges on /metrics
        yield
        if close is not None:
            await close()

    app = FastAPI(title="Vangnet", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    registry = CollectorRegistry()
    requests = Counter("vangnet_http_requests_total", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("vangnet_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                        registry=registry)
    app.state.metrics_registry = registry
    app.state.jwks = jwks or {"keys": []}

    app.add_middleware(Gate, checks=[codec_routes.cors_preflight,
                                     limits_check(max_body_bytes, WriteRateLimiter(writes_per_minute))],
                       extra_headers=codec_routes.cors_headers, requests=requests, latency=latency)
    app.include_router(platform_routes.router)
    app.include_router(fbu_routes.router)
    app.include_router(claims_routes.router)
    app.include_router(energy_routes.router)
    app.include_router(energy_routes.steps_router)
    app.include_router(codec_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(sharing_routes.router)
    app.include_router(reports_routes.router)
    problems.install(app)
    openapi.install(app)
    site.mount(app)
    return app
