"""``vangnet dev`` heals: a component killed with SIGKILL is restarted while the rest keeps running, /healthz
names what is coming back meanwhile, and a ``vangnet dev`` killed outright takes its children with it, so the
next one starts without "port in use"."""

from __future__ import annotations

import os
import signal
import time

import httpx
import psutil
import pytest

from tests.integration.helpers import Dev, postmaster, stop_and_check, workspace
from vangnet.stack.embedded import port_in_use

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ctrl_c_reaches_children")]


def children(dev: Dev, last_arg: str) -> list[psutil.Process]:
    return [proc for proc in psutil.Process(dev.proc.pid).children()
            if proc.cmdline()[-1:] == [last_arg] or (last_arg == "temporal" and "start-dev" in proc.cmdline())]


def child(dev: Dev, last_arg: str) -> psutil.Process:
    found = children(dev, last_arg)
    assert found, f"no {last_arg} child"
    return found[0]


def wait_for(dev: Dev, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in dev.output():
        assert time.monotonic() < deadline, f"no {text!r} within {timeout} s:\n{dev.tail()}"
        assert dev.proc.poll() is None, f"vangnet dev exited ({dev.proc.returncode}):\n{dev.tail()}"
        time.sleep(0.2)


def test_killed_components_come_back_and_healthz_names_them_meanwhile() -> None:
    with workspace() as ws:
        dev = Dev(ws)
        try:
            dev.wait_healthy(90)
            workers = children(dev, "worker")
            assert len(workers) == 2, workers  # ``dev_workers``
            worker = workers[-1]
            first = worker.environ()["VANGNET_WORKER_METRICS_PORT"] == str(ws.ports["worker_metrics"])
            name = "worker-1" if first else "worker-2"
            worker.kill()
            print(f"injected: SIGKILL to {name} (pid {worker.pid})")
            wait_for(dev, f"restarted the {name} process")
            assert dev.wait_healthy(60)["worker"] == "ok"
            now = children(dev, "worker")
            assert len(now) == 2 and worker.pid not in [p.pid for p in now], now
            print(f"verified: {name} was restarted and /healthz is ok again")

            temporal = child(dev, "temporal")
            temporal.kill()
            print(f"injected: SIGKILL to the Temporal dev server (pid {temporal.pid})")
            seen: dict[str, object] = {}
            deadline = time.monotonic() + 60
            with httpx.Client(base_url=ws.api_url, timeout=5) as http:
                while "components" not in seen and time.monotonic() < deadline:
                    body = http.get("/healthz").json()
                    if body.get("components"):
                        seen = body
                    time.sleep(0.05)
            assert seen["status"] == "degraded" and seen["components"] == {"temporal": "restarting"}, seen
            print(f"verified: /healthz while it came back: {seen}")
            wait_for(dev, "restarted the temporal process")
            body = dev.wait_healthy(90)
            assert body["temporal"] == "ok" and "components" not in body
            print("verified: Temporal restarted on its own database; /healthz ok")

            pm = postmaster(ws.var)
            assert pm is not None
            pm.kill()
            print(f"injected: SIGKILL to the PostgreSQL postmaster (pid {pm.pid})")
            wait_for(dev, "restarted the postgres process")
            assert dev.wait_healthy(90)["postgres"] == "ok"
            new = postmaster(ws.var)
            assert new is not None and new.pid != pm.pid
            print("verified: PostgreSQL restarted on its data directory; /healthz ok")
            stop_and_check(dev, list(ws.ports.values()), how="ctrl-c")
        finally:
            dev.kill()


def test_a_killed_dev_leaves_no_child_holding_a_port() -> None:
    with workspace() as ws:
        dev = Dev(ws, "dev-1.log")
        try:
            dev.wait_healthy(90)
            children = psutil.Process(dev.proc.pid).children()
            os.kill(dev.proc.pid, signal.SIGKILL)  # vangnet dev alone, not its process group
            dev.proc.wait(timeout=10)
            print(f"injected: SIGKILL to vangnet dev only ({len(children)} children)")
            _, alive = psutil.wait_procs(children, timeout=30)
            assert not alive, f"children outlived vangnet dev: {[p.cmdline() for p in alive]}"
            held = [name for name, port in ws.ports.items() if port_in_use("127.0.0.1", port)]
            assert not held, f"ports still held: {held}"
            print("verified: every child died with vangnet dev; no port held")
        except BaseException:
            dev.kill()
            raise
        dev = Dev(ws, "dev-2.log")
        try:
            dev.wait_healthy(90)
            assert "already in use" not in dev.output()
            print("verified: a new vangnet dev starts at once")
            stop_and_check(dev, list(ws.ports.values()), how="ctrl-c")
        finally:
            dev.kill()
            pm = postmaster(ws.var)
            if pm is not None:
                pm.kill()
