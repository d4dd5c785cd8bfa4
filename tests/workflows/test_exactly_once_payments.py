"""Acceptance: every approved claim is paid exactly once, however badly the payment system behaves.

The payment simulator runs over real HTTP in "commit-then-fail" mode (every new booking answers 500 although it
is booked) with 30% outages (503, nothing booked); a small ASGI wrapper counts the answers so the test can prove
that the faults really happened. A second test stops the worker while payments are in flight and lets a new
worker on the same task queue finish the job.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest_asyncio
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from schemas.common import StepResult
from schemas.fbu import ClaimDecision, ClaimPayout, ClaimState, FbuClaimInput
from simulators.payments.app import create_app as create_payment_app
from tests.conftest import LiveServer, running_worker, serve_in_thread, time_skipping_server
from vangnet.platform.settings import Settings
from workflows.fbu_claim import FbuClaimWorkflow

FORFAIT = Decimal("422.00")
APPROVE = ClaimDecision(decision="approve", reason=None)
CONCURRENCY = 20
RESULTS_WITHIN = 45.0  # seconds of wall time for all claims of a test to finish
T = TypeVar("T")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# ---- the payment simulator, with its answers counted ------------------------------------------------------


class PaymentCounter:
    """ASGI wrapper around the simulator: counts ``POST /payments`` answers by status and requests in flight.

    After ``hold()`` it also keeps each payment request at the door, its body already read (so that a caller who
    goes away meanwhile does not stop the booking), until the test calls ``release()``.

    It runs on the simulator's server thread; the test thread only reads the counters (plain ints under the GIL)
    and sets the gate (a thread-safe event).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: Counter[int] = Counter()
        self.requests = 0
        self.in_flight = 0
        self.gate_open = threading.Event()
        self.gate_open.set()

    def hold(self) -> None:
        self.gate_open.clear()

    def release(self) -> None:
        self.gate_open.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/payments":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        self.in_flight += 1

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.statuses[int(message["status"])] += 1
            await send(message)

        try:
            if not self.gate_open.is_set():
                receive = await self._held(receive)
            await self.app(scope, receive, counting_send)
        finally:
            self.in_flight -= 1

    async def _held(self, receive: Receive) -> Receive:
        """Read the whole body, wait until released, then hand the app a receive that replays the body."""
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await asyncio.to_thread(self.gate_open.wait)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return replay


@contextmanager
def payment_system(**faults: Any) -> Iterator[tuple[LiveServer, PaymentCounter]]:
    counter = PaymentCounter(create_payment_app(None, **faults))
    live = serve_in_thread(counter)
    try:
        yield live, counter
    finally:
        live.stop()


def worker_settings(live: LiveServer, tmp_path: Path) -> Settings:
    # Passed as a mapping: without the pydantic mypy plugin, mypy takes every defaulted field for a required one.
    fields: dict[str, Any] = {
        "payment_system_url": live.url,
        "worker_metrics_port": 0,
        "token_private_key_file": tmp_path / "issuer.pem",
    }
    return Settings(**fields)


async def booked_payments(live: LiveServer) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{live.url}/payments")
    response.raise_for_status()
    return dict(response.json())


# ---- claims ---------------------------------------------------------------------------------------------------


@dataclass
class Batch:
    """A run's claims: ids unique to the run (the Temporal server is shared by the whole session)."""

    size: int
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def ocmw_id(self) -> str:
        return f"ocmw-eo-{self.run}"

    def claim_id(self, n: int) -> str:
        return f"claim-eo-{self.run}-{n:03d}"

    def case_id(self, n: int) -> str:
        return f"fbu-test-{self.run}-{n}"

    def tranche_1(self, n: int) -> Decimal:
        return Decimal("500.00") + Decimal(n * 1737 % 250_000) / 100  # varying, two decimals

    def total(self, n: int) -> Decimal:
        return FORFAIT + self.tranche_1(n)

    def claim(self, n: int) -> FbuClaimInput:
        return FbuClaimInput(
            claim_id=self.claim_id(n),
            case_id=self.case_id(n),
            ocmw_id=self.ocmw_id,
            claim_kind="initial",
            payouts=[ClaimPayout(kind="forfait", amount=FORFAIT),
                     ClaimPayout(kind="tranche_1", amount=self.tranche_1(n))],
            rule_set_id="fbu-2022",
            arrears_amount=Decimal("2400.00"),
            agreement_version=1,
            agreement_in_force_on=date(2026, 6, 15),
            submitted_on=date(2026, 6, 16),
        )

    @property
    def claim_ids(self) -> list[str]:
        return [self.claim_id(n) for n in range(self.size)]

    @property
    def keys(self) -> dict[str, Decimal]:
        """Idempotency key -> amount, as the payment system must have booked them."""
        return {f"fbu-claim:{self.claim_id(n)}": self.total(n) for n in range(self.size)}

    @property
    def grand_total(self) -> Decimal:
        return sum((self.total(n) for n in range(self.size)), Decimal("0.00"))


async def bounded(jobs: list[Awaitable[T]], limit: int = CONCURRENCY) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


async def start_claims(
    env: WorkflowEnvironment, batch: Batch, task_queue: str
) -> list[WorkflowHandle[Any, ClaimState]]:
    async def start(n: int) -> WorkflowHandle[Any, ClaimState]:
        return await env.client.start_workflow(
            FbuClaimWorkflow.run, batch.claim(n), id=batch.claim_id(n), task_queue=task_queue)

    return await bounded([start(n) for n in range(batch.size)])


def step_out_of_order(exc: WorkflowUpdateFailedError) -> bool:
    return isinstance(exc.cause, ApplicationError) and exc.cause.type == "StepOutOfOrder"


async def approve(handle: WorkflowHandle[Any, ClaimState], n: int) -> StepResult:
    """Approve as soon as the claim is submitted: until then the validator refuses the decision (not recorded)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await handle.execute_update(
                "decide", APPROVE, id=f"decide:{n}", result_type=StepResult)
        except WorkflowUpdateFailedError as exc:
            if not step_out_of_order(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def approve_with_duplicates(handle: WorkflowHandle[Any, ClaimState], n: int) -> StepResult:
    """Approve, then decide again while the payment is still being retried (the first attempt always fails)."""
    step = await approve(handle, n)
    if n % 10 == 0:
        # A repeated delivery of the same decision (same update id) is deduplicated: same answer, no effect.
        again = await handle.execute_update(
            "decide", APPROVE, id=f"decide:{n}", result_type=StepResult)
        assert again == step
    elif n % 10 == 5:
        # A second, different decision is refused by the validator: the claim is no longer "claimed".
        try:
            await handle.execute_update(
                "decide", APPROVE, id=f"decide:{n}:again", result_type=StepResult)
        except WorkflowUpdateFailedError as exc:
            assert step_out_of_order(exc), exc.cause
        else:
            raise AssertionError(f"claim {n} accepted a second decision")
    return step


async def approve_all(handles: list[WorkflowHandle[Any, ClaimState]]) -> list[StepResult]:
    return await bounded([approve(h, n) for n, h in enumerate(handles)])


async def all_results(handles: list[WorkflowHandle[Any, ClaimState]]) -> list[ClaimState]:
    """One at a time: each ``result()`` unlocks time skipping on the V1 test server, which refuses a second
    concurrent unlock ("Application error processing RPC"). While the first waits, all claims progress.

    Bounded, so a regression fails instead of hanging: without a working idempotency key, commit-then-fail mode
    answers 500 to every retry (each one books anew) and the claims would never finish."""

    async def each() -> list[ClaimState]:
        return [await h.result() for h in handles]

    return await asyncio.wait_for(each(), timeout=RESULTS_WITHIN)


async def payout_events(pool: asyncpg.Pool, batch: Batch) -> list[asyncpg.Record]:
    return list(await pool.fetch(
        "SELECT stream, case_id, data FROM domain_events WHERE type = 'PayoutPaid' AND stream = ANY($1::text[])",
        batch.claim_ids,
    ))


def assert_paid_once(payments: dict[str, Any], batch: Batch) -> dict[str, str]:
    """Exactly one payment per claim, for the claim's amount; returns idempotency key -> payment id."""
    booked = payments["payments"]
    keys = [p["idempotency_key"] for p in booked]
    assert payments["count"] == len(booked) == batch.size
    assert len(set(keys)) == batch.size and set(keys) == set(batch.keys)
    assert {p["idempotency_key"]: Decimal(p["amount"]) for p in booked} == batch.keys
    assert all(p["beneficiary"] == batch.ocmw_id for p in booked)
    assert sum((Decimal(p["amount"]) for p in booked), Decimal(0)) == batch.grand_total
    assert Decimal(payments["total"]) == batch.grand_total
    return {p["idempotency_key"]: p["payment_id"] for p in booked}


async def assert_streams_clean(pool: asyncpg.Pool, batch: Batch) -> None:
    """Each claim's stream is exactly submitted, approved, paid: no duplicate decision or payout slipped in."""
    rows = await pool.fetch(
        """SELECT stream, array_agg(type ORDER BY stream_version) AS types FROM domain_events
           WHERE stream = ANY($1::text[]) GROUP BY stream""",
        batch.claim_ids,
    )
    assert {r["stream"]: list(r["types"]) for r in rows} == {
        c: ["ClaimSubmitted", "ClaimApproved", "PayoutPaid"] for c in batch.claim_ids}


def assert_logged_once(events: list[asyncpg.Record], batch: Batch, payment_ids: dict[str, str]) -> None:
    """Exactly one PayoutPaid per claim stream, naming the payment the payment system booked."""
    assert len(events) == batch.size
    assert sorted(e["stream"] for e in events) == sorted(batch.claim_ids)
    for e in events:
        data = json.loads(e["data"]) if isinstance(e["data"], str) else e["data"]
        assert data["payment_id"] == payment_ids[f"fbu-claim:{e['stream']}"]
        assert Decimal(data["amount"]) == batch.keys[f"fbu-claim:{e['stream']}"]


# ---- the tests -----------------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """This module's own time-skipping server. Killing a worker mid-payment leaves a task that only its timeout
    recovers, and the test server does not skip time meanwhile: on the shared server that would stall every
    later test's clock."""
    async with time_skipping_server() as env:
        yield env


async def test_100_approved_claims_give_exactly_100_payments_despite_lost_responses(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    batch = Batch(size=100)
    task_queue = f"tq-eo-{batch.run}"
    with payment_system(error_rate=0.3, commit_then_fail_rate=1.0, seed=20260616) as (live, counter):
        async with running_worker(ts_env.client, pool, worker_settings(live, tmp_path), task_queue):
            handles = await start_claims(ts_env, batch, task_queue)
            steps = await bounded([approve_with_duplicates(h, n) for n, h in enumerate(handles)])
            assert {s.status for s in steps} == {"approved"}

            # Awaiting the results lets the time-skipping server skip the retry back-off.
            results = await all_results(handles)

        payments = await booked_payments(live)
        statuses = dict(counter.statuses)

    assert [r.status for r in results] == ["paid"] * batch.size
    payment_ids = assert_paid_once(payments, batch)
    assert {f"fbu-claim:{r.claim_id}": r.payment_id for r in results} == payment_ids

    assert_logged_once(await payout_events(pool, batch), batch, payment_ids)
    await assert_streams_clean(pool, batch)

    claims = await pool.fetch("SELECT claim_id, status, amount, payment_id FROM proj_claims WHERE ocmw_id = $1",
                              batch.ocmw_id)
    assert len(claims) == batch.size
    assert {c["status"] for c in claims} == {"paid"}
    assert {c["claim_id"]: c["payment_id"] for c in claims} == {
        k.removeprefix("fbu-claim:"): v for k, v in payment_ids.items()}
    assert sum((c["amount"] for c in claims), Decimal(0)) == batch.grand_total
    totals = await pool.fetch("SELECT kind, count, amount FROM proj_payout_totals WHERE ocmw_id = $1",
                              batch.ocmw_id)
    assert {t["kind"]: t["count"] for t in totals} == {"forfait": batch.size, "tranche_1": batch.size}
    assert sum((t["amount"] for t in totals), Decimal(0)) == batch.grand_total

    # The faults really happened: every booking lost its answer (500: booked, answer lost), outages hit many
    # requests (503: nothing booked), and every payment was learnt from a replay (200); no answer was ever 201.
    # (At least one replay per claim; one more only if a completed attempt's answer was lost to a timeout.)
    assert statuses.get(500) == batch.size, statuses
    assert statuses.get(503, 0) >= 10, statuses
    assert statuses.get(200, 0) >= batch.size, statuses
    assert set(statuses) <= {200, 500, 503}, statuses
    print(f"\nexactly-once: {counter.requests} POST /payments -> {statuses}; "
          f"{payments['count']} payments, total {payments['total']}")


async def test_worker_killed_while_paying_is_replaced_without_double_payment(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    batch = Batch(size=10)
    task_queue = f"tq-eo-{batch.run}"
    with payment_system(error_rate=0.2, seed=11) as (live, counter):
        settings = worker_settings(live, tmp_path)
        # Every first attempt is held at the payment system's door until the worker is gone, however slowly the
        # approvals arrive on a loaded machine.
        counter.hold()
        # The first worker keeps no workflow cache, hence no sticky task queue: the time-skipping test server never
        # moves a task off the sticky queue of a worker that is gone (a real server does, after the sticky
        # schedule-to-start timeout), so with a cache the claims would hang after the restart.
        async with running_worker(ts_env.client, pool, settings, task_queue, max_cached_workflows=0):
            handles = await start_claims(ts_env, batch, task_queue)
            await approve_all(handles)
            # Kill when every claim's first payment attempt is in flight and nothing else is: a task that the
            # server hands to the dying worker at the very moment it stops is only recovered by its
            # start-to-close timeout (60 s for pay_claim), and the test server does not skip time while an
            # activity counts as started, so a kill at a random moment could cost a minute of wall time.
            deadline = time.monotonic() + 45
            while counter.requests < batch.size:
                assert time.monotonic() < deadline, f"payments did not all go out: {counter.requests} sent"
                await asyncio.sleep(0.01)
            assert counter.requests == counter.in_flight == batch.size  # held: none answered, none retried
            in_flight_at_kill = counter.in_flight
        # Stopping the worker cancelled its in-flight attempts; the payment system still books those requests
        # once they are let through (an outage among them books nothing: the new worker's retry books it).
        counter.release()
        deadline = time.monotonic() + 10
        while counter.in_flight:
            assert time.monotonic() < deadline, f"{counter.in_flight} held payments still unanswered"
            await asyncio.sleep(0.01)
        paid_before = len(await payout_events(pool, batch))
        assert paid_before == 0  # nothing was paid before the kill: every payment is finished by the new worker

        async with running_worker(ts_env.client, pool, settings, task_queue):
            results = await all_results(handles)

        payments = await booked_payments(live)
        statuses = dict(counter.statuses)

    assert [r.status for r in results] == ["paid"] * batch.size
    payment_ids = assert_paid_once(payments, batch)
    assert_logged_once(await payout_events(pool, batch), batch, payment_ids)
    await assert_streams_clean(pool, batch)
    # Each payment was booked once (201); the ones whose answer died with the first worker were learnt by replay.
    assert statuses.get(201) == batch.size, statuses
    assert statuses.get(200, 0) >= 1, statuses
    print(f"\nkill-and-restart: {in_flight_at_kill} in flight at the kill, {paid_before} logged before; "
          f"{counter.requests} POST /payments -> {statuses}")
