"""SIGKILL of the only worker in the middle of a payout and in the middle of an event append; a new worker (what
the supervisor of ``vangnet dev`` or an orchestrator starts) finishes every case: one payment per claim, no gap
and no duplicate in any event stream, projections equal to a rebuild, no accepted step lost."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime

import asyncpg
import pytest

from tests.faults.harness import (
    assert_driven,
    assert_log_and_projections,
    assert_no_accepted_step_lost,
    assert_one_payment_per_claim,
    drivers,
    fault_stack,
    in_threads,
    join,
    say,
)
from vangnet.storage.projections import APPEND_LOCK

pytestmark = pytest.mark.integration
CASES = 3
PAYMENT_LATENCY_MS = 4000  # a payment takes this long, so the kill surely finds one in flight
# pay_claim's heartbeat timeout is 10 s: a cut-off payment is retried within it (plus the retry's 1 s and the
# payment's own 4 s); without the heartbeat it waited for the 60 s start-to-close timeout.
RETRIED_WITHIN_SECONDS = 35


def replayed_at(log: str) -> list[float]:
    """When the new worker learnt a payment by replay (the payment system had booked it for the dead one)."""
    return [datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
            for line in log.splitlines() if "payment booked" in line and "(replayed: True)" in line]


def activity_slots_used(metrics: str) -> float:
    found = re.findall(r'^temporal_worker_task_slots_used{[^}]*worker_type="ActivityWorker"[^}]*} (\S+)$', metrics,
                       re.MULTILINE)
    return sum(float(v) for v in found)


def test_worker_killed_in_the_middle_of_a_payout(stack_database: str) -> None:
    started = time.monotonic()
    with fault_stack(stack_database) as stack:
        stack.faults("payments", latency_ms=PAYMENT_LATENCY_MS)
        ds = drivers(stack, CASES, within=300)
        threads = in_threads([d.drive for d in ds])
        # pay_claim is the one slow remote activity: an activity slot held on two samples 0.5 s apart is a payment
        metrics = f"http://127.0.0.1:{stack.worker_ports['worker-1']}/metrics"
        deadline, held = time.monotonic() + 180, 0
        while held < 2:
            assert time.monotonic() < deadline, "no payment went out within 180 s"
            held = held + 1 if activity_slots_used(stack.metrics(metrics)) > 0 else 0
            time.sleep(0.5)
        in_flight = activity_slots_used(stack.metrics(metrics))
        stack.kill_worker("worker-1")
        killed_at, killed_wall = time.monotonic(), time.time()
        say(f"SIGKILL worker-1 with {in_flight:.0f} pay_claim attempt(s) in flight (payment latency "
            f"{PAYMENT_LATENCY_MS} ms); worker-2 started in its place")
        stack.start_worker("worker-2")
        join(threads, timeout=320)
        took = time.monotonic() - killed_at
        assert_driven(ds, stack)
        case_ids = [d.case_id for d in ds if d.case_id]
        payments = assert_one_payment_per_claim(stack, case_ids)
        steps = assert_no_accepted_step_lost(stack_database, ds)
        streams, events = assert_log_and_projections(stack_database)
        retried = [t - killed_wall for t in replayed_at(stack.log("worker-2"))]
        assert retried, "no payment cut off by the kill was retried"
        assert max(retried) < RETRIED_WITHIN_SECONDS, retried
    say(f"verified: {CASES} cases closed (completed) {took:.1f} s after the kill; {payments} payments booked, one per "
        f"claim ({len(retried)} cut off by the kill, retried and learnt by replay {min(retried):.1f}-"
        f"{max(retried):.1f} s after it); {steps} accepted steps all in the log; {events} events in {streams} "
        f"streams without gap or duplicate; projections equal a rebuild; test took {time.monotonic() - started:.0f} s")


async def _hold_append_lock(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await conn.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK)
    return conn


async def _appends_waiting(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND wait_event = 'advisory' AND query ILIKE '%pg_advisory_xact_lock%'"))
    finally:
        await conn.close()


async def _release(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", APPEND_LOCK)
    await conn.close()


def test_worker_killed_in_the_middle_of_an_event_append(stack_database: str) -> None:
    started = time.monotonic()
    with fault_stack(stack_database) as stack:
        ds = drivers(stack, CASES, within=300)
        join(in_threads([d.open_and_draft for d in ds]), timeout=120)
        assert_driven(ds, stack)
        # Hold the append lock: the worker's next appends (the signatures) open their transaction and wait in it.
        loop = asyncio.new_event_loop()
        try:
            holder = loop.run_until_complete(_hold_append_lock(stack_database))
            threads = in_threads([d.finish for d in ds])
            deadline, waiting = time.monotonic() + 60, 0
            while not waiting:
                assert time.monotonic() < deadline, "no append started within 60 s"
                waiting = loop.run_until_complete(_appends_waiting(stack_database))
                time.sleep(0.1)
            stack.kill_worker("worker-1")
            killed_at = time.monotonic()
            loop.run_until_complete(_release(holder))
        finally:
            loop.close()
        say(f"SIGKILL worker-1 with {waiting} append transaction(s) open and waiting for the append lock (updates "
            f"'sign' in flight in the API); lock released, worker-2 started in its place")
        stack.start_worker("worker-2")
        join(threads, timeout=320)
        took = time.monotonic() - killed_at
        assert_driven(ds, stack)
        case_ids = [d.case_id for d in ds if d.case_id]
        payments = assert_one_payment_per_claim(stack, case_ids)
        steps = assert_no_accepted_step_lost(stack_database, ds)
        streams, events = assert_log_and_projections(stack_database)
    say(f"verified: {CASES} cases closed (completed) {took:.1f} s after the kill; {payments} payments, one per claim; "
        f"{steps} accepted steps all in the log; {events} events in {streams} streams without gap or duplicate; "
        f"projections equal a rebuild; test took {time.monotonic() - started:.0f} s")
