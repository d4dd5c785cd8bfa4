"""Running the real ``vangnet`` command line as a subprocess, the way an operator would, and checking that it
leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.conftest import free_port

VANGNET = [sys.executable, "-m", "vangnet.cli"]


@contextmanager
def sigint_not_ignored() -> Iterator[None]:
    """A shell started in the background (CI runners, ``cmd &``) ignores SIGINT, and an ignored signal stays
    ignored across exec: the ``vangnet`` we spawn would never see the Ctrl-C we send.  Install Python's
    default handler for the duration (handled signals reset to their default in exec'd children)."""
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class Workspace:
    """A temporary working directory plus a short var dir under /tmp and one free port per listener."""

    cwd: Path
    var: Path
    ports: dict[str, int]
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VANGNET_", "PAYSIM_"))}
        env.update({
            "PYTHONUNBUFFERED": "1",
            "VANGNET_VAR_DIR": str(self.var),
            "VANGNET_API_PORT": str(self.ports["api"]),
            "VANGNET_PAYMENT_SIM_PORT": str(self.ports["payments"]),
            "VANGNET_PAYMENT_SYSTEM_URL": f"http://127.0.0.1:{self.ports['payments']}",
            "VANGNET_NETBEHEERDER_SIM_PORT": str(self.ports["netbeheerder"]),
            "VANGNET_WORKER_METRICS_PORT": str(self.ports["worker_metrics"]),
            "VANGNET_EMBEDDED_TEMPORAL_PORT": str(self.ports["temporal"]),
            "VANGNET_EMBEDDED_TEMPORAL_UI_PORT": str(self.ports["temporal_ui"]),
        })
        env.update(self.extra)
        return env


@contextmanager
def workspace(**extra: str) -> Iterator[Workspace]:
    root = Path(tempfile.mkdtemp(prefix="vgd-", dir="/tmp"))
    (root / "wd").mkdir()
    ports: dict[str, int] = {}
    names = ("api", "payments", "worker_metrics", "temporal", "temporal_ui", "netbeheerder")
    # free_port() may hand out the same number twice: keep them distinct, each with its next port free too (the
    # worker metrics' second port)
    while len(ports) < len(names):
        port = free_port()
        taken = {p + k for p in ports.values() for k in (0, 1)}
        if not {port, port + 1} & taken and port_is_free(port + 1):
            ports[names[len(ports)]] = port
    ports["worker_metrics_2"] = ports["worker_metrics"] + 1  # vangnet dev's second worker (``dev_workers``)
    try:
        yield Workspace(cwd=root / "wd", var=root / "var", ports=ports, extra=dict(extra))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_cli(ws: Workspace, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VANGNET, *args], cwd=ws.cwd, env=env or ws.env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code != 0, exactly one non-empty line on stderr, starting with 'vangnet:', and no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, f"expected a failure, got 0; stdout={result.stdout!r} stderr={result.stderr!r}"
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{result.stderr}"
    assert lines[0].startswith("vangnet: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def port_is_free(port: int) -> bool:
    """True when a server could bind the port again (SO_REUSEADDR, as uvicorn and Temporal do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def postmaster(var: Path) -> psutil.Process | None:
    """The embedded PostgreSQL postmaster: pg_ctl daemonises it, so it is not among ``vangnet dev``'s children."""
    pid_file = var / "pg" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        return psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
        return None


def processes_mentioning(var: Path) -> list[psutil.Process]:
    """Every process on the machine whose command line or environment names our var dir (catches escapees)."""
    needle = str(var)
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            text = " ".join(proc.cmdline())
            if needle not in text:
                text = " ".join(f"{k}={v}" for k, v in proc.environ().items())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if needle in text and _alive(proc):
            found.append(proc)
    return found


class Dev:
    """``vangnet dev`` in its own session (so SIGINT to its process group is exactly a terminal's Ctrl-C)."""

    def __init__(self, ws: Workspace, log_name: str = "dev.log") -> None:
        self.ws = ws
        self.log_path = ws.cwd / log_name
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([*VANGNET, "dev"], cwd=ws.cwd, env=ws.env(), stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.started = time.monotonic()
        self.healthy_after: float | None = None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-n:])

    def wait_healthy(self, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        with httpx.Client(base_url=self.ws.api_url, timeout=5) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"vangnet dev exited with {self.proc.returncode}:\n{self.tail()}")
                try:
                    r = http.get("/healthz")
                    last = (r.status_code, r.text)
                    body: dict[str, Any] = r.json()
                    if r.status_code == 200 and body == {"status": "ok", "temporal": "ok", "postgres": "ok",
                                                         "worker": "ok"}:
                        self.healthy_after = time.monotonic() - self.started
                        self._wait_banner(deadline)
                        return body
                except (httpx.TransportError, ValueError) as exc:
                    last = repr(exc)
                time.sleep(0.3)
        raise AssertionError(f"not healthy within {timeout} s (last: {last}):\n{self.tail()}")

    def _wait_banner(self, deadline: float) -> None:
        """The API answers a moment before ``vangnet dev`` notices and prints its banner; Ctrl-C comes after."""
        while "Vangnet is running" not in self.output():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no 'Vangnet is running' banner:\n{self.tail()}")
            time.sleep(0.1)

    def tree(self) -> list[psutil.Process]:
        """vangnet dev, all its descendants and, when embedded, the PostgreSQL postmaster and its backends."""
        root = psutil.Process(self.proc.pid)
        procs = [root, *root.children(recursive=True)]
        pm = postmaster(self.ws.var)
        if pm is not None:
            procs += [pm, *pm.children(recursive=True)]
        return procs

    def interrupt(self, timeout: float = 30) -> tuple[int, float]:
        """Ctrl-C: SIGINT to the whole process group; return the exit code and how long the stop took."""
        start = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"vangnet dev did not stop within {timeout} s after SIGINT:\n{self.tail()}") from None
        return code, time.monotonic() - start

    def terminate(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM to the ``vangnet dev`` process alone (``kill PID``, systemd, a supervisor); exit code and time."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"vangnet dev did not stop within {timeout} s after SIGTERM:\n{self.tail()}") from None
        return code, time.monotonic() - start

    def crash(self) -> None:
        """SIGKILL to the whole process group: ``vangnet dev`` and its children die without cleaning up (the
        daemonised PostgreSQL survives, as after an OOM kill or a lost machine session)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def kill(self) -> None:
        """Teardown after a failed test: take down whatever is still running, without asking nicely."""
        try:
            procs = self.tree()
        except psutil.NoSuchProcess:
            procs = []
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        for p in [*procs, *processes_mentioning(self.ws.var)]:
            with suppress(psutil.Error):
                p.kill()
        self._log.close()


def assert_nothing_left(procs: list[psutil.Process], ws: Workspace, ports: list[int]) -> None:
    alive = [p for p in procs if _alive(p)]
    assert not alive, f"left behind: {[(p.pid, p.name()) for p in alive]}"
    escaped = processes_mentioning(ws.var)
    assert not escaped, f"still running with our var dir: {[(p.pid, p.name()) for p in escaped]}"
    busy = [port for port in ports if not port_is_free(port)]
    assert not busy, f"ports still in use: {busy}"


def stop_and_check(dev: Dev, ports: list[int], how: str = "ctrl-c") -> float:
    """Stop ``vangnet dev`` with Ctrl-C (SIGINT to its process group) or SIGTERM (to its pid): exit code 0 within
    30 s, no traceback, no child that exited abnormally, no process or port left behind. Returns the stop time."""
    procs = dev.tree()
    code, took = dev.interrupt(timeout=30) if how == "ctrl-c" else dev.terminate(timeout=30)
    out = dev.output()
    assert code == 0, f"exit code {code} after {how}:\n{dev.tail()}"
    assert "Traceback" not in out, dev.tail(80)
    assert "while stopping" not in out and "did not stop within" not in out, dev.tail(40)
    assert_nothing_left(procs, dev.ws, ports)
    return took


def payments(ws: Workspace, beneficiary: str) -> list[dict[str, Any]]:
    """Every payment the payment simulator booked for a beneficiary."""
    r = httpx.get(f"http://127.0.0.1:{ws.ports['payments']}/payments", params={"beneficiary": beneficiary},
                  timeout=10)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["payments"]
    return found
