"""The stack the energy load benchmark talks to: its own ``vangnet dev``, or a running one found from the API's port.

Kept apart from the load and the report because ``scripts/bench.py`` starts and stops the same stack: starting it in
its own session under a temp dir, finding its processes (worker, API, Temporal server, PostgreSQL postmaster),
issuing an OCMW token, and stopping it with a Ctrl-C to its process group that a second Ctrl-C must not cut short.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse

import httpx
import psutil

OCMW = "ocmw-44021"
VANGNET = [sys.executable, "-m", "vangnet.cli"]



class BenchError(Exception):
    """Stops the benchmark: the message says what went wrong."""

# ---- the stack: our own ``vangnet dev`` or a running one ------------------------------------------------------


def free_ports(names: tuple[str, ...]) -> dict[str, int]:
    """One distinct free port per listener, each with the next one free too (``vangnet dev`` gives its second worker
    the metrics port after the first's); the kernel may hand out the same number twice, so repeats are skipped."""
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        taken = {p + k for p in ports.values() for k in (0, 1)}
        if not {port, port + 1} & taken and _bindable(port + 1):
            ports[names[len(ports)]] = port
    return ports


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Target:
    """What the benchmark talks to and watches."""

    api_url: str
    env: dict[str, str]
    workers: list[psutil.Process]  # every worker process of the stack (``vangnet dev`` runs ``dev_workers``)
    api: psutil.Process | None
    temporal: psutil.Process | None
    postmaster: psutil.Process | None
    temporal_db: Path | None
    description: str
    dev: psutil.Process | None = None  # ``vangnet dev``: itself and its other children (the simulators) are "dev_rest"
    worker_metrics: list[str] = field(default_factory=list)  # the workers' Prometheus endpoints (SDK metrics)


def postmaster_of(var: Path) -> psutil.Process | None:
    """The embedded PostgreSQL postmaster: pg_ctl daemonises it, so it is not among ``vangnet dev``'s children."""
    try:
        pid = int((var / "pg" / "postmaster.pid").read_text().splitlines()[0])
        return psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.Error):
        return None


def alive(proc: psutil.Process, wait: float = 0) -> bool:
    """Running and not a zombie (a daemonised postmaster that stopped may wait a moment to be reaped)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            running = proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            running = False
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.2)


def cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def is_vangnet(proc: psutil.Process, command: str) -> bool:
    """``python -m vangnet.cli COMMAND`` or the ``vangnet COMMAND`` entry point."""
    args = cmdline(proc)
    for i, arg in enumerate(args[:-1]):
        if (arg == "vangnet.cli" or Path(arg).name == "vangnet") and args[i + 1] == command:
            return True
    return False


def is_temporal_server(proc: psutil.Process) -> bool:
    args = cmdline(proc)
    return bool(args) and Path(args[0]).name == "temporal" and "start-dev" in args


def db_filename(temporal: psutil.Process | None) -> Path | None:
    args = cmdline(temporal) if temporal is not None else []
    for i, arg in enumerate(args[:-1]):
        if arg == "--db-filename":
            return Path(args[i + 1])
    return None


class OwnStack:
    """``vangnet dev`` in its own session under a temp dir, so SIGINT to its group is exactly a terminal's Ctrl-C."""

    def __init__(self, writes_per_minute: int, keep: bool, extra_env: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="vgbench-", dir="/tmp"))
        self.var = self.root / "var"
        self.cwd = self.root / "wd"
        self.cwd.mkdir()
        self.keep = keep
        self.ports = free_ports(("api", "payments", "netbeheerder", "worker_metrics", "temporal", "temporal_ui"))
        self.writes_per_minute = writes_per_minute
        self.extra_env = extra_env or {}
        self.log_path = self.root / "dev.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.healthy_after: float | None = None
        self.stopped: dict[str, Any] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VANGNET_", "PAYSIM_", "NBSIM_"))}
        env.update({
            "PYTHONUNBUFFERED": "1",
            "VANGNET_VAR_DIR": str(self.var),
            "VANGNET_API_PORT": str(self.ports["api"]),
            "VANGNET_PUBLIC_URL": self.api_url,
            "VANGNET_PAYMENT_SIM_PORT": str(self.ports["payments"]),
            "VANGNET_PAYMENT_SYSTEM_URL": f"http://127.0.0.1:{self.ports['payments']}",
            "VANGNET_NETBEHEERDER_SIM_PORT": str(self.ports["netbeheerder"]),
            "VANGNET_WORKER_METRICS_PORT": str(self.ports["worker_metrics"]),
            "VANGNET_EMBEDDED_TEMPORAL_PORT": str(self.ports["temporal"]),
            "VANGNET_EMBEDDED_TEMPORAL_UI_PORT": str(self.ports["temporal_ui"]),
            "VANGNET_API_WRITES_PER_MINUTE": str(self.writes_per_minute),
        })
        env.update(self.extra_env)
        return env

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def start(self, timeout: float = 180) -> Target:
        started = time.monotonic()
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([*VANGNET, "dev"], cwd=self.cwd, env=self.env(),  # noqa: S603
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = started + timeout
        last: Any = None
        with httpx.Client(base_url=self.api_url, timeout=5) as http:
            while True:
                if self.proc.poll() is not None:
                    raise BenchError(f"vangnet dev exited with {self.proc.returncode}:\n{self.tail()}")
                try:
                    r = http.get("/healthz")
                    last = (r.status_code, r.text)
                    if r.status_code == 200 and set(r.json().values()) == {"ok"}:
                        break
                except (httpx.TransportError, ValueError) as exc:
                    last = repr(exc)
                if time.monotonic() > deadline:
                    raise BenchError(f"vangnet dev not healthy within {timeout:.0f} s (last: {last}):\n{self.tail()}")
                time.sleep(0.3)
        while "Vangnet is running" not in self.tail(200):  # its banner: from here on Ctrl-C stops it cleanly
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise BenchError(f"no 'Vangnet is running' banner:\n{self.tail()}")
            time.sleep(0.1)
        self.healthy_after = time.monotonic() - started
        children = psutil.Process(self.proc.pid).children()
        workers = [p for p in children if is_vangnet(p, "worker")]
        if not workers:
            raise BenchError(f"no 'vangnet worker' process under vangnet dev (pid {self.proc.pid})")
        temporal = next((p for p in children if is_temporal_server(p)), None)
        address = self.extra_env.get("VANGNET_TEMPORAL_ADDRESS", "")
        if temporal is None and address.rpartition(":")[2].isdigit():  # an external Temporal server on this host
            temporal = listener(int(address.rpartition(":")[2]))
        return Target(
            api_url=self.api_url, env=self.env(), workers=workers,
            api=next((p for p in children if is_vangnet(p, "api")), None), temporal=temporal,
            postmaster=postmaster_of(self.var), temporal_db=db_filename(temporal) or self.var / "temporal.db",
            description=f"own vangnet dev in {self.root} (healthy after {self.healthy_after:.1f} s)",
            dev=psutil.Process(self.proc.pid),
            worker_metrics=[f"http://127.0.0.1:{port}/metrics" for port in metrics_ports(workers)])

    def stop(self, timeout: float = 60) -> None:
        """Ctrl-C to the whole process group, as a terminal would; SIGKILL everything if it does not stop."""
        if self.proc is None or self.stopped is not None:
            return
        start = time.monotonic()
        pm = postmaster_of(self.var)
        code: int | None
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            code = self.proc.wait(timeout=timeout)
        except ProcessLookupError:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            if pm is not None:
                with contextlib.suppress(psutil.Error):
                    pm.kill()
            code = None
        took = time.monotonic() - start
        log = self.tail(10_000)
        pg_left = pm is not None and alive(pm, wait=10)
        clean = (code == 0 and not pg_left and "Traceback" not in log and "while stopping" not in log
                 and "did not stop within" not in log)
        self.stopped = {"exit_code": code, "seconds": round(took, 1), "clean": clean}
        status = f"exit code {code}" if code is not None else f"did not stop within {timeout:.0f} s; killed"
        status += ", PostgreSQL still running" if pg_left else ""
        print(f"vangnet dev stopped in {took:.1f} s ({status}{'' if clean else ', NOT clean'})", file=sys.stderr)
        if not clean:
            print(self.tail(40), file=sys.stderr)

    def cleanup(self) -> None:
        if self.keep or (self.stopped is not None and not self.stopped["clean"]):
            print(f"kept {self.root} (dev.log, var/)", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def listener(port: int) -> psutil.Process | None:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    return None


def attach(args: argparse.Namespace) -> Target:
    """Find the processes of a running stack from the API's port, its environment and its parent."""
    url = args.api.rstrip("/")
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    api = psutil.Process(args.api_pid) if args.api_pid else listener(port)
    api_env: dict[str, str] = {}
    siblings: list[psutil.Process] = []
    dev: psutil.Process | None = None
    if api is not None:
        with contextlib.suppress(psutil.Error):
            api_env = api.environ()
        parent = api.parent()
        if parent is not None and is_vangnet(parent, "dev"):
            dev, siblings = parent, parent.children()
    if args.worker_pid:
        workers = [psutil.Process(pid) for pid in args.worker_pid]
    else:
        workers = [p for p in siblings if is_vangnet(p, "worker")]
        if not workers:  # not under vangnet dev: every worker on this machine that talks to the same Temporal
            address = api_env.get("VANGNET_TEMPORAL_ADDRESS")
            workers = [p for p in psutil.process_iter() if is_vangnet(p, "worker")
                       and (address is None or _environ(p).get("VANGNET_TEMPORAL_ADDRESS") == address)]
        if not workers:
            raise BenchError(f"found no 'vangnet worker' process for {url}; give --worker-pid")
    temporal: psutil.Process | None
    if args.temporal_pid:
        temporal = psutil.Process(args.temporal_pid)
    else:
        temporal = next((p for p in siblings if is_temporal_server(p)), None)
        address = api_env.get("VANGNET_TEMPORAL_ADDRESS", "")
        if temporal is None and address.rpartition(":")[2].isdigit():
            found = listener(int(address.rpartition(":")[2]))
            temporal = found if found is not None and is_temporal_server(found) else None
    var = Path(api_env["VANGNET_VAR_DIR"]) if "VANGNET_VAR_DIR" in api_env else None
    postmaster = psutil.Process(args.postgres_pid) if args.postgres_pid else (
        postmaster_of(var) if var is not None else None)
    env = dict(os.environ)
    env.update({k: v for k, v in api_env.items() if k.startswith("VANGNET_")})  # same key file for `vangnet token`
    return Target(api_url=url, env=env, workers=workers, api=api, temporal=temporal, postmaster=postmaster,
                  temporal_db=db_filename(temporal), description=f"running stack at {url}", dev=dev,
                  worker_metrics=[f"http://127.0.0.1:{port}/metrics" for port in metrics_ports(workers)])


def metrics_ports(workers: list[psutil.Process]) -> list[int]:
    """Each worker's metrics port, from its environment (9464 when unset; none when 0)."""
    ports = [int(_environ(p).get("VANGNET_WORKER_METRICS_PORT", "9464")) for p in workers]
    return [port for port in ports if port]


def _environ(proc: psutil.Process) -> dict[str, str]:
    try:
        return proc.environ()
    except psutil.Error:
        return {}


def issue_token(env: dict[str, str]) -> str:
    args = [*VANGNET, "token", "--role", "ocmw", "--org", OCMW]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    token = result.stdout.strip()
    if result.returncode != 0 or not token:
        raise BenchError(f"'vangnet token --role ocmw --org {OCMW}' failed (exit {result.returncode}): "
                         f"{result.stderr.strip() or result.stdout.strip()}")
    return token


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

def _as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def install_ctrl_c() -> None:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt (outside the event loop, which handles them itself)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _as_ctrl_c)
    signal.signal(signal.SIGHUP, _as_ctrl_c)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """While stopping the stack a second Ctrl-C must not cut the stop short (that leaves PostgreSQL behind)."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)

