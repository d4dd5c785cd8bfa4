"""The production shape in processes: one Temporal (the dev server), one PostgreSQL, ``vangnet migrate`` as a
one-shot, the simulators, one ``vangnet api`` and any number of ``vangnet worker`` processes, each configured only
through ``VANGNET_*`` variables, as the containers in deploy/compose and deploy/k8s are (nothing embedded starts
inside a Vangnet process: ``VANGNET_TEMPORAL_ADDRESS`` and ``VANGNET_DATABASE_URL`` are set)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.integration.helpers import VANGNET, Workspace, workspace
from vangnet.stack.embedded import start_temporal


def _key(seed: int) -> str:
    return base64.b64encode(bytes([seed]) * 32).decode()


class Stack:
    def __init__(self, ws: Workspace, database_url: str) -> None:
        self.ws = ws
        self.database_url = database_url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.worker_ports: dict[str, int] = {}
        self.temporal: subprocess.Popen[bytes] | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = self.ws.env()
        env.update({
            "VANGNET_TEMPORAL_ADDRESS": f"127.0.0.1:{self.ws.ports['temporal']}",
            "VANGNET_DATABASE_URL": self.database_url,
            "VANGNET_PAYLOAD_KEYS": json.dumps({"p1": _key(1)}),
            "VANGNET_PAYLOAD_ACTIVE_KEY": "p1",
            "VANGNET_MASTER_KEYS": json.dumps({"m1": _key(2)}),
            "VANGNET_MASTER_ACTIVE_KEY": "m1",
            "VANGNET_NETBEHEERDER_URLS": json.dumps({"fluvius": f"http://127.0.0.1:{self.ws.ports['netbeheerder']}"}),
            "VANGNET_PUBLIC_URL": self.ws.api_url,
            "VANGNET_LOG_FORMAT": "console",
        })
        env.update(extra)
        return env

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*VANGNET, *args], cwd=self.ws.cwd, env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def start(self, name: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        log = (self.ws.cwd / f"{name}.log").open("wb")
        proc = subprocess.Popen([*VANGNET, *args], cwd=self.ws.cwd, env=self.env(**extra), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str, **extra: str) -> subprocess.Popen[bytes]:
        port = free_port()
        self.worker_ports[name] = port
        return self.start(name, "worker", VANGNET_WORKER_METRICS_PORT=str(port), **extra)

    def log(self, name: str) -> str:
        return (self.ws.cwd / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL: the process gets no chance to finish its tasks or say goodbye (an OOM kill, a lost node)."""
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}"
            try:
                r = httpx.get(f"{self.ws.api_url}/healthz", timeout=5)
                last = (r.status_code, r.text)
                if r.status_code == 200:
                    return
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise AssertionError(f"API not healthy within {timeout} s: {last}")

    def token(self, role: str, org: str | None = None) -> str:
        result = self.cli("token", "--role", role, *(["--org", org] if org else []))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def metrics(self, url: str) -> str:
        r = httpx.get(url, timeout=10)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        return r.text

    def stop(self) -> None:
        for proc in [*reversed(self.procs.values()), *([self.temporal] if self.temporal else [])]:
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM) if proc is not self.temporal else proc.terminate()
        for proc in [*self.procs.values(), *([self.temporal] if self.temporal else [])]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def running_stack(database_url: str, workers: int = 1) -> Iterator[Stack]:
    """Temporal, migrations, simulators, the API and ``workers`` workers, healthy; everything stopped after."""
    with workspace() as ws:
        ws.var.mkdir(parents=True, exist_ok=True)
        stack = Stack(ws, database_url)
        try:
            stack.temporal = start_temporal(None, port=ws.ports["temporal"], ui_port=ws.ports["temporal_ui"])
            migrated = stack.cli("migrate")
            assert migrated.returncode == 0, migrated.stderr
            seeded = stack.cli("policies", "seed-demo")  # as `vangnet dev` does: claims need a sharing policy
            assert seeded.returncode == 0, seeded.stderr
            stack.start("sim-payments", "sim-payments")
            stack.start("sim-netbeheerder", "sim-netbeheerder")
            for i in range(workers):
                stack.start_worker(f"worker-{i + 1}")
            stack.start("api", "api")
            stack.wait_healthy()
            yield stack
        finally:
            stack.stop()


def payments_booked(stack: Stack, beneficiary: str) -> list[dict[str, Any]]:
    r = httpx.get(f"http://127.0.0.1:{stack.ws.ports['payments']}/payments", params={"beneficiary": beneficiary},
                  timeout=10)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["payments"]
    return found


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]
