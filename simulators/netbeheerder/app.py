"""Netbeheerder simulator: performs Vangnet's requests and calls back with signed callbacks, asynchronously.

Faults (settable at start or with ``PUT /faults``): ``delay_ms`` before acting, ``duplicate_rate`` (a callback is
delivered twice with the same event id), ``reorder_rate`` (extra random delay, so callbacks overtake each other)
and ``error_rate`` (a request is answered 503 and not performed).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from schemas.netbeheerder import SIGNATURE_HEADER, TIMESTAMP_HEADER, Callback, CallbackType, NetbeheerderRequest, sign

RESULT: dict[str, CallbackType] = {
    "request_takeover": "takeover_confirmed",
    "activate_prepayment": "prepayment_activated",
    "grant_emergency_credit": "emergency_credit_granted",
    "switch_minimal_supply": "minimal_supply_switched",
    "schedule_disconnection": "disconnection_done",
    "load_topup": "topup_loaded",
}


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delay_ms: int = Field(200, ge=0, le=60_000)
    duplicate_rate: float = Field(0.0, ge=0, le=1)
    reorder_rate: float = Field(0.0, ge=0, le=1)
    error_rate: float = Field(0.0, ge=0, le=1)


class FaultsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delay_ms: int | None = Field(None, ge=0, le=60_000)
    duplicate_rate: float | None = Field(None, ge=0, le=1)
    reorder_rate: float | None = Field(None, ge=0, le=1)
    error_rate: float | None = Field(None, ge=0, le=1)


class Emit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: CallbackType
    ean: str = Field(pattern=r"^\d{18}$")
    energy: str = Field(pattern="^(electricity|gas)$")
    data: dict[str, str | int | bool | None] = Field(default_factory=dict)
    callback_url: str
    event_id: str | None = None


@dataclass
class _State:
    secret: str
    netbeheerder: str
    faults: Faults
    rng: random.Random
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    http: httpx.AsyncClient | None = None


def create_app(*, secret: str, netbeheerder: str = "fluvius", delay_ms: int = 200, duplicate_rate: float = 0.0,
               reorder_rate: float = 0.0, error_rate: float = 0.0, seed: int | None = None,
               db_path: str | None = None) -> FastAPI:
    """Build the simulator (``db_path`` is accepted for symmetry with the payment simulator; state is in memory)."""
    state = _State(secret=secret, netbeheerder=netbeheerder, rng=random.Random(seed),
                   faults=Faults(delay_ms=delay_ms, duplicate_rate=duplicate_rate, reorder_rate=reorder_rate,
                                 error_rate=error_rate))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.http = httpx.AsyncClient(timeout=10)
        yield
        for task in list(state.tasks):
            task.cancel()
        await state.http.aclose()

    app = FastAPI(title="Netbeheerder simulator", lifespan=lifespan)
    app.state.simulator = state

    async def deliver(cb: Callback, url: str, record: dict[str, Any] | None) -> None:
        raw = cb.model_dump_json().encode()
        copies = 2 if state.rng.random() < state.faults.duplicate_rate else 1
        for _ in range(copies):
            status: int | str = "not sent"
            for attempt in range(6):
                stamp = int(time.time())
                headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(state.secret, stamp, raw),
                           "Content-Type": "application/json"}
                try:
                    assert state.http is not None
                    response = await state.http.post(url, content=raw, headers=headers)
                    status = response.status_code
                    if response.status_code < 500 and response.status_code != 429:
                        break
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                await asyncio.sleep(0.05 * 2**attempt)
            state.sent.append({"callback": json.loads(raw), "url": url, "status": status})
            if record is not None:
                record.setdefault("deliveries", []).append(status)

    async def perform(req: NetbeheerderRequest, record: dict[str, Any]) -> None:
        delay = state.faults.delay_ms / 1000
        if state.rng.random() < state.faults.reorder_rate:
            delay += state.rng.random() * 3 * delay
        await asyncio.sleep(delay)
        record["status"] = "performed"
        data: dict[str, str | int | bool | None] = dict(req.params)
        cb = Callback(event_id=f"{req.idempotency_key}:done", type=RESULT[req.type], ean=req.ean, energy=req.energy,
                      netbeheerder=state.netbeheerder, occurred_at=datetime.now(UTC),
                      request_key=req.idempotency_key, data=data)
        await deliver(cb, req.callback_url, record)

    def spawn(coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)

    @app.post("/v1/requests", status_code=202)
    async def request(req: NetbeheerderRequest) -> JSONResponse:
        if state.rng.random() < state.faults.error_rate:
            raise HTTPException(503, "simulated outage; nothing was done")
        known = state.requests.get(req.idempotency_key)
        if known is not None:
            return JSONResponse({"request_id": known["request_id"], "status": known["status"], "replayed": True})
        record = {"request_id": "REQ-" + uuid.uuid4().hex, "request": req.model_dump(), "status": "accepted"}
        state.requests[req.idempotency_key] = record
        spawn(perform(req, record))
        return JSONResponse({"request_id": record["request_id"], "status": "accepted"}, status_code=202)

    @app.post("/v1/emit", status_code=202)
    async def emit(body: Emit) -> dict[str, Any]:
        cb = Callback(event_id=body.event_id or f"emit-{uuid.uuid4().hex}", type=body.type, ean=body.ean,
                      energy=body.energy, netbeheerder=state.netbeheerder,
                      occurred_at=datetime.now(UTC), data=body.data)
        spawn(deliver(cb, body.callback_url, None))
        return cb.model_dump(mode="json")

    @app.get("/v1/requests")
    async def requests() -> dict[str, Any]:
        return {"requests": list(state.requests.values()), "count": len(state.requests)}

    @app.get("/v1/callbacks")
    async def callbacks() -> dict[str, Any]:
        return {"callbacks": state.sent, "count": len(state.sent)}

    @app.get("/faults")
    async def get_faults() -> Faults:
        return state.faults

    @app.put("/faults")
    async def put_faults(update: FaultsUpdate) -> Faults:
        state.faults = state.faults.model_copy(update=update.model_dump(exclude_none=True))
        return state.faults

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass(frozen=True)
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8102
    secret: str = "dev-secret-fluvius"  # noqa: S105 - the embedded default only; production sets its own
    netbeheerder: str = "fluvius"
    delay_ms: int = 200
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    error_rate: float = 0.0
    seed: int | None = None


def config_from_env(environ: Mapping[str, str] | None = None) -> SimulatorConfig:
    env = os.environ if environ is None else environ
    seed = env.get("NBSIM_SEED")
    return SimulatorConfig(
        host=env.get("NBSIM_HOST", "127.0.0.1"), port=int(env.get("NBSIM_PORT", "8102")),
        secret=env.get("NBSIM_SECRET", "dev-secret-fluvius"), netbeheerder=env.get("NBSIM_NETBEHEERDER", "fluvius"),
        delay_ms=int(env.get("NBSIM_DELAY_MS", "200")), duplicate_rate=float(env.get("NBSIM_DUPLICATE_RATE", "0")),
        reorder_rate=float(env.get("NBSIM_REORDER_RATE", "0")), error_rate=float(env.get("NBSIM_ERROR_RATE", "0")),
        seed=int(seed) if seed else None)


def main() -> None:
    import uvicorn

    cfg = config_from_env()
    uvicorn.run(create_app(secret=cfg.secret, netbeheerder=cfg.netbeheerder, delay_ms=cfg.delay_ms,
                           duplicate_rate=cfg.duplicate_rate, reorder_rate=cfg.reorder_rate,
                           error_rate=cfg.error_rate, seed=cfg.seed), host=cfg.host, port=cfg.port)


if __name__ == "__main__":
    main()
