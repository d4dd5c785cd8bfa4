"""HTTP simulator of the Wonen-Vlaanderen payment system that pays OCMWs.

The engine must pay each OCMW exactly once even though the payment system is a remote service that can be
slow, can refuse a request, and — the nasty case — can book a payment and then fail to deliver the answer.
This simulator reproduces those behaviours on demand so the engine's retry-with-idempotency-key logic can be
tested against real HTTP, deterministically when a seed is given.

Per ``POST /payments`` the faults apply in a fixed order, mirroring where they happen in a real system:

1. sleep ``latency_ms`` (a slow network or a slow backend);
2. with probability ``error_rate`` answer 503 *without* booking (the request never got through);
3. book the payment (idempotently);
4. if a new payment was booked, with probability ``commit_then_fail_rate`` answer 500 although it *is*
   booked (the response got lost). Replays commit nothing, so they are not subject to this fault: a retry with
   the same key is how the engine learns the outcome of a lost response, and it must be able to converge.

Faults are set at start (``create_app`` arguments, or ``PAYSIM_*`` environment variables via ``main()``) and
changed at runtime with ``PUT /faults``, so one running simulator can serve several chaos scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import structlog
import uvicorn
from fastapi import FastAPI, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulators.payments.store import (
    IdempotencyConflictError,
    Payment,
    PaymentStore,
    format_amount,
)

log = structlog.get_logger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8101
MAX_LATENCY_MS = 60_000  # a simulated delay beyond a minute only makes tests hang

# Digits, optionally a point and one or two decimals: no exponent, sign, thousands separator or whitespace.
_AMOUNT_RE = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")


# --------------------------------------------------------------------------------------------------- models


class PaymentRequest(BaseModel):
    """A payment order as the engine sends it; unknown fields are refused so contract drift shows early."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(min_length=1, max_length=200)
    amount: str = Field(description="Decimal string, > 0, at most two decimals, e.g. '1250.00'.")
    currency: Literal["EUR"]
    beneficiary: str = Field(min_length=1, max_length=200, description="The OCMW id.")
    reference: str = Field(max_length=500)

    @field_validator("amount")
    @classmethod
    def _valid_amount(cls, value: str) -> str:
        # A string, not a JSON number: money must never pass through a float on either side.
        if not _AMOUNT_RE.fullmatch(value):
            raise ValueError("amount must be a decimal string with at most two decimals, e.g. '1250.00'")
        amount = Decimal(value)
        if amount <= 0:
            raise ValueError("amount must be greater than zero")
        return format_amount(amount)

    @property
    def amount_decimal(self) -> Decimal:
        return Decimal(self.amount)


class PaymentRecord(BaseModel):
    """A booked payment as the simulator reports it; the amount is a two-decimal string."""

    payment_id: str
    idempotency_key: str
    amount: str
    currency: str
    beneficiary: str
    reference: str
    created_at: str

    @classmethod
    def of(cls, payment: Payment) -> PaymentRecord:
        return cls(
            payment_id=payment.payment_id,
            idempotency_key=payment.idempotency_key,
            amount=format_amount(payment.amount),
            currency=payment.currency,
            beneficiary=payment.beneficiary,
            reference=payment.reference,
            created_at=payment.created_at,
        )


class PaymentResult(PaymentRecord):
    """Answer to ``POST /payments``: ``replayed`` tells the caller whether this request booked anything."""

    replayed: bool


class PaymentList(BaseModel):
    payments: list[PaymentRecord]
    count: int
    total: str


class Faults(BaseModel):
    """The complete fault configuration currently in force."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)
    latency_ms: int = Field(0, ge=0, le=MAX_LATENCY_MS)
    commit_then_fail_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)


class FaultsUpdate(BaseModel):
    """Body of ``PUT /faults``: fields left out keep their current value, so a scenario can flip one knob."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    latency_ms: int | None = Field(None, ge=0, le=MAX_LATENCY_MS)
    commit_then_fail_rate: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)


class DeleteResult(BaseModel):
    deleted: int


# ------------------------------------------------------------------------------------------------------ app


class SimulatorState:
    """Mutable state of one simulator instance, kept on ``app.state.simulator``.

    The random generator is only used on the event loop thread, so it needs no lock; seeding it makes a
    sequence of requests meet the same sequence of faults on every run.
    """

    def __init__(self, store: PaymentStore, faults: Faults, seed: int | None) -> None:
        self.store = store
        self.faults = faults
        self.rng = random.Random(seed)

    def roll(self, rate: float) -> bool:
        """True with probability ``rate``. Always draws, so the sequence does not depend on the rates."""
        return self.rng.random() < rate


def create_app(
    db_path: str | None = None,
    *,
    error_rate: float = 0.0,
    latency_ms: int = 0,
    commit_then_fail_rate: float = 0.0,
    seed: int | None = None,
) -> FastAPI:
    """Build a simulator app over the SQLite file ``db_path`` (an in-memory database when None).

    Invalid fault settings raise ``pydantic.ValidationError`` (a ``ValueError``) here rather than at the first
    request. The store stays open for the lifetime of the app; ``app.state.simulator.store.close()`` releases
    it when a caller (a test) wants the file closed early.
    """
    faults = Faults(error_rate=error_rate, latency_ms=latency_ms, commit_then_fail_rate=commit_then_fail_rate)
    state = SimulatorState(PaymentStore(db_path), faults, seed)

    app = FastAPI(
        title="Wonen-Vlaanderen payment system (simulator)",
        description="Idempotent payment booking with injectable latency, outages and lost responses.",
        version="1.0",
    )
    app.state.simulator = state

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/payments",
        response_model=PaymentResult,
        status_code=status.HTTP_201_CREATED,
        responses={
            200: {
                "model": PaymentResult,
                "description": "Replay of an identical request; nothing new booked.",
            },
            409: {"description": "Idempotency key already used for a different payment."},
            500: {"description": "Simulated failure after commit: the payment IS booked."},
            503: {"description": "Simulated outage: nothing was booked."},
        },
    )
    async def create_payment(body: PaymentRequest, response: Response) -> PaymentResult:
        faults = state.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if state.roll(faults.error_rate):
            log.info("paysim.fault.unavailable", idempotency_key=body.idempotency_key)
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, detail="simulated outage; the payment was not booked"
            )
        try:
            payment, created = await asyncio.to_thread(
                state.store.book,
                idempotency_key=body.idempotency_key,
                amount=body.amount_decimal,
                currency=body.currency,
                beneficiary=body.beneficiary,
                reference=body.reference,
            )
        except IdempotencyConflictError as exc:
            log.info("paysim.conflict", idempotency_key=body.idempotency_key, fields=exc.fields)
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        if not created:
            log.info("paysim.replayed", payment_id=payment.payment_id, idempotency_key=body.idempotency_key)
            response.status_code = status.HTTP_200_OK
            return PaymentResult(**PaymentRecord.of(payment).model_dump(), replayed=True)
        log.info("paysim.booked", payment_id=payment.payment_id, idempotency_key=body.idempotency_key)
        if state.roll(faults.commit_then_fail_rate):
            log.info("paysim.fault.lost_response", payment_id=payment.payment_id)
            raise HTTPException(
                status.HTTP_500_INTERNAL_SERVER_ERROR, detail="simulated failure after commit"
            )
        return PaymentResult(**PaymentRecord.of(payment).model_dump(), replayed=False)

    @app.get("/payments")
    async def list_payments(beneficiary: str | None = None) -> PaymentList:
        payments = await asyncio.to_thread(state.store.list_payments, beneficiary)
        total = sum((p.amount for p in payments), Decimal(0))
        return PaymentList(
            payments=[PaymentRecord.of(p) for p in payments], count=len(payments), total=format_amount(total)
        )

    @app.get("/payments/{payment_id}", responses={404: {"description": "Unknown payment id."}})
    async def get_payment(payment_id: str) -> PaymentRecord:
        payment = await asyncio.to_thread(state.store.get, payment_id)
        if payment is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"payment {payment_id!r} not found")
        return PaymentRecord.of(payment)

    @app.delete("/payments")
    async def reset_payments() -> DeleteResult:
        """Test helper: forget every payment (fault settings are left as they are)."""
        return DeleteResult(deleted=await asyncio.to_thread(state.store.reset))

    @app.get("/faults")
    async def get_faults() -> Faults:
        return state.faults

    @app.put("/faults")
    async def put_faults(update: FaultsUpdate) -> Faults:
        # Replace the whole object (never mutate in place) so a request in flight sees one consistent setting.
        state.faults = state.faults.model_copy(update=update.model_dump(exclude_none=True))
        log.info("paysim.faults", **state.faults.model_dump())
        return state.faults

    return app


# ----------------------------------------------------------------------------------------------- standalone


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Start-up settings of the standalone simulator."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db_path: str | None = None
    error_rate: float = 0.0
    latency_ms: int = 0
    commit_then_fail_rate: float = 0.0
    seed: int | None = None


def config_from_env(environ: Mapping[str, str] | None = None) -> SimulatorConfig:
    """Read ``PAYSIM_{HOST,PORT,DB,ERROR_RATE,LATENCY_MS,COMMIT_THEN_FAIL_RATE,SEED}``; unset/empty = default.

    Environment variables (rather than flags alone) let a compose file or a test harness configure the
    simulator without knowing its command line.
    """
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(f"PAYSIM_{name}", "").strip()
        return value or None

    def number(name: str, kind: type[int] | type[float], default: float) -> float:
        raw = get(name)
        if raw is None:
            return default
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"PAYSIM_{name} must be a {kind.__name__}, got {raw!r}") from None

    seed = get("SEED")
    return SimulatorConfig(
        host=get("HOST") or DEFAULT_HOST,
        port=int(number("PORT", int, DEFAULT_PORT)),
        db_path=get("DB"),
        error_rate=number("ERROR_RATE", float, 0.0),
        latency_ms=int(number("LATENCY_MS", int, 0)),
        commit_then_fail_rate=number("COMMIT_THEN_FAIL_RATE", float, 0.0),
        seed=int(number("SEED", int, 0)) if seed is not None else None,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the simulator under uvicorn; ``--host/--port/--db`` override the ``PAYSIM_*`` environment."""
    config = config_from_env()
    parser = argparse.ArgumentParser(description="Wonen-Vlaanderen payment system simulator")
    parser.add_argument("--host", default=config.host)
    parser.add_argument("--port", type=int, default=config.port)
    parser.add_argument("--db", default=config.db_path, help="SQLite file (default: in memory)")
    args = parser.parse_args(argv)
    app = create_app(
        args.db,
        error_rate=config.error_rate,
        latency_ms=config.latency_ms,
        commit_then_fail_rate=config.commit_then_fail_rate,
        seed=config.seed,
    )
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
