"""Load benchmark: open many energy cases on the embedded stack and report what the processes cost.

    .venv/bin/python scripts/bench_energy_load.py [--cases 10000] [--concurrency 16] [--json FILE]
    .venv/bin/python scripts/bench_energy_load.py --api http://127.0.0.1:8000 [--worker-pid PID] ...

Without ``--api`` it starts its own ``vangnet dev`` (a fresh var dir under /tmp, free ports for every listener) and
stops it at the end with a Ctrl-C to its process group, also after an error, a Ctrl-C or a SIGTERM to this script.
The first Ctrl-C (or SIGTERM) stops sending new cases, lets the calls in flight finish and reports; a second one
aborts at once. ``--set VANGNET_X=VALUE`` passes a setting to that ``vangnet dev`` (e.g. a bigger database pool, or
``VANGNET_TEMPORAL_ADDRESS`` of another Temporal server, to compare).
With ``--api`` it uses a running stack: the API process is the one listening on the URL's port, its siblings under
``vangnet dev`` are the worker and the Temporal server (``--worker-pid``, ``--temporal-pid``, ``--api-pid`` and
``--postgres-pid`` override what is found). The OCMW token comes from ``vangnet token --role ocmw --org ocmw-44021``
with the stack's environment (or ``--token``).

It opens N cases through ``POST /v1/energy/cases`` with bounded concurrency over keep-alive connections: unique
valid EANs, alternating gas and electricity, the notice of default dated today (Brussels), so every case stays open
in its 45-day notice period with one durable timer. Progress every 500 cases on stderr; at the end a report on
stdout: cases opened, errors by status, throughput, latency percentiles of the open call, and, sampled every second
with psutil during the run and during a 10 s idle period after it, the worker's RSS and the CPU of the Temporal
server, PostgreSQL (all its processes), the API and the worker; then the open cases the API lists for the OCMW and
the size of the Temporal server's SQLite file, and where the time goes according to the worker's Temporal SDK
metrics (task schedule-to-start, execution, server calls). ``--json FILE`` writes the same figures, with the
per-second samples, as JSON.

CPU figures are percent of one core (a process using two full cores shows 200 %). This script runs on the same
machine and its own CPU is reported too, as is everything else the machine did meanwhile ("other processes", with
the busiest ones named): on a shared machine that is what to look at before trusting a figure.

The product limits writes per bearer token (``VANGNET_API_WRITES_PER_MINUTE``, 600 by default); for its own stack
the script raises that limit (``--writes-per-minute``), since the benchmark measures capacity, not the throttle.
Against ``--api`` the running stack's limit applies and its 429 answers are counted as errors.

Exit status: 0 when every case opened, 1 when some failed or the benchmark could not run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import httpx
import psutil

OCMW = "ocmw-44021"
NIS = "44021"
VANGNET = [sys.executable, "-m", "vangnet.cli"]
MIB = 1024 * 1024
PROGRESS_EVERY = 500
IDLE_SECONDS = 10.0
GROUPS = ("worker", "temporal", "postgres", "api", "dev_rest", "bench")  # watched; also "machine", "others"


class BenchError(Exception):
    """Stops the benchmark: the message says what went wrong."""


# ---- the request body -----------------------------------------------------------------------------------------


def ean(n: int) -> str:
    """A valid Belgian EAN-18 (GS1 check digit) from a serial number (as ``tests/energy_helpers.ean``)."""
    body = f"54144882{n:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def brussels_today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo("Europe/Brussels")).date()


def open_body(i: int, ean_base: int, notice: date) -> dict[str, Any]:
    return {
        "household": {"name": f"Bench Household {i}", "national_number": "85.07.30-033.28",
                      "address": "Brugsesteenweg 12, 9000 Gent", "municipality_nis": NIS},
        "ean": ean(ean_base + i), "energy": "gas" if i % 2 == 0 else "electricity", "supplier": "Engie",
        "netbeheerder": "fluvius", "notice_of_default_on": notice.isoformat(),
    }


# ---- the stack: our own ``vangnet dev`` or a running one ------------------------------------------------------


def free_ports(names: tuple[str, ...]) -> dict[str, int]:
    """One distinct free port per listener (the kernel may hand out the same number twice; skip repeats)."""
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in ports.values():
            ports[names[len(ports)]] = port
    return ports


@dataclass
class Target:
    """What the benchmark talks to and watches."""

    api_url: str
    env: dict[str, str]
    worker: psutil.Process
    api: psutil.Process | None
    temporal: psutil.Process | None
    postmaster: psutil.Process | None
    temporal_db: Path | None
    description: str
    dev: psutil.Process | None = None  # ``vangnet dev``: itself and its other children (the simulators) are "dev_rest"
    worker_metrics: str | None = None  # the worker's Prometheus endpoint (Temporal SDK metrics)


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
        worker = next((p for p in children if is_vangnet(p, "worker")), None)
        if worker is None:
            raise BenchError(f"no 'vangnet worker' process under vangnet dev (pid {self.proc.pid})")
        temporal = next((p for p in children if is_temporal_server(p)), None)
        address = self.extra_env.get("VANGNET_TEMPORAL_ADDRESS", "")
        if temporal is None and address.rpartition(":")[2].isdigit():  # an external Temporal server on this host
            temporal = listener(int(address.rpartition(":")[2]))
        return Target(
            api_url=self.api_url, env=self.env(), worker=worker,
            api=next((p for p in children if is_vangnet(p, "api")), None), temporal=temporal,
            postmaster=postmaster_of(self.var), temporal_db=db_filename(temporal) or self.var / "temporal.db",
            description=f"own vangnet dev in {self.root} (healthy after {self.healthy_after:.1f} s)",
            dev=psutil.Process(self.proc.pid),
            worker_metrics=f"http://127.0.0.1:{self.ports['worker_metrics']}/metrics")

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
        worker = psutil.Process(args.worker_pid)
    else:
        same = [p for p in siblings if is_vangnet(p, "worker")]
        if not same:  # not under vangnet dev: every worker on this machine that talks to the same Temporal
            address = api_env.get("VANGNET_TEMPORAL_ADDRESS")
            same = [p for p in psutil.process_iter() if is_vangnet(p, "worker")
                    and (address is None or _environ(p).get("VANGNET_TEMPORAL_ADDRESS") == address)]
        if len(same) != 1:
            raise BenchError(f"found {len(same)} 'vangnet worker' processes for {url}; give --worker-pid")
        worker = same[0]
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
    metrics_port = _environ(worker).get("VANGNET_WORKER_METRICS_PORT", "9464")
    env = dict(os.environ)
    env.update({k: v for k, v in api_env.items() if k.startswith("VANGNET_")})  # same key file for `vangnet token`
    return Target(api_url=url, env=env, worker=worker, api=api, temporal=temporal, postmaster=postmaster,
                  temporal_db=db_filename(temporal), description=f"running stack at {url}", dev=dev,
                  worker_metrics=f"http://127.0.0.1:{metrics_port}/metrics" if metrics_port != "0" else None)


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


# ---- sampling -------------------------------------------------------------------------------------------------


@dataclass
class GroupUsage:
    """CPU seconds used and the sampled CPU % and RSS of one group of processes, per phase."""

    cpu_seconds: dict[str, float] = field(default_factory=lambda: {"load": 0.0, "idle": 0.0})
    cpu_pct: dict[str, list[float]] = field(default_factory=lambda: {"load": [], "idle": []})
    processes: int = 0


def cpu_snapshot() -> dict[int, tuple[float, float, str]]:
    """pid -> (create time, CPU seconds, command) of every process on the machine."""
    out: dict[int, tuple[float, float, str]] = {}
    for p in psutil.process_iter():
        try:
            with p.oneshot():
                t = p.cpu_times()
                out[p.pid] = (p.create_time(), t.user + t.system, " ".join(p.cmdline())[:120] or p.name())
        except psutil.Error:
            continue
    return out


class OtherProcesses:
    """CPU used by every process outside the stack, from snapshots a few seconds apart (a process that lives
    shorter than that between two snapshots is missed; 'other processes' in the CPU table still counts it)."""

    def __init__(self) -> None:
        self._prev = cpu_snapshot()
        self._at = time.time()
        self.used: dict[tuple[int, float], list[Any]] = {}  # (pid, create time) -> [command, CPU seconds]

    def account(self, ours: set[int]) -> None:
        snap, at = cpu_snapshot(), time.time()
        for pid, (created, total, command) in snap.items():
            if pid in ours:
                continue
            old = self._prev.get(pid)
            delta = total - old[1] if old is not None and old[0] == created else (
                total if created >= self._at - 1 else 0.0)
            self.used.setdefault((pid, created), [command, 0.0])[1] += delta
        self._prev, self._at = snap, at

    def top(self, wall: float, n: int = 8) -> list[dict[str, Any]]:
        rows = [{"pid": pid, "cpu_seconds": round(sec, 1), "avg_pct": round(100 * sec / wall, 1) if wall else None,
                 "command": cmd} for (pid, _), (cmd, sec) in self.used.items() if sec >= 0.5]
        return sorted(rows, key=lambda u: float(u["cpu_seconds"]), reverse=True)[:n]


def machine_busy() -> float:
    """CPU seconds all cores spent on anything but idling since boot."""
    t = psutil.cpu_times()
    return float(sum(t)) - t.idle - getattr(t, "iowait", 0.0)


class Sampler:
    """Every second, in a thread: CPU (from cpu_times deltas, so nothing between samples is lost) and RSS."""

    def __init__(self, target: Target, interval: float = 1.0) -> None:
        self.target = target
        self.interval = interval
        self.phase = "load"
        self.done = 0
        self.samples: list[dict[str, Any]] = []
        self.usage = {g: GroupUsage() for g in (*GROUPS, "machine", "others")}
        self.walls = {"load": 0.0, "idle": 0.0}
        self._prev: dict[int, tuple[float, float]] = {}  # pid -> (create_time, cpu seconds)
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
        self.started = time.monotonic()
        self._me = psutil.Process()
        self._busy = machine_busy()
        self.others = OtherProcesses()
        self.top_others: list[dict[str, Any]] = []
        self.sample()  # the baseline: RSS at the start, CPU counters from here

    def groups(self) -> dict[str, list[psutil.Process]]:
        pg: list[psutil.Process] = []
        if self.target.postmaster is not None:
            with contextlib.suppress(psutil.Error):
                pg = [self.target.postmaster, *self.target.postmaster.children(recursive=True)]
        t = self.target
        watched = {"worker": [t.worker], "temporal": [t.temporal] if t.temporal else [], "postgres": pg,
                   "api": [t.api] if t.api else [], "bench": [self._me]}
        rest: list[psutil.Process] = []
        if t.dev is not None:
            pids = {p.pid for procs in watched.values() for p in procs}
            with contextlib.suppress(psutil.Error):
                rest = [p for p in [t.dev, *t.dev.children(recursive=True)] if p.pid not in pids]
        return {**watched, "dev_rest": rest}

    def sample(self) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            wall = now - self._last
            first = not self.samples
            row: dict[str, Any] = {"t": round(now - self.started, 2), "phase": self.phase, "done": self.done,
                                   "cpu_pct": {}, "rss_mib": {}}
            seen: dict[int, tuple[float, float]] = {}
            busy = machine_busy()
            used_by = {"machine": busy - self._busy}
            for name, procs in self.groups().items():
                used, rss, alive = 0.0, 0, 0
                for p in procs:
                    try:
                        with p.oneshot():
                            t = p.cpu_times()
                            total = t.user + t.system
                            created = p.create_time()
                            rss += p.memory_info().rss
                    except psutil.Error:
                        continue
                    alive += 1
                    seen[p.pid] = (created, total)
                    before = self._prev.get(p.pid)
                    if before is not None and before[0] == created:
                        used += total - before[1]
                    elif not first and created >= time.time() - wall:
                        used += total  # born since the last sample
                self.usage[name].processes = max(self.usage[name].processes, alive)
                used_by[name] = used
                row["rss_mib"][name] = round(rss / MIB, 1)
            used_by["others"] = max(used_by["machine"] - sum(used_by[g] for g in GROUPS), 0.0)
            for name, used in used_by.items():
                if not first and wall > 0:
                    self.usage[name].cpu_seconds[self.phase] += used
                    row["cpu_pct"][name] = round(100 * used / wall, 1)
                    if wall >= 0.5 * self.interval:  # a phase switch right after a sample: too short for a rate
                        self.usage[name].cpu_pct[self.phase].append(100 * used / wall)
            self._busy = busy
            if not first:
                self.walls[self.phase] += wall
            self._prev = seen
            self._last = now
            self.samples.append(row)
            return row

    def _ours(self) -> set[int]:
        return {p.pid for procs in self.groups().values() for p in procs}

    def _loop(self) -> None:
        n = 0
        while not self._stop.wait(self.interval):
            self.sample()
            n += 1
            if n % 5 == 0:
                with self._lock:
                    if self.phase == "load":
                        self.others.account(self._ours())

    def start(self) -> None:
        self._thread.start()

    def switch(self, phase: str) -> dict[str, Any]:
        """Close the current phase with a sample and start the next."""
        row = self.sample()
        with self._lock:
            if self.phase == "load":
                self.others.account(self._ours())
                self.top_others = self.others.top(self.walls["load"])
            self.phase = phase
        return row

    def stop(self) -> dict[str, Any]:
        """The last sample (taken once: stopping again returns it)."""
        if not self._stop.is_set():
            self._stop.set()
            if self._thread.is_alive():
                self._thread.join(timeout=5)
            self.sample()
        return dict(self.samples[-1])


# ---- the run --------------------------------------------------------------------------------------------------


@dataclass
class Run:
    cases: int
    concurrency: int
    opened: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    load_seconds: float | None = None
    start_row: dict[str, Any] | None = None
    end_row: dict[str, Any] | None = None
    idle_row: dict[str, Any] | None = None
    listed_before: dict[str, int] = field(default_factory=dict)
    listed_after: dict[str, int] = field(default_factory=dict)
    sqlite: dict[str, float] = field(default_factory=dict)
    metrics_before: dict[str, tuple[float, float]] = field(default_factory=dict)
    metrics_after: dict[str, tuple[float, float]] = field(default_factory=dict)
    interrupted: bool = False
    sampler: Sampler | None = None


HISTOGRAMS = {
    "temporal_workflow_task_schedule_to_start_latency": "workflow task: schedule to start",
    "temporal_workflow_task_execution_latency": "workflow task: execution in the worker",
    "temporal_activity_schedule_to_start_latency": "activity: schedule to start",
    "temporal_activity_execution_latency": "activity: execution in the worker",
    "temporal_activity_succeed_endtoend_latency": "activity: scheduled to completed",
    "temporal_request_latency": "worker's server call",
}
METRIC_LINE = re.compile(r'^(\w+)_(sum|count)(\{[^}]*\})? (\S+)$')


async def scrape(http: httpx.AsyncClient, url: str | None, histograms: dict[str, str] | None = None
                 ) -> dict[str, tuple[float, float]]:
    """Sum and count of the SDK's latency histograms (server calls per operation); empty when metrics are off.
    ``histograms`` maps metric names to labels (default: ``HISTOGRAMS``)."""
    histograms = HISTOGRAMS if histograms is None else histograms
    if url is None:
        return {}
    try:
        r = await http.get(url, timeout=10)
    except httpx.HTTPError:
        return {}
    out: dict[str, list[float]] = {}
    for line in r.text.splitlines() if r.status_code == 200 else []:
        m = METRIC_LINE.match(line)
        if m is None or m.group(1) not in histograms:
            continue
        label = histograms[m.group(1)]
        op = re.search(r'operation="([^"]+)"', m.group(3) or "")
        key = f"{label} {op.group(1)}" if op else label
        acc = out.setdefault(key, [0.0, 0.0])
        acc[0 if m.group(2) == "sum" else 1] += float(m.group(4))
    return {k: (v[0], v[1]) for k, v in out.items()}


def metric_means(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
                 ) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, (total, count) in after.items():
        old = before.get(key, (0.0, 0.0))
        n = count - old[1]
        if n >= 1:
            out[key] = {"mean_ms": round(1000 * (total - old[0]) / n, 1), "count": int(n)}
    return out


async def listed(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, int]:
    """What the API lists for the OCMW from proj_energy_cases: all its energy cases, those in the notice period."""
    out: dict[str, int] = {}
    queries = (("total", {"page_size": "1"}), ("notice_period", {"page_size": "1", "phase": "notice_period"}))
    for name, params in queries:
        r = await http.get("/v1/energy/cases", params=params, headers=headers)
        if r.status_code != 200:
            raise BenchError(f"GET /v1/energy/cases answered {r.status_code}: {r.text[:200]}")
        out[name] = int(r.json()["total"])
    return out


def sqlite_size(db: Path | None) -> dict[str, float]:
    if db is None:
        return {}
    out: dict[str, float] = {}
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db}{suffix}")
        if path.exists():
            out[f"file{suffix}"] = round(path.stat().st_size / MIB, 1)
    return out


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def bench(args: argparse.Namespace, target: Target, token: str, run: Run) -> None:
    """The first Ctrl-C (or SIGTERM) stops sending: the calls in flight finish and are counted, then the report;
    a second one aborts at once."""
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()

    def on_signal() -> None:
        if not run.interrupted:
            run.interrupted = True
            print("\nstopping: no new cases; waiting for the calls in flight (again to abort)", file=sys.stderr)
        elif main_task is not None:
            main_task.cancel()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal)
    try:
        await _bench(args, target, token, run)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def _bench(args: argparse.Namespace, target: Target, token: str, run: Run) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    notice = brussels_today()
    ean_base = args.ean_base if args.ean_base is not None else (time.time_ns() // 1_000_000) % (10**9 - args.cases)
    run_id = uuid.uuid4().hex[:12]
    async with httpx.AsyncClient(base_url=target.api_url, limits=limits, timeout=args.timeout) as http:
        run.listed_before = await listed(http, headers)
        run.metrics_before = await scrape(http, target.worker_metrics)
        sampler = Sampler(target)
        run.sampler = sampler
        run.start_row = sampler.samples[0]
        sampler.start()
        counter = iter(range(args.cases))
        started = time.monotonic()

        def progress() -> None:
            done = run.opened + sum(run.errors.values())
            sampler.done = done
            if done % PROGRESS_EVERY == 0 or done == args.cases:
                elapsed = time.monotonic() - started
                rss = sampler.samples[-1]["rss_mib"].get("worker")
                print(f"{done:>7}/{args.cases}  {done / elapsed:7.1f} cases/s  {elapsed:7.1f} s elapsed  "
                      f"errors {sum(run.errors.values())}  worker RSS {rss} MiB", file=sys.stderr, flush=True)

        async def opener() -> None:
            for i in counter:
                if run.interrupted:
                    return
                body = open_body(i, ean_base, notice)
                t0 = time.perf_counter()
                try:
                    r = await http.post("/v1/energy/cases", json=body,
                                        headers={**headers, "Idempotency-Key": f"bench-{run_id}-{i}"})
                    outcome = str(r.status_code)
                    if r.status_code != 201:
                        run.error_examples.setdefault(outcome, r.text[:300])
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                    run.error_examples.setdefault(outcome, str(exc)[:300] or outcome)
                run.latencies.append(time.perf_counter() - t0)
                if outcome == "201":
                    run.opened += 1
                else:
                    run.errors[outcome] += 1
                progress()

        await asyncio.gather(*(opener() for _ in range(args.concurrency)))
        run.load_seconds = time.monotonic() - started
        run.end_row = sampler.switch("idle")
        run.metrics_after = await scrape(http, target.worker_metrics)
        answered = run.opened + sum(run.errors.values())
        idle = 0.0 if run.interrupted else args.idle
        print(f"{answered} calls answered in {run.load_seconds:.1f} s; idle for {idle:.0f} s …",
              file=sys.stderr, flush=True)
        await asyncio.sleep(idle)
        run.idle_row = sampler.stop()
        run.listed_after = await listed(http, headers)
        run.sqlite = sqlite_size(target.temporal_db)


# ---- the report -----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(), "cpu_model": model,
            "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1), "kernel": platform.release(),
            "python": platform.python_version(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}


def summary(args: argparse.Namespace, target: Target | None, run: Run, info: dict[str, Any],
            stack: OwnStack | None) -> dict[str, Any]:
    lat = sorted(run.latencies)
    answered = run.opened + sum(run.errors.values())
    out: dict[str, Any] = {
        "command": shlex.join([os.path.relpath(sys.executable), *sys.argv]),
        "started_at": info["started_at"], "machine": info["machine"],
        "stack": target.description if target else None,
        "cases_requested": run.cases, "idle_seconds": 0 if run.interrupted else args.idle,
        "concurrency": run.concurrency,
        "interrupted": run.interrupted,
        "cases_opened": run.opened, "calls_answered": answered,
        "errors": dict(run.errors), "error_examples": run.error_examples,
        "load_seconds": round(run.load_seconds, 1) if run.load_seconds else None,
        "throughput_cases_per_s": round(run.opened / run.load_seconds, 1) if run.load_seconds else None,
        "latency_ms": {k: round(v * 1000, 1) if v is not None else None for k, v in
                       (("p50", percentile(lat, 50)), ("p95", percentile(lat, 95)), ("p99", percentile(lat, 99)),
                        ("max", lat[-1] if lat else None), ("mean", statistics.fmean(lat) if lat else None))},
        "listed_before": run.listed_before, "listed_after": run.listed_after,
        "temporal_sqlite_mib": run.sqlite,
        "worker_metrics_during_run": metric_means(run.metrics_before, run.metrics_after),
    }
    s = run.sampler
    if s is not None:
        rss = [row["rss_mib"].get("worker") for row in s.samples if row["phase"] == "load"]
        rss_values = [r for r in rss if r is not None]
        out["worker_rss_mib"] = {
            "start": run.start_row["rss_mib"].get("worker") if run.start_row else None,
            "peak": max(rss_values, default=None),
            "end_of_run": run.end_row["rss_mib"].get("worker") if run.end_row else None,
            "after_idle": run.idle_row["rss_mib"].get("worker") if run.idle_row else None,
        }
        out["temporal_rss_mib"] = {
            "start": run.start_row["rss_mib"].get("temporal") if run.start_row else None,
            "peak": max((row["rss_mib"].get("temporal") or 0 for row in s.samples), default=None),
            "after_idle": run.idle_row["rss_mib"].get("temporal") if run.idle_row else None,
        }
        cpu: dict[str, Any] = {}
        for name, usage in s.usage.items():
            cpu[name] = {"processes": usage.processes}
            for phase in ("load", "idle"):
                wall = s.walls[phase]
                cpu[name][phase] = {
                    "avg": round(100 * usage.cpu_seconds[phase] / wall, 1) if wall else None,
                    "peak": round(max(usage.cpu_pct[phase]), 1) if usage.cpu_pct[phase] else None,
                    "cpu_seconds": round(usage.cpu_seconds[phase], 1)}
        out["cpu_pct_of_one_core"] = cpu
        out["top_other_processes_during_run"] = s.top_others
        out["samples"] = s.samples
    if stack is not None:
        out["own_stack"] = {"healthy_after_s": round(stack.healthy_after, 1) if stack.healthy_after else None,
                            "writes_per_minute": stack.writes_per_minute, "settings": stack.extra_env,
                            "stopped": stack.stopped}
    return out


def fmt(value: Any, unit: str = "") -> str:
    return "–" if value is None else f"{value}{unit}"


def render(out: dict[str, Any]) -> str:
    m = out["machine"]
    lines = [
        "",
        f"Vangnet energy load benchmark{'  (INTERRUPTED)' if out['interrupted'] else ''}",
        f"  machine          {m['nproc']} CPUs ({m['cpu_model'] or 'unknown model'}), {m['memory_gib']} GiB RAM, "
        f"load average at start {m['loadavg_at_start']}",
        f"  stack            {out['stack']}",
        f"  command          {out['command']}",
        f"  cases opened     {out['cases_opened']} of {out['cases_requested']} "
        f"(answered {out['calls_answered']}, concurrency {out['concurrency']})",
        "  errors           " + (", ".join(f"{k}: {v}" for k, v in sorted(out["errors"].items())) or "none"),
    ]
    for status, text in sorted(out["error_examples"].items()):
        lines.append(f"    e.g. {status}: {text}")
    lat = out["latency_ms"]
    lines += [
        f"  throughput       {fmt(out['throughput_cases_per_s'])} cases/s over {fmt(out['load_seconds'])} s",
        f"  open latency     p50 {fmt(lat['p50'])} ms, p95 {fmt(lat['p95'])} ms, p99 {fmt(lat['p99'])} ms, "
        f"max {fmt(lat['max'])} ms",
    ]
    if "worker_rss_mib" in out:
        w = out["worker_rss_mib"]
        t = out["temporal_rss_mib"]
        lines += [
            f"  worker RSS       start {fmt(w['start'])} MiB, peak {fmt(w['peak'])} MiB, end of run "
            f"{fmt(w['end_of_run'])} MiB, after {out['idle_seconds']:.0f} s idle {fmt(w['after_idle'])} MiB",
            f"  Temporal RSS     start {fmt(t['start'])} MiB, peak {fmt(t['peak'])} MiB, after idle "
            f"{fmt(t['after_idle'])} MiB",
            "  CPU, % of one core   during the run: avg / peak      idle: avg / peak   (CPU s in the run)",
        ]
        labels = {"temporal": "Temporal server", "postgres": "PostgreSQL (sum)", "api": "API", "worker": "worker",
                  "dev_rest": "dev + simulators", "bench": "this script", "others": "other processes",
                  "machine": "machine, all cores"}
        for name, label in labels.items():
            c = out["cpu_pct_of_one_core"][name]
            lines.append(f"    {label:<18} {fmt(c['load']['avg']):>8} / {fmt(c['load']['peak']):<8}        "
                         f"{fmt(c['idle']['avg']):>6} / {fmt(c['idle']['peak']):<8}  ({c['load']['cpu_seconds']} s"
                         f"{', up to ' + str(c['processes']) + ' processes' if name == 'postgres' else ''})")
        lines.append(f"    (of {out['machine']['nproc'] * 100} % for the whole machine; 'other processes' are the rest "
                     "of the machine, not Vangnet's)")
        for other in out["top_other_processes_during_run"][:5]:
            lines.append(f"      other: {other['avg_pct']:>5} % ({other['cpu_seconds']} s)  pid {other['pid']}  "
                         f"{other['command'][:70]}")
    before, after = out["listed_before"], out["listed_after"]
    lines += [
        f"  cases listed     before: {fmt(before.get('total'))} ({fmt(before.get('notice_period'))} in notice period);"
        f" after: {fmt(after.get('total'))} ({fmt(after.get('notice_period'))} in notice period)",
        "  Temporal SQLite  " + (", ".join(f"{k} {v} MiB" for k, v in out["temporal_sqlite_mib"].items()) or "–"),
    ]
    if out["worker_metrics_during_run"]:
        lines.append("  where the time goes (worker's Temporal SDK metrics during the run: mean, count)")
        for label, m in out["worker_metrics_during_run"].items():
            lines.append(f"    {label:<56} {m['mean_ms']:>7} ms  × {m['count']}")
    stack = out.get("own_stack")
    if stack and stack.get("stopped"):
        st = stack["stopped"]
        lines.append(f"  vangnet dev      healthy after {stack['healthy_after_s']} s; stopped in {st['seconds']} s "
                     f"(exit {st['exit_code']}, {'clean' if st['clean'] else 'NOT clean'}); "
                     f"writes/minute limit {stack['writes_per_minute']}")
    return "\n".join(lines)


# ---- main -----------------------------------------------------------------------------------------------------


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=10_000, help="energy cases to open (default 10000)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--api", help="use the stack running at this URL instead of starting one")
    p.add_argument("--worker-pid", type=int, help="with --api: the worker process (default: found with psutil)")
    p.add_argument("--api-pid", type=int, help="with --api: the API process (default: the port's listener)")
    p.add_argument("--temporal-pid", type=int, help="with --api: the Temporal server process")
    p.add_argument("--postgres-pid", type=int, help="with --api: the PostgreSQL postmaster")
    p.add_argument("--token", help="with --api: an OCMW token for ocmw-44021 (default: vangnet token)")
    p.add_argument("--json", type=Path, help="also write the figures and per-second samples here as JSON")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per open call (default 60)")
    p.add_argument("--idle", type=float, default=IDLE_SECONDS, help="idle seconds after the run (default 10)")
    p.add_argument("--ean-base", type=int, help="first EAN serial (default: from the clock)")
    p.add_argument("--writes-per-minute", type=int, default=1_000_000,
                   help="own stack only: the API's per-token write limit (default 1000000)")
    p.add_argument("--keep", action="store_true", help="own stack only: keep its temp dir (dev.log, var/)")
    p.add_argument("--set", action="append", default=[], metavar="VANGNET_X=VALUE",
                   help="own stack only: a setting for vangnet dev, e.g. VANGNET_DATABASE_POOL_MAX=20 (repeatable)")
    args = p.parse_args(argv)
    if args.cases < 1 or args.concurrency < 1:
        p.error("--cases and --concurrency must be at least 1")
    if any("=" not in kv for kv in args.set):
        p.error("--set takes VARIABLE=VALUE")
    if args.cases >= 10**9:
        p.error("--cases must be below 10**9 (the EAN serial has nine digits)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A shell that starts us in the background ignores SIGINT, and an ignored signal stays ignored in children:
    # install Python's handler so Ctrl-C works and our `vangnet dev` gets a real one; SIGTERM/SIGHUP act alike.
    install_ctrl_c()
    info = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    run = Run(cases=args.cases, concurrency=args.concurrency)
    stack: OwnStack | None = None
    target: Target | None = None
    status = 0
    try:
        if args.api:
            target = attach(args)
        else:
            stack = OwnStack(args.writes_per_minute, args.keep, dict(kv.split("=", 1) for kv in args.set))
            print(f"starting vangnet dev in {stack.root} …", file=sys.stderr, flush=True)
            target = stack.start()
        print(f"stack: {target.description}; worker pid {target.worker.pid}, API pid "
              f"{target.api.pid if target.api else '?'}, Temporal pid {target.temporal.pid if target.temporal else '?'}"
              f", postmaster pid {target.postmaster.pid if target.postmaster else '?'}", file=sys.stderr, flush=True)
        token = args.token or issue_token(target.env)
        try:
            asyncio.run(bench(args, target, token, run))
        finally:
            install_ctrl_c()  # the loop's handlers are gone with it (SIGTERM would be back to its default)
        status = 130 if run.interrupted else 0 if run.opened == args.cases else 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        run.interrupted = True
        status = 130
        print("\ninterrupted", file=sys.stderr)
    except (BenchError, psutil.Error, httpx.HTTPError, OSError) as exc:
        status = 1
        print(f"bench_energy_load: {type(exc).__name__ if not isinstance(exc, BenchError) else 'error'}: {exc}",
              file=sys.stderr)
    finally:
        if run.sampler is not None:
            run.sampler.stop()
        if stack is not None:
            with signals_ignored():
                stack.stop()
    if run.sampler is not None or run.opened or run.errors:
        out = summary(args, target, run, info, stack)
        print(render(out), flush=True)
        if args.json:
            args.json.write_text(json.dumps(out, indent=1, default=str) + "\n")
            print(f"\nJSON written to {args.json}", file=sys.stderr)
    if stack is not None:
        if stack.stopped is not None and not stack.stopped["clean"]:
            status = status or 1
        stack.cleanup()
    return status


if __name__ == "__main__":
    sys.exit(main())
