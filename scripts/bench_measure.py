"""What the energy load benchmark measures besides the calls themselves, and what ``scripts/bench.py`` reuses.

Every second, in a thread, the CPU and RSS of each group of the stack's processes (and of everything else on the
machine, since a shared machine skews every figure); the machine itself; the worker's Temporal SDK latency
histograms from its Prometheus endpoint; and the size of the Temporal server's SQLite file.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from bench_stack import Target

MIB = 1024 * 1024
GROUPS = ("worker", "temporal", "postgres", "api", "dev_rest", "bench")  # watched; also "machine", "others"


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
        watched = {"worker": list(t.workers), "temporal": [t.temporal] if t.temporal else [], "postgres": pg,
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


HISTOGRAMS = {
    "temporal_workflow_task_schedule_to_start_latency": "workflow task: schedule to start",
    "temporal_workflow_task_execution_latency": "workflow task: execution in the worker",
    "temporal_activity_schedule_to_start_latency": "activity: schedule to start",
    "temporal_activity_execution_latency": "activity: execution in the worker",
    "temporal_activity_succeed_endtoend_latency": "activity: scheduled to completed",
    "temporal_request_latency": "worker's server call",
}
METRIC_LINE = re.compile(r'^(\w+)_(sum|count)(\{[^}]*\})? (\S+)$')


async def scrape(http: httpx.AsyncClient, urls: list[str], histograms: dict[str, str] | None = None
                 ) -> dict[str, tuple[float, float]]:
    """Sum and count of the SDK's latency histograms (server calls per operation), over every worker's endpoint;
    empty when metrics are off. ``histograms`` maps metric names to labels (default: ``HISTOGRAMS``)."""
    histograms = HISTOGRAMS if histograms is None else histograms
    out: dict[str, list[float]] = {}
    for url in urls:
        try:
            r = await http.get(url, timeout=10)
        except httpx.HTTPError:
            continue
        _add_histograms(out, r.text if r.status_code == 200 else "", histograms)
    return {k: (v[0], v[1]) for k, v in out.items()}


def _add_histograms(out: dict[str, list[float]], text: str, histograms: dict[str, str]) -> None:
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if m is None or m.group(1) not in histograms:
            continue
        label = histograms[m.group(1)]
        op = re.search(r'(operation|generation)="([^"]+)"', m.group(3) or "")
        key = f"{label} {op.group(2)}" if op else label
        acc = out.setdefault(key, [0.0, 0.0])
        acc[0 if m.group(2) == "sum" else 1] += float(m.group(4))


def metric_means(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
                 ) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, (total, count) in after.items():
        old = before.get(key, (0.0, 0.0))
        n = count - old[1]
        if n >= 1:
            out[key] = {"mean_ms": round(1000 * (total - old[0]) / n, 1), "count": int(n)}
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

