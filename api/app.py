"""The HTTP API: FastAPI app factory, request ids, metrics and error bodies."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Histogram

from api import (
    audit_routes,
    claims_routes,
    codec_routes,
    energy_routes,
    fbu_routes,
    platform_routes,
    reports_routes,
    sharing_routes,
    web,
)
from api.context import ApiContext
from api.limits import WriteRateLimiter, limits_middleware
from vangnet.services import ops_metrics

log = structlog.get_logger(__name__)
DATABASE_UNAVAILABLE = ("The database is unavailable; try again in a moment (a step with the same Idempotency-Key "
                        "is applied once).")

DESCRIPTION = """
Vangnet follows FBU eviction-prevention and energy-arrears cases for OCMWs, Wonen-Vlaanderen and grid operators.

Every write accepts an `Idempotency-Key` header: a repeated request with the same key is applied once.
Errors are JSON `{"detail": "..."}` with a message meant for the social worker; `422` means the input is wrong,
`409` that the step does not fit the case's current state, `404` that the case does not exist for you.
"""


def _friendly(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        msg = str(e.get("msg", ""))
        out.append({"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                    "message": msg.removeprefix("Value error, ")})
    return out


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

    limits = limits_middleware(max_body_bytes, WriteRateLimiter(writes_per_minute))
    cors = codec_routes.cors_middleware()

    @app.middleware("http")
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Observe, then CORS for the codec, then the abuse limits: one middleware layer, not three (each layer
        of Starlette's ``http`` middleware costs a task and a stream per request)."""
        return await observe(request, lambda r: cors(r, lambda r2: limits(r2, call_next)))

    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        requests.labels(request.method, template, str(response.status_code)).inc()
        latency.labels(request.method, template).observe(time.perf_counter() - start)
        response.headers["X-Request-ID"] = request_id
        if response.status_code >= 500:
            log.warning("request failed", method=request.method, route=template, status=response.status_code)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _friendly(list(exc.errors()))
        summary = "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems)
        return JSONResponse({"detail": summary, "errors": problems}, status_code=422)

    @app.exception_handler(OSError)
    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.exceptions.OperatorInterventionError)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        """PostgreSQL down or restarting (refused, socket gone, connection cut, shutting down): 503, not 500."""
        log.warning("database unavailable", error=type(exc).__name__, path=request.url.path)
        return JSONResponse({"detail": DATABASE_UNAVAILABLE}, status_code=503, headers={"Retry-After": "2"})

    app.include_router(platform_routes.router)
    app.include_router(fbu_routes.router)
    app.include_router(claims_routes.router)
    app.include_router(energy_routes.router)
    app.include_router(energy_routes.steps_router)
    app.include_router(codec_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(sharing_routes.router)
    app.include_router(reports_routes.router)
    web.mount(app)
    return app
