"""HTTP simulator of a netbeheerder (grid operator acting as social supplier, domain.md §2).

Vangnet sends it requests (``POST /v1/requests``: take over a customer, activate the prepayment function, grant
emergency credit, switch the minimal supply, disconnect, load a top-up); the simulator accepts them at once and
performs them later, asynchronously, each followed by a callback POSTed to the request's ``callback_url`` and
signed with HMAC-SHA256 (``schemas.netbeheerder``). ``POST /v1/emit`` sends any callback on the netbeheerder's own
initiative (an invoice, an unpaid invoice, the debt, a customer who left).

Faults, set at start (``create_app`` arguments or ``NBSIM_*`` variables) or at runtime with ``PUT /faults``:

* ``delay_ms`` — how long after accepting a request it is performed and called back;
* ``reorder_rate`` — probability that a request gets an extra random delay of up to 3 × ``delay_ms``, so its
  callback can overtake (or be overtaken by) the callbacks of later requests;
* ``duplicate_rate`` — probability that a callback is delivered twice (same ``event_id``);
* ``error_rate`` — probability that a request is answered 503 and not stored or performed;
* ``drop_rate`` (at runtime only) — probability that a callback is never delivered (no attempt; recorded as
  ``dropped``), the simulator having given up on it; ``GET /v1/requests/{idempotency_key}`` still answers with
  its ``outcome``.

A request is stored once per idempotency key: a repeat is answered 200 with the stored request and acts no
second time (a repeat with a different body is 409). A callback is redelivered on a 5xx, 408, 425 or 429 answer
or a connection error, up to ``MAX_ATTEMPTS`` tries with exponential backoff (about 1.5 s in all); every outcome is
recorded (``GET /v1/requests``, ``GET /v1/callbacks``). Given a ``seed``, the same sequence of requests meets the
same faults.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import structlog
import uvicorn
from fastapi import FastAPI, HTTPException, Query, Response, status

from schemas.netbeheerder import CALLBACK_FOR, PARAMS_FOR, Callback, NetbeheerderRequest, signature_headers
from simulators.netbeheerder.models import (
    CallbackList,
    Delivery,
    EmitRequest,
    Faults,
    FaultsUpdate,
    RequestAccepted,
    RequestList,
    RequestView,
    SentCallback,
    params_problem,
)
from simulators.netbeheerder.store import (
    IdempotencyConflictError,
    RequestStatus,
    RequestStore,
    StoredRequest,
    now_iso,
)

log = structlog.get_logger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8102
DEFAULT_SECRET = "dev-secret-fluvius"  # noqa: S105 - the embedded default only; a deployment sets NBSIM_SECRET
MAX_ATTEMPTS = 5  # per callback copy
BACKOFF_SECONDS = 0.1  # doubled after every failed attempt: 0.1 + 0.2 + 0.4 + 0.8 s between five attempts
CALLBACK_TIMEOUT_SECONDS = 5.0
RETRY_STATUSES = frozenset({408, 425, 429})  # plus every 5xx


# ------------------------------------------------------------------------------------------------------ app


class SimulatorState:
    """Mutable state of one simulator, kept on ``app.state.simulator``.

    The random generator is used on the event loop only. Background tasks are kept in ``tasks`` (so they are not
    garbage-collected mid-flight) and cancelled when the app shuts down.
    """

    def __init__(self, *, secret: str, netbeheerder: str, faults: Faults, seed: int | None,
                 store: RequestStore) -> None:
        self.secret = secret
        self.netbeheerder = netbeheerder
        self.faults = faults
        self.rng = random.Random(seed)
        self.store = store
        self.sent: list[SentCallback] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    def roll(self, rate: float) -> bool:
        """True with probability ``rate``. Always draws, so the sequence does not depend on the rates."""
        return self.rng.random() < rate

    def http(self) -> httpx.AsyncClient:
        if self._http is None:  # created lazily, so the app also works without its lifespan (ASGITransport)
            self._http = httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_SECONDS)
        return self._http

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def aclose(self) -> None:
        """Cancel the background work and close the HTTP client (the store stays open)."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ---- callbacks

    async def deliver(self, cb: Callback, url: str) -> list[Delivery]:
        """Send ``cb`` to ``url`` (twice with probability ``duplicate_rate``), each copy retried on failure."""
        raw = cb.model_dump_json().encode()
        copies = 2 if self.roll(self.faults.duplicate_rate) else 1
        # Drawn only when set, so a seeded run without it meets the same faults as before the knob existed.
        dropped = self.faults.drop_rate > 0 and self.roll(self.faults.drop_rate)
        deliveries = []
        for copy_no in range(1, copies + 1):
            delivery = self._dropped(cb, url, copy_no) if dropped else await self._send(cb, raw, url, copy_no)
            self.sent.append(SentCallback(**delivery.model_dump(), callback=cb))
            deliveries.append(delivery)
        return deliveries

    def _dropped(self, cb: Callback, url: str, copy_no: int) -> Delivery:
        log.info("nbsim.fault.dropped", event_id=cb.event_id, type=cb.type, url=url, copy=copy_no)
        return Delivery(event_id=cb.event_id, type=cb.type, url=url, copy_no=copy_no, attempts=["dropped"],
                        status="dropped", delivered=False, sent_at=now_iso())

    async def _send(self, cb: Callback, raw: bytes, url: str, copy_no: int) -> Delivery:
        attempts: list[int | str] = []
        delivered = False
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            # Signed afresh per attempt: a retry after a long backoff must not carry a stale timestamp.
            headers = {"Content-Type": "application/json", **signature_headers(self.secret, raw)}
            try:
                response = await self.http().post(url, content=raw, headers=headers)
            except httpx.HTTPError as exc:
                attempts.append(type(exc).__name__)
                continue
            attempts.append(response.status_code)
            if response.is_success:
                delivered = True
                break
            if response.status_code < 500 and response.status_code not in RETRY_STATUSES:
                break  # refused (e.g. a bad signature): sending the same bytes again cannot help
        log.info("nbsim.callback", event_id=cb.event_id, type=cb.type, url=url, copy=copy_no, attempts=attempts,
                 delivered=delivered)
        return Delivery(event_id=cb.event_id, type=cb.type, url=url, copy_no=copy_no, attempts=attempts,
                        status=attempts[-1] if attempts else None, delivered=delivered, sent_at=now_iso())

    # ---- requests

    async def perform(self, stored: StoredRequest) -> None:
        """After the configured delay, do what was asked and call back."""
        faults = self.faults
        delay = faults.delay_ms / 1000
        reordered, extra = self.roll(faults.reorder_rate), self.rng.random()
        if reordered:
            delay += extra * 3 * delay
        await asyncio.sleep(delay)
        req = stored.request
        cb = Callback(event_id=f"{req.idempotency_key}:done", type=CALLBACK_FOR[req.type], ean=req.ean,
                      energy=req.energy, netbeheerder=self.netbeheerder, occurred_at=datetime.now(UTC),
                      request_key=req.idempotency_key, data={k: req.params[k] for k in PARAMS_FOR[req.type]})
        await asyncio.to_thread(self.store.mark_performed, req.idempotency_key, cb.model_dump_json())
        log.info("nbsim.performed", idempotency_key=req.idempotency_key, type=req.type, reordered=reordered)
        for delivery in await self.deliver(cb, req.callback_url):
            await asyncio.to_thread(self.store.add_delivery, req.idempotency_key, delivery.model_dump(mode="json"))


def create_app(*, secret: str, netbeheerder: str = "fluvius", delay_ms: int = 200, duplicate_rate: float = 0.0,
               reorder_rate: float = 0.0, error_rate: float = 0.0, seed: int | None = None,
               db_path: str | None = None) -> FastAPI:
    """Build a netbeheerder simulator that signs its callbacks with ``secret``.

    Requests are kept in the SQLite file ``db_path`` (in memory when None); with a file, requests accepted but not
    yet performed when the simulator stopped are performed after it starts again. Invalid fault settings raise
    ``pydantic.ValidationError`` (a ``ValueError``) here.
    """
    if not secret:
        raise ValueError("the netbeheerder simulator needs a signing secret")
    faults = Faults(delay_ms=delay_ms, duplicate_rate=duplicate_rate, reorder_rate=reorder_rate,
                    error_rate=error_rate)
    state = SimulatorState(secret=secret, netbeheerder=netbeheerder, faults=faults, seed=seed,
                           store=RequestStore(db_path))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for stored in await asyncio.to_thread(state.store.list_requests, "accepted"):
            log.info("nbsim.resumed", idempotency_key=stored.idempotency_key)
            state.spawn(state.perform(stored))
        try:
            yield
        finally:
            await state.aclose()
            state.store.close()

    app = FastAPI(title=f"Netbeheerder simulator ({netbeheerder})", lifespan=lifespan, version="1.0",
                  description="Performs Vangnet's requests asynchronously and calls back with signed callbacks, "
                              "with injectable delay, reordering, duplicates and outages.")
    app.state.simulator = state

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/requests", status_code=status.HTTP_202_ACCEPTED, response_model=RequestAccepted | RequestView,
              responses={200: {"model": RequestView, "description": "Repeat of a stored request; nothing done."},
                         409: {"description": "Idempotency key already used for a different request."},
                         422: {"description": "Invalid request, or params that do not fit its type."},
                         503: {"description": "Simulated outage: nothing was stored or done."}})
    async def post_request(body: NetbeheerderRequest, response: Response) -> RequestAccepted | RequestView:
        problem = params_problem(body)
        if problem is not None:
            raise HTTPException(422, detail=problem)
        if state.roll(state.faults.error_rate):
            log.info("nbsim.fault.unavailable", idempotency_key=body.idempotency_key)
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="simulated outage; nothing was done")
        try:
            stored, created = await asyncio.to_thread(state.store.add, body)
        except IdempotencyConflictError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        if not created:
            log.info("nbsim.replayed", idempotency_key=body.idempotency_key, status=stored.status)
            response.status_code = status.HTTP_200_OK
            return RequestView.of(stored, replayed=True)
        log.info("nbsim.accepted", idempotency_key=body.idempotency_key, type=body.type)
        state.spawn(state.perform(stored))
        return RequestAccepted(request_id=stored.request_id, status="accepted")

    @app.get("/v1/requests")
    async def list_requests(
        only: Annotated[RequestStatus | None, Query(alias="status", description="Only this status.")] = None,
    ) -> RequestList:
        stored = await asyncio.to_thread(state.store.list_requests, only)
        return RequestList(requests=[RequestView.of(s) for s in stored], count=len(stored))

    @app.get("/v1/requests/{idempotency_key}", responses={404: {"description": "No request with this key."}})
    async def get_request(idempotency_key: str) -> RequestView:
        """One request and what became of it; once performed, ``outcome`` is the callback that reports it (also
        when its delivery failed), so the sender can fetch what it never received."""
        stored = await asyncio.to_thread(state.store.get, idempotency_key)
        if stored is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no request with this idempotency key")
        return RequestView.of(stored)

    @app.post("/v1/emit")
    async def emit(body: EmitRequest) -> Callback:
        """Send a callback now (subject to ``duplicate_rate``); answers once it is delivered or given up on."""
        cb = Callback(event_id=body.event_id or f"emit-{uuid.uuid4().hex}", type=body.type,
                      ean=body.ean, energy=body.energy, netbeheerder=state.netbeheerder,
                      occurred_at=body.occurred_at or datetime.now(UTC), request_key=body.request_key,
                      data=body.data)
        await state.deliver(cb, body.callback_url)
        return cb

    @app.get("/v1/callbacks")
    async def list_callbacks() -> CallbackList:
        return CallbackList(callbacks=list(state.sent), count=len(state.sent))

    @app.get("/faults")
    async def get_faults() -> Faults:
        return state.faults

    @app.put("/faults")
    async def put_faults(update: FaultsUpdate) -> Faults:
        # Replace, never mutate: work in flight sees one consistent setting.
        state.faults = state.faults.model_copy(update=update.model_dump(exclude_none=True))
        log.info("nbsim.faults", **state.faults.model_dump())
        return state.faults

    return app


# ----------------------------------------------------------------------------------------------- standalone


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Start-up settings of the standalone simulator."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    secret: str = DEFAULT_SECRET
    netbeheerder: str = "fluvius"
    db_path: str | None = None
    delay_ms: int = 200
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    error_rate: float = 0.0
    seed: int | None = None


def config_from_env(environ: Mapping[str, str] | None = None) -> SimulatorConfig:
    """Read ``NBSIM_{HOST,PORT,SECRET,NETBEHEERDER,DB,DELAY_MS,DUPLICATE_RATE,REORDER_RATE,ERROR_RATE,SEED}``.

    Unset or empty means the default. A malformed number raises ``ValueError`` naming the variable.
    """
    env = os.environ if environ is None else environ
    defaults = SimulatorConfig()

    def get(name: str) -> str | None:
        value = env.get(f"NBSIM_{name}", "").strip()
        return value or None

    def integer(name: str) -> int | None:
        raw = get(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"NBSIM_{name} must be an int, got {raw!r}") from None

    def rate(name: str) -> float:
        raw = get(name)
        if raw is None:
            return 0.0
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"NBSIM_{name} must be a float, got {raw!r}") from None

    return SimulatorConfig(
        host=get("HOST") or defaults.host,
        port=port if (port := integer("PORT")) is not None else defaults.port,
        secret=get("SECRET") or defaults.secret,
        netbeheerder=get("NETBEHEERDER") or defaults.netbeheerder,
        db_path=get("DB"),
        delay_ms=delay if (delay := integer("DELAY_MS")) is not None else defaults.delay_ms,
        duplicate_rate=rate("DUPLICATE_RATE"),
        reorder_rate=rate("REORDER_RATE"),
        error_rate=rate("ERROR_RATE"),
        seed=integer("SEED"),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the simulator under uvicorn; ``--host/--port/--db`` override the ``NBSIM_*`` environment."""
    config = config_from_env()
    parser = argparse.ArgumentParser(description="Netbeheerder simulator (signed asynchronous callbacks)")
    parser.add_argument("--host", default=config.host)
    parser.add_argument("--port", type=int, default=config.port)
    parser.add_argument("--db", default=config.db_path, help="SQLite file for requests (default: in memory)")
    args = parser.parse_args(argv)
    app = create_app(secret=config.secret, netbeheerder=config.netbeheerder, delay_ms=config.delay_ms,
                     duplicate_rate=config.duplicate_rate, reorder_rate=config.reorder_rate,
                     error_rate=config.error_rate, seed=config.seed, db_path=args.db)
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
