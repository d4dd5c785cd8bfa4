"""Every metric name the Grafana dashboard and the Prometheus alerts use is exported by a running system: the
API's ``/metrics`` (HTTP and domain gauges) or a worker's SDK endpoint. Counters the SDK creates on first use
(activity and workflow task failures) are made to appear the honest way: the payment system fails for a while,
and a workflow type no worker knows is started once."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta

import httpx
import pytest
import yaml
from temporalio.client import Client

from tests.deploy.stack import Stack, project_root, running_stack

pytestmark = pytest.mark.integration
ROOT = project_root()
OBS = ROOT / "deploy" / "observability"
METRIC = re.compile(r"\b((?:vangnet|temporal)_[a-z0-9_]+)\b")


def used_metric_names() -> set[str]:
    exprs = [rule["expr"] for group in yaml.safe_load((OBS / "alerts.yml").read_text())["groups"]
             for rule in group["rules"]]
    dashboard = json.loads((OBS / "grafana" / "dashboards" / "vangnet.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return {m for e in exprs for m in METRIC.findall(e)}


def exported(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = re.split(r"[{ ]", line, maxsplit=1)[0]
            out.setdefault(name, []).append(line)
    return out


def open_case(stack: Stack, token: str) -> str:
    today = date.today()
    body = {"tenant": {"name": "Test Huurder", "national_number": "85.07.30-033.28", "iban": "BE71 0961 2345 6769"},
            "landlord": {"name": "Immo Test bv", "iban": "BE68539007547034"},
            "dwelling": {"address": "Teststraat 1, 9000 Gent", "municipality_nis": "44021",
                         "rental_market": "private", "monthly_rent": "800.00"},
            "arrears": {"amount": "2400.00", "since": (today - timedelta(days=90)).isoformat()}}
    r = httpx.post(f"{stack.ws.api_url}/v1/fbu/cases", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


async def fail_one_workflow_task(stack: Stack) -> None:
    """A workflow type the worker does not register: its first workflow task fails (then we terminate it)."""
    client = await Client.connect(f"127.0.0.1:{stack.ws.ports['temporal']}")
    handle = await client.start_workflow("NoSuchWorkflow", id=f"metrics-probe-{uuid.uuid4().hex[:8]}",
                                         task_queue="vangnet")
    await asyncio.sleep(3)
    await handle.terminate("metrics probe")


def wait_for(what: str, check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def test_dashboard_and_alert_metrics_are_exported(stack_database: str) -> None:
    used = used_metric_names()
    assert len(used) > 15, used
    with running_stack(stack_database, workers=1) as stack:
        worker_url = f"http://127.0.0.1:{stack.worker_ports['worker-1']}/metrics"
        faults = f"http://127.0.0.1:{stack.ws.ports['payments']}/faults"
        assert httpx.put(faults, json={"error_rate": 1.0}, timeout=10).status_code == 200
        drive = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "drive_fbu_case.py"), "--api",
                                  stack.ws.api_url, "--timeout", "120"], cwd=stack.ws.cwd, env=stack.env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for("a failed payment attempt",
                     lambda: "temporal_activity_execution_failed" in exported(stack.metrics(worker_url)), 120)
            assert httpx.put(faults, json={"error_rate": 0.0}, timeout=10).status_code == 200
            out, _ = drive.communicate(timeout=300)
        finally:
            if drive.poll() is None:
                drive.kill()
        assert drive.returncode == 0, out
        asyncio.run(fail_one_workflow_task(stack))
        open_case(stack, stack.token("ocmw", "ocmw-44021"))

        # the domain gauges refresh every 30 s: wait until they show the cases just made
        def api_shows_the_cases() -> dict[str, list[str]] | None:
            names = exported(stack.metrics(f"{stack.ws.api_url}/metrics"))
            lines = "\n".join(names.get("vangnet_open_cases", []) + names.get("vangnet_payouts_paid_total", []))
            ok = ('vangnet_open_cases{kind="fbu",phase="draft"} 1.0' in lines
                  and 'vangnet_payouts_paid_total{kind="tranche_2"} 1.0' in lines)
            return names if ok else None

        api = wait_for("the domain gauges", api_shows_the_cases, 75)
        worker = wait_for("a failed workflow task",
                          lambda: (n := exported(stack.metrics(worker_url)))
                          and "temporal_workflow_task_execution_failed" in n and n)
        missing = sorted(used - set(api) - set(worker))
        assert not missing, f"used by the dashboard or alerts but not exported: {missing}"
        assert api["vangnet_domain_metrics_up"] == ["vangnet_domain_metrics_up 1.0"]
        assert api["vangnet_projection_lag_events"] == ["vangnet_projection_lag_events 0.0"]

        # `vangnet cases versions`: the open case runs on the current code (the events-v2 patch recorded)
        versions = stack.cli("cases", "versions", "--json")
        assert versions.returncode == 0, versions.stderr
        rows = json.loads(versions.stdout)
        fbu = [r for r in rows if r["workflow_type"] == "FbuCase"]
        assert fbu and all(r["patches"] == ["events-v2-local-appends"] and r["build_id"] for r in fbu), rows
        assert sum(r["open"] for r in fbu) >= 1, rows
    print(f"metrics used: {len(used)}, exported by the API: {len(api)}, by the worker: {len(worker)}")
