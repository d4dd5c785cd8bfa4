"""The Temporal server stopped (in order, or killed) and started again with cases in flight (payments under way,
steps being sent): the API answers 503 with a clear message meanwhile (steps and health), a step sent during the
outage is applied once when it is sent again with its key, and every case resumes and completes with one payment
per claim."""

from __future__ import annotations

import signal
import threading
import time

import httpx
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
from tests.faults.test_worker_killed import activity_slots_used

pytestmark = pytest.mark.integration
CASES = 3


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_temporal_restarted_with_cases_in_flight(stack_database: str, how: signal.Signals) -> None:
    started = time.monotonic()
    with fault_stack(stack_database) as stack:
        stack.faults("payments", latency_ms=3000)
        ds = drivers(stack, CASES + 1, within=300)
        early, late = ds[:CASES], ds[CASES]
        threads = in_threads([d.drive for d in early])
        metrics = f"http://127.0.0.1:{stack.worker_ports['worker-1']}/metrics"
        # pay_claim is the one slow remote activity: an activity slot held on two samples 0.5 s apart is a payment
        deadline, held = time.monotonic() + 180, 0
        while held < 2:
            assert time.monotonic() < deadline, "no payment went out within 180 s"
            held = held + 1 if activity_slots_used(stack.metrics(metrics)) > 0 else 0
            time.sleep(0.5)
        stack.stop_temporal(how)
        stopped_at = time.monotonic()
        say(f"Temporal server stopped ({how.name}) with payments in flight; a new case is opened during the outage")
        # During the outage: health says so, and a new case (a step) is refused with 503 and a message, again and
        # again with the same Idempotency-Key, until the server is back.
        opener = threading.Thread(target=late.drive, daemon=True)
        opener.start()
        health: httpx.Response | None = None
        deadline = time.monotonic() + 60
        while not (late.refused.get(503) and health is not None and health.status_code == 503):
            assert time.monotonic() < deadline, f"no 503 within 60 s: {late.refused}, {health and health.text}"
            health = httpx.get(f"{stack.ws.api_url}/healthz", timeout=30)
            time.sleep(0.5)
        read = httpx.get(f"{stack.ws.api_url}/v1/fbu/cases/{early[0].case_id}", headers=early[0].ocmw, timeout=30)
        outage_reads = read.status_code
        time.sleep(max(0.0, 5 - (time.monotonic() - stopped_at)))  # at least 5 s of outage
        stack.start_temporal()
        outage = time.monotonic() - stopped_at
        say(f"Temporal server started again after {outage:.1f} s; meanwhile /healthz answered "
            f"{health.status_code} {health.json()}, a step answered 503 {late.refused.get(503)} time(s) "
            f"({sorted(late.messages)}), a case read from the projections answered {outage_reads}")
        opener.join(timeout=320)
        join(threads, timeout=320)
        took = time.monotonic() - stopped_at
        assert_driven(ds, stack)
        assert late.case_id is not None and "open" in late.accepted
        assert any("workflow engine is unavailable" in m.lower() for m in late.messages), late.messages
        payments = assert_one_payment_per_claim(stack, [d.case_id for d in ds if d.case_id])
        steps = assert_no_accepted_step_lost(stack_database, ds)
        streams, events = assert_log_and_projections(stack_database)
        assert httpx.get(f"{stack.ws.api_url}/healthz", timeout=30).status_code == 200
    say(f"verified: {len(ds)} cases closed (completed) {took:.1f} s after the stop; {payments} payments, one per "
        f"claim; {steps} accepted steps all in the log; {events} events in {streams} streams without gap or "
        f"duplicate; projections equal a rebuild; test took {time.monotonic() - started:.0f} s")
