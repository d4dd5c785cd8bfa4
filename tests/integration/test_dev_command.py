"""``vangnet dev`` as an operator runs it: a real subprocess, embedded PostgreSQL and Temporal (or external ones),
health, metrics, the Temporal Web UI, Ctrl-C that leaves nothing behind, and state that survives a restart."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import create_database
from tests.fbu_helpers import OCMW, open_body
from tests.integration.helpers import (
    Dev,
    Workspace,
    assert_nothing_left,
    run_cli,
    workspace,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ctrl_c_reaches_children")]


def poll(probe: Any, within: float, what: str, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {within} s (last: {last!r})")


def stop_cleanly(dev: Dev, ports: list[int]) -> float:
    """Ctrl-C, exit code 0 within 30 s, and no process or port left behind. Returns the stop time."""
    procs = dev.tree()
    code, took = dev.interrupt(timeout=30)
    assert code == 0, f"exit code {code} after Ctrl-C:\n{dev.tail()}"
    assert "Traceback" not in dev.output(), dev.tail(80)
    assert_nothing_left(procs, dev.ws, ports)
    return took


def all_ports(ws: Workspace) -> list[int]:
    return list(ws.ports.values())


def check_running_embedded(dev: Dev, ws: Workspace) -> None:
    with httpx.Client(base_url=ws.api_url, timeout=10) as api:
        metrics = api.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "vangnet_http_requests_total" in metrics.text

        paths = api.get("/openapi.json").json()["paths"]
        assert any(p.startswith("/v1/fbu") for p in paths), sorted(paths)

    ui = httpx.get(f"http://127.0.0.1:{ws.ports['temporal_ui']}/", timeout=10)
    assert ui.status_code == 200, ui.status_code
    ui_settings = httpx.get(f"http://127.0.0.1:{ws.ports['temporal_ui']}/api/v1/settings", timeout=10).json()
    assert ui_settings["Codec"]["Endpoint"] == f"{ws.api_url}/codec"  # the UI decrypts through our codec

    for name in ("worker_metrics", "worker_metrics_2"):  # two workers by default (``dev_workers``), a port each
        worker_metrics = f"http://127.0.0.1:{ws.ports[name]}/metrics"
        poll(lambda url=worker_metrics: "temporal_" in httpx.get(url, timeout=5).text, 30,
             f"Temporal SDK metrics on the worker at {worker_metrics}")


def token(ws: Workspace) -> dict[str, str]:
    result = run_cli(ws, "token", "--role", "ocmw", "--org", OCMW)
    assert result.returncode == 0, result.stderr
    return {"Authorization": f"Bearer {result.stdout.strip()}"}


def listed(api: httpx.Client, headers: dict[str, str], case_id: str) -> dict[str, Any] | None:
    r = api.get("/v1/fbu/cases", headers=headers, params={"page_size": 200})
    assert r.status_code == 200, r.text
    return next((c for c in r.json()["items"] if c["case_id"] == case_id), None)


def test_dev_embedded_ctrl_c_and_restart_keeps_state() -> None:
    timings: dict[str, float] = {}
    with workspace() as ws:
        # ---- run 1: cold start, everything embedded --------------------------------------------------------
        dev = Dev(ws, "dev-1.log")
        try:
            dev.wait_healthy(90)
            timings["run 1 healthy"] = dev.healthy_after or 0
            out = dev.output()
            assert "starting embedded PostgreSQL" in out and "starting embedded Temporal dev server" in out
            assert "migrations applied: 0" not in out  # a fresh database gets its migrations
            check_running_embedded(dev, ws)
            names = {p.name() for p in dev.tree()}
            assert {"temporal", "postgres"} <= names, names  # what Ctrl-C must take down includes both servers

            headers = token(ws)
            with httpx.Client(base_url=ws.api_url, timeout=30) as api:
                r = api.post("/v1/fbu/cases", json=open_body(), headers=headers)
                assert r.status_code == 201, r.text
                case_id = r.json()["case_id"]
                poll(lambda: listed(api, headers, case_id), 20, "the new case in the case list")

            # The worker keeps the nightly retention Schedule; the job can also run now, here as a dry run.
            schedule = run_cli(ws, "retention", "schedule")
            assert schedule.returncode == 0, schedule.stdout + schedule.stderr
            described = json.loads(schedule.stdout)
            assert described["action"] == "unchanged" and described["time_zone"] == "Europe/Brussels"
            assert len(described["next_runs"]) == 5 and not described["paused"]
            dry = run_cli(ws, "retention", "run", "--dry-run")
            assert dry.returncode == 0, dry.stdout + dry.stderr
            assert json.loads(dry.stdout)["done"] is True and "retention job started" in dry.stderr
            assert "/codec" in httpx.get(f"{ws.api_url}/codec/login", timeout=10).text

            db_file, pg_dir = ws.var / "temporal.db", ws.var / "pg"
            assert db_file.is_file() and (pg_dir / "PG_VERSION").is_file()
            identity = (db_file.stat().st_ino, (pg_dir / "PG_VERSION").stat().st_ino)
            timings["run 1 stop"] = stop_cleanly(dev, all_ports(ws))
        finally:
            dev.kill()

        # ---- run 2: same var dir, same ports: the stored state is picked up again -------------------------
        dev = Dev(ws, "dev-2.log")
        try:
            dev.wait_healthy(90)
            timings["run 2 healthy"] = dev.healthy_after or 0
            assert "migrations applied: 0" in dev.output()  # same database: nothing left to apply
            assert (db_file.stat().st_ino, (pg_dir / "PG_VERSION").stat().st_ino) == identity
            with httpx.Client(base_url=ws.api_url, timeout=30) as api:
                summary = listed(api, headers, case_id)  # PostgreSQL kept the read model
                assert summary is not None, "the case from run 1 is gone"
                r = api.get(f"/v1/fbu/cases/{case_id}", headers=headers)  # a workflow query: Temporal kept it
                assert r.status_code == 200, r.text
                assert r.json()["case_id"] == case_id
            timings["run 2 stop"] = stop_cleanly(dev, all_ports(ws))
        finally:
            dev.kill()
    print("timings:", {k: round(v, 1) for k, v in timings.items()})


@pytest.mark.asyncio(loop_scope="session")
async def test_dev_external_starts_nothing_embedded(dev_env: WorkflowEnvironment, pg_root: str) -> None:
    database = await create_database(pg_root)
    target = dev_env.client.service_client.config.target_host
    queue = f"dev-ext-{uuid.uuid4().hex[:8]}"
    with workspace(VANGNET_TEMPORAL_ADDRESS=target, VANGNET_DATABASE_URL=database,
                   VANGNET_TEMPORAL_TASK_QUEUE=queue) as ws:
        await asyncio.to_thread(_run_external, ws, target)


def _run_external(ws: Workspace, target: str) -> None:
    dev = Dev(ws)
    try:
        body = dev.wait_healthy(90)  # worker "ok" = a poller on our own, unique task queue
        assert body["worker"] == "ok"
        out = dev.output()
        assert "starting embedded" not in out
        assert "(external cluster)" in out and target in out
        names = [p.name() for p in dev.tree()]
        assert "temporal" not in names and "postgres" not in names, names
        assert not (ws.var / "pg").exists()
        assert not (ws.var / "temporal.db").exists()
        # the embedded ports stay untouched; the ones vangnet dev does use are freed again on Ctrl-C
        used = [ws.ports[k] for k in ("api", "payments", "worker_metrics")]
        stop_cleanly(dev, used)
        assert not (ws.var / "pg").exists() and not (ws.var / "temporal.db").exists()
    finally:
        dev.kill()
