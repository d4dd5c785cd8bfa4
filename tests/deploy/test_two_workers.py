"""Two workers, one API, one Temporal: a worker killed in the middle of payments (SIGKILL, nothing cleaned up)
loses no case and doubles no payout; the other worker takes its work over once the tasks it held time out."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.deploy.stack import payments_booked, project_root, running_stack

pytestmark = pytest.mark.integration
CASES = 4
OCMW = "ocmw-44021"


def slots_used(text: str, worker_type: str) -> float:
    found = re.findall(rf'^temporal_worker_task_slots_used{{[^}}]*worker_type="{worker_type}"[^}}]*}} (\S+)$', text,
                       re.MULTILINE)
    return sum(float(v) for v in found)


def test_a_killed_worker_loses_no_case_and_doubles_no_payout(stack_database: str) -> None:
    with running_stack(stack_database, workers=2) as stack:
        # slow payments, so that payment attempts are in flight on both workers when one dies
        faults = f"http://127.0.0.1:{stack.ws.ports['payments']}/faults"
        assert httpx.put(faults, json={"latency_ms": 1500}, timeout=10).status_code == 200
        drives = [subprocess.Popen([sys.executable, str(project_root() / "scripts" / "drive_fbu_case.py"),
                                    "--api", stack.ws.api_url, "--timeout", "180"], cwd=stack.ws.cwd,
                                   env=stack.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                  for _ in range(CASES)]
        try:
            victim = f"http://127.0.0.1:{stack.worker_ports['worker-1']}/metrics"
            deadline, busy = time.monotonic() + 120, False
            while time.monotonic() < deadline and not busy:
                busy = slots_used(stack.metrics(victim), "ActivityWorker") > 0
                time.sleep(0.2)
            stack.kill("worker-1")
            killed_at = time.monotonic()
            outputs = [d.communicate(timeout=400)[0] for d in drives]
        finally:
            for d in drives:
                if d.poll() is None:
                    d.kill()
        took = time.monotonic() - killed_at
        for d, out in zip(drives, outputs, strict=True):
            assert d.returncode == 0, f"{out}\n--- worker-2:\n{stack.log('worker-2')[-3000:]}"
        case_ids = [re.search(r"^Case (fbu-[0-9a-f]{32}): closed \(completed\)", out, re.MULTILINE) for out in outputs]
        assert all(case_ids), outputs
        booked = payments_booked(stack, OCMW)
        for match in case_ids:
            assert match is not None
            ours = sorted((p["reference"].split()[-1], p["amount"]) for p in booked if match.group(1) in p["reference"])
            assert ours == [("initial", "1502.00"), ("tranche_2", "360.00")], (match.group(1), ours)
        assert len(booked) == 2 * CASES, booked
        # the survivor did the work after the kill, and the API still finds a worker
        survivor = stack.metrics(f"http://127.0.0.1:{stack.worker_ports['worker-2']}/metrics")
        assert "temporal_activity_execution_latency_count" in survivor
        assert httpx.get(f"{stack.ws.api_url}/healthz", timeout=10).json()["worker"] == "ok"
    print(f"worker-1 busy when killed: {busy}; {CASES} cases completed {took:.1f} s after the kill, "
          f"{len(booked)} payments booked")
