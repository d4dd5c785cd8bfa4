"""PostgreSQL stopped (fast shutdown: every connection cut) and started again while cases append events: the API's
reads and steps answer 503 meanwhile, the worker's appends retry, and afterwards every case completes with
nothing lost or doubled and the projections caught up (equal to a rebuild). The database is this test's own
embedded server, not the session's (other tests use that one)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import create_database
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
from vangnet.stack.embedded import EmbeddedPostgres

pytestmark = pytest.mark.integration
CASES = 3


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    root = Path(tempfile.mkdtemp(prefix="vgf-", dir="/tmp"))
    pg = EmbeddedPostgres(root / "pg")
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def postmaster(data_dir: Path) -> psutil.Process:
    return psutil.Process(int((data_dir / "postmaster.pid").read_text().splitlines()[0]))


def test_postgres_restarted_during_appends(own_postgres: EmbeddedPostgres) -> None:
    started = time.monotonic()
    data_dir = Path(own_postgres.server.pgdata)
    dsn = asyncio.run(create_database(own_postgres.dsn))
    with fault_stack(dsn) as stack:
        stack.faults("payments", latency_ms=1000)
        ds = drivers(stack, CASES, within=300)
        threads = in_threads([d.drive for d in ds])
        deadline = time.monotonic() + 120
        while sum(len(d.accepted) for d in ds) < 2 * CASES:  # cases opened and drafted: appends under way
            assert time.monotonic() < deadline, "the cases did not get going within 120 s"
            time.sleep(0.2)
        pm = postmaster(data_dir)
        os.kill(pm.pid, signal.SIGINT)  # fast shutdown: open transactions rolled back, connections cut
        pm.wait(timeout=30)
        stopped_at = time.monotonic()
        say(f"PostgreSQL stopped (fast shutdown) after {sum(len(d.accepted) for d in ds)} accepted steps")
        # Meanwhile: health and a read of a case say 503 (not 500, not a hang).
        probe = ds[0]
        answers: dict[str, tuple[int, str]] = {}
        deadline = time.monotonic() + 30
        while len(answers) < 2 or any(status != 503 for status, _ in answers.values()):
            assert time.monotonic() < deadline, f"not 503 within 30 s: {answers}"
            for what, url, headers in (("healthz", "/healthz", {}),
                                       ("read", f"/v1/fbu/cases/{probe.case_id}", probe.ocmw)):
                r = httpx.get(f"{stack.ws.api_url}{url}", headers=headers, timeout=30)
                answers[what] = (r.status_code, r.text[:200])
            time.sleep(0.5)
        time.sleep(max(0.0, 6 - (time.monotonic() - stopped_at)))  # at least 6 s of outage
        own_postgres.restart()
        outage = time.monotonic() - stopped_at
        say(f"PostgreSQL started again after {outage:.1f} s; meanwhile {answers}")
        join(threads, timeout=300)
        took = time.monotonic() - stopped_at
        assert_driven(ds, stack)
        payments = assert_one_payment_per_claim(stack, [d.case_id for d in ds if d.case_id])
        steps = assert_no_accepted_step_lost(dsn, ds)
        streams, events = assert_log_and_projections(dsn)
        assert httpx.get(f"{stack.ws.api_url}/healthz", timeout=30).status_code == 200
        refused = {k: sum(d.refused.get(k, 0) for d in ds) for k in (0, 503)}
    say(f"verified: {CASES} cases closed (completed) {took:.1f} s after the stop (drives retried {refused[503]} "
        f"answers 503 and {refused[0]} lost connections); {payments} payments, one per claim; {steps} accepted "
        f"steps all in the log; {events} events in {streams} streams without gap or duplicate; projections "
        f"caught up (equal a rebuild); test took {time.monotonic() - started:.0f} s")
