"""What explains the figures of ``scripts/bench.py``, and its one table: CPU per process group, waiting for the
stack to go idle between measurements, the worker's SDK metrics, the append lock's queue, projection lag.

CPU is taken from two snapshots per measurement, not sampled by a thread: a sampler in this process would hold the
GIL for tens of milliseconds now and then, and show up in the read latencies it is meant to explain.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
from bench_measure import HISTOGRAMS, machine_busy, scrape
from bench_stack import Target

GROUPS = ("temporal", "worker", "api", "postgres", "dev_rest", "bench")
LABELS = {"temporal": "Temporal", "worker": "worker", "api": "API", "postgres": "PostgreSQL",
          "dev_rest": "simulators", "bench": "bench", "others": "others", "machine": "machine"}


class CpuMeter:
    """CPU seconds of each group of the stack's processes during each measurement, as % of one core."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.me = psutil.Process()
        self.phases: dict[str, dict[str, Any]] = {}

    def _groups(self) -> dict[str, list[psutil.Process]]:
        t = self.target
        pg: list[psutil.Process] = []
        if t.postmaster is not None:
            with contextlib.suppress(psutil.Error):
                pg = [t.postmaster, *t.postmaster.children(recursive=True)]
        groups = {"temporal": [t.temporal] if t.temporal else [], "worker": list(t.workers),
                  "api": [t.api] if t.api else [], "postgres": pg, "bench": [self.me]}
        taken = {p.pid for procs in groups.values() for p in procs}
        rest: list[psutil.Process] = []
        if t.dev is not None:
            with contextlib.suppress(psutil.Error):
                rest = [p for p in [t.dev, *t.dev.children(recursive=True)] if p.pid not in taken]
        return {**groups, "dev_rest": rest}

    def _snapshot(self) -> dict[str, Any]:
        procs: dict[str, dict[int, tuple[float, float]]] = {}
        for name, members in self._groups().items():
            seen: dict[int, tuple[float, float]] = {}
            for p in members:
                try:
                    with p.oneshot():
                        t = p.cpu_times()
                        seen[p.pid] = (p.create_time(), t.user + t.system)
                except psutil.Error:
                    continue
            procs[name] = seen
        return {"mono": time.monotonic(), "wall": time.time(), "busy": machine_busy(), "procs": procs}

    @contextlib.contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        before = self._snapshot()
        try:
            yield
        finally:
            after = self._snapshot()
            wall = after["mono"] - before["mono"]
            used: dict[str, float] = {}
            for name, seen in after["procs"].items():
                total = 0.0
                for pid, (created, cpu) in seen.items():
                    old = before["procs"].get(name, {}).get(pid)
                    if old is not None and old[0] == created:
                        total += cpu - old[1]
                    elif created >= before["wall"] - 1:  # born during the measurement
                        total += cpu
                used[name] = total
            used["machine"] = after["busy"] - before["busy"]
            used["others"] = max(used["machine"] - sum(used[g] for g in GROUPS), 0.0)
            self.phases[phase] = {"seconds": round(wall, 1),
                                  "cpu_pct_of_one_core": {k: round(100 * v / wall, 1) if wall > 0 else None
                                                          for k, v in used.items()},
                                  "cpu_seconds": {k: round(v, 2) for k, v in used.items()}}


IDLE_PCT = {"worker": 10.0, "api": 10.0, "temporal": 30.0}  # % of one core over a second


async def settle(target: Target, most: float = 60.0) -> float:
    """Wait until the worker and the API are idle and Temporal nearly so, and return how long that took: a
    backlog one measurement leaves behind (requests a saturated API still works on) must not be billed to the
    next one."""
    procs = {"worker": list(target.workers), "api": [target.api] if target.api else [],
             "temporal": [target.temporal] if target.temporal else []}

    def used() -> dict[str, float]:
        """CPU seconds per group (the workers together); a group none of whose processes could be read is left
        out."""
        out: dict[str, float] = {}
        for name, group in procs.items():
            for p in group:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    out[name] = out.get(name, 0.0) + t.user + t.system
        return out

    started = time.monotonic()
    before, at = used(), started
    while True:
        await asyncio.sleep(1.0)
        now, t = used(), time.monotonic()
        busy = {n: 100 * (now[n] - before.get(n, now[n])) / (t - at) for n in now}
        if all(busy[n] < IDLE_PCT[n] for n in busy) or t - started > most:
            return t - started
        before, at = now, t


# ---- the worker's Temporal SDK metrics ------------------------------------------------------------------------

SDK_HISTOGRAMS = {**HISTOGRAMS,  # the product appends through local activities
                  "temporal_local_activity_execution_latency": "local activity: execution in the worker",
                  "temporal_local_activity_succeed_endtoend_latency": "local activity: scheduled to completed",
                  "vangnet_worker_gc_pause_seconds": "worker GC pause, generation"}  # worker/gc_pauses.py
FULL_COLLECTION = "worker GC pause, generation 2"


async def scrape_sdk(http: httpx.AsyncClient, urls: list[str]) -> dict[str, tuple[float, float]]:
    """``bench_measure.scrape`` with the local-activity histograms too."""
    return await scrape(http, urls, SDK_HISTOGRAMS)


# ---- projection lag -------------------------------------------------------------------------------------------

LAG_SQL = """
SELECT count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99,
       max(lag) AS max
FROM (SELECT extract(epoch FROM recorded_at - occurred_at)::float8 AS lag
      FROM domain_events WHERE position > $1 AND position <= $2) AS appended
"""


class LockWatch:
    """Every 50 ms, how many appends wait for the append lock: appends are serialised by one advisory lock
    (``pg_advisory_xact_lock(APPEND_LOCK)`` in ``vangnet/eventstore.py``), so its waiters are the queue of appends.
    Should that name be gone from the product, every advisory lock's waiters are counted instead."""

    ANY = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ONE = ANY + " AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1"  # a bigint key, split in two

    def __init__(self, dsn: str, interval: float = 0.05) -> None:
        self.dsn = dsn
        self.interval = interval
        self.counts: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self.error: str | None = None
        try:
            from vangnet.storage.projections import APPEND_LOCK
            self.key: int | None = int(APPEND_LOCK)
        except Exception:  # the product is changing under the harness
            self.key = None

    async def _watch(self) -> None:
        import asyncpg

        args = [] if self.key is None else [self.key >> 32, self.key & 0xFFFFFFFF]
        try:
            conn = await asyncpg.connect(self.dsn, timeout=10)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return
        try:
            while True:
                self.counts.append(int(await conn.fetchval(self.ANY if self.key is None else self.ONE, *args)))
                await asyncio.sleep(self.interval)
        except asyncpg.PostgresError as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            await conn.close()

    async def __aenter__(self) -> LockWatch:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def summary(self) -> dict[str, Any]:
        n = len(self.counts)
        return {"lock": self.key if self.key is not None else "any advisory lock", "samples": n,
                "mean_waiting": round(sum(self.counts) / n, 2) if n else None,
                "max_waiting": max(self.counts, default=None),
                "share_with_waiters": round(sum(1 for c in self.counts if c) / n, 2) if n else None,
                **({"error": self.error} if self.error else {})}


async def log_position(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(position), 0) FROM domain_events"))
    finally:
        await conn.close()


async def projection_lag(dsn: str, marks: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """``recorded_at - occurred_at`` of the events each measurement appended (positions between its marks)."""
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    out: dict[str, Any] = {}
    try:
        for phase, (start, end) in marks.items():
            row = await conn.fetchrow(LAG_SQL, start, end)
            out[phase] = {"events": int(row["n"]),
                          **{f"{k}_ms": round(float(row[k]) * 1000, 1) if row[k] is not None else None
                             for k in ("p50", "p99", "max")}}
    finally:
        await conn.close()
    return out


# ---- the table ------------------------------------------------------------------------------------------------

BUSY_PCT = 25.0  # CPU of other processes (% of one core) in any measurement above which the run was not quiet
DRIFT = 0.2  # the limit at the end may differ this much from the one at the start before ratios are doubtful
TARGETS = {"energy": 0.6, "read_p99_ms": 20.0, "read_rate": 500.0, "sign_p99_ms": 150.0, "lag_p99_ms": 1000.0}


def _num(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def _pair(d: dict[str, Any] | None) -> str:
    return "–" if not d else f"{_num(d.get('p50_ms'))} / {_num(d.get('p99_ms'))}"


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("pass" if ok else "MISS")


def _errs(d: dict[str, Any] | None) -> str:
    n = sum((d or {}).get("errors", {}).values())
    return f", {n} errors" if n else ""


def _slowest(r: dict[str, Any]) -> list[str]:
    """When each signature measurement's slowest signatures started: within a fraction of a second of each other,
    the whole stack stalled; spread out, they queued."""
    lines = []
    for key, name in (("sign_paced", "paced"), ("sign_in_step", "in step")):
        slow = sorted((r.get(key) or {}).get("slowest") or [], key=lambda x: x["at_s"])
        if slow:
            lines.append(f"  {name:<16}" + ", ".join(f"{x['at_s']:.1f} s {x['party']} {x['ms']:.0f} ms" for x in slow))
    return ["", "The slowest signatures, by when they started (seconds into the measurement):", *lines] if lines else []


def rows(r: dict[str, Any]) -> list[list[str]]:
    """measurement, figure, unit, ratio to limit, target, result."""
    limit = r.get("limit") or {}
    noop = (limit.get("noop") or {}).get("per_s")
    steps = limit.get("steps") or {}
    events = steps.get("events_per_s")

    def ratio(x: float | None, of: float | None = noop, name: str = "no-op") -> str:
        return "–" if x is None or not of else f"{x / of:.3f} × {name}"

    out = [["LIMIT: no-op workflows", _num(noop), "workflows/s", "1 (the limit)", "", ""],
           [f"LIMIT: history events ({steps.get('activities_each', '?')} activities a workflow, "
            f"{steps.get('history_events', '?')} events)", _num(events, 0), "events/s",
            "1 (the limit)", "", ""]]
    again = ((r.get("limit_end") or {}).get("noop") or {}).get("per_s")
    if again:
        out.append(["LIMIT again at the end: no-op workflows", _num(again), "workflows/s", ratio(again),
                    f"within {DRIFT:.0%}", _verdict(abs(again / noop - 1) <= DRIFT) if noop else "–"])
    energy = r.get("energy")
    if energy:
        rate = energy.get("per_s")
        ok = rate is not None and noop is not None and rate >= TARGETS["energy"] * noop
        out.append([f"energy opens ({energy['requested']} at {energy['concurrency']}{_errs(energy)})", _num(rate),
                    "cases/s", ratio(rate), f"≥ {TARGETS['energy']} × no-op", _verdict(ok if noop else None)])
    life = r.get("lifecycles")
    if life:
        rate = life.get("per_s")
        out.append([f"FBU lifecycles ({life['requested']} at {life['concurrency']}{_errs(life)})", _num(rate, 2),
                    "lifecycles/s", ratio(rate), "", ""])
        per = life.get("history_events")
        if rate and per:
            out.append([f"  as history events ({per} a lifecycle)", _num(rate * per, 0), "events/s",
                        ratio(rate * per, events, "events"), "", ""])
    for read in r.get("reads") or []:
        offered = read["offered_per_s"]
        target = offered >= TARGETS["read_rate"]
        p99 = read.get("p99_ms")
        out.append([f"case read at {offered:g}/s offered (achieved {_num(read.get('achieved_per_s'))}/s"
                    f"{_errs(read)})", _pair(read), "ms p50 / p99", "",
                    f"p99 < {TARGETS['read_p99_ms']:g} ms" if target else "",
                    _verdict(p99 is not None and p99 < TARGETS["read_p99_ms"] and not read["errors"])
                    if target else ""])
    floor = r.get("step_floor")
    floor_p99 = (floor or {}).get("p99_ms")
    if floor:
        out.append([f"LIMIT: an empty step at the signers' pace (one local activity, {floor['n']} steps"
                    f"{_errs(floor)})", _pair(floor), "ms p50 / p99", "1 (the floor)", "", ""])
    paced = r.get("sign_paced")
    if paced:
        p99 = paced.get("p99_ms")
        out.append([f"sign ({paced['clients']} cases in flight, {paced['pause_s']:g} s between a signer's clicks, "
                    f"{_num(paced.get('per_s'))}/s, {paced['n']} signatures{_errs(paced)})", _pair(paced),
                    "ms p50 / p99", ratio(p99, floor_p99, "floor p99"), f"p99 < {TARGETS['sign_p99_ms']:g} ms",
                    _verdict(p99 is not None and p99 < TARGETS["sign_p99_ms"])])
        out.extend(_by_party(paced))
    in_step = r.get("sign_in_step")
    if in_step:
        out.append([f"sign in step (the same, every signer at the same signature: {in_step['clients']} claiming "
                    f"signatures every {3 * in_step['pause_s']:g} s, {in_step['n']} signatures{_errs(in_step)})",
                    _pair(in_step), "ms p50 / p99", "", "", ""])
        out.extend(_by_party(in_step))
    sign = r.get("sign")
    if sign:
        out.append([f"sign ({sign['clients']} cases in flight, no pause: saturated, {sign['n']} signatures"
                    f"{_errs(sign)})", _pair(sign), "ms p50 / p99", "", "", ""])
        out.append([f"  as signatures per second (its latency is {sign['clients']} ÷ this)", _num(sign.get("per_s")),
                    "signatures/s", ratio(sign.get("per_s")), "", ""])
    lag = (r.get("projection_lag") or {}).get("run")
    if lag:
        p99 = lag.get("p99_ms")
        out.append([f"projection lag ({lag['events']} events appended)", _pair(lag), "ms p50 / p99", "",
                    f"p99 < {TARGETS['lag_p99_ms'] / 1000:g} s",
                    _verdict(p99 is not None and p99 < TARGETS["lag_p99_ms"])])
        for name, part in (r.get("projection_lag") or {}).items():
            if name != "run" and isinstance(part, dict) and part.get("events"):
                what = "sign saturated" if name == "sign" else name
                out.append([f"  appended during {what} ({part['events']})", _pair(part), "ms p50 / p99", "", "",
                            ""])
    ryw = r.get("read_your_writes")
    if ryw:
        out.append([f"read-your-writes ({ryw['steps']} steps, max {_num(ryw.get('max_ms'))} ms{_errs(ryw)})",
                    f"{ryw['shown_by_first_read']} / {ryw['steps']}", "shown by the first read", "", "all",
                    _verdict(ryw["steps"] > 0 and ryw["shown_by_first_read"] == ryw["steps"])])
    return out


def _by_party(figures: dict[str, Any]) -> list[list[str]]:
    return [[f"  the {party}'s signature" + (" (the third: in force, and the claim)" if party == "ocmw" else ""),
             _pair(party_figures), "ms p50 / p99", "", "", ""]
            for party, party_figures in (figures.get("by_party") or {}).items()]


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    table = [["measurement", "figure", "unit", "ratio to limit", "target", "result"], *rows(r)]
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    right = {1}
    lines = ["", f"Vangnet benchmark, {r['started_at']}: {m['nproc']} CPUs ({m['cpu_model'] or 'unknown'}), "
             f"{m['memory_gib']} GiB, load average at start {m['loadavg_at_start']}"]
    for n, row in enumerate(table):
        lines.append("  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row))
                     .rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    others = {phase: d["cpu_pct_of_one_core"].get("others") or 0.0 for phase, d in (r.get("cpu") or {}).items()}
    if any(row[0].startswith("LIMIT again") and row[5] == "MISS" for row in table):
        same = abs(others.get("limit", 0.0) - others.get("limit again", 100.0)) < 10
        lines.append(f"  ! the limit moved more than {DRIFT:.0%} during the run; " + (
            "other processes took the same CPU both times, so the difference is the Temporal server's own (what "
            "the run left in it, or the noise of a short measurement); ratios use the first" if same else
            "other processes took different CPU each time: the machine's load changed, and the ratios are "
            "uncertain by about as much"))
    if others and max(others.values()) > BUSY_PCT:
        busiest = max(others, key=lambda k: others[k])
        lines.append(f"  ! a shared machine: other processes used {min(others.values()):.0f}–{others[busiest]:.0f} % "
                     f"of a core (most during {busiest}); re-run on a quiet one before trusting a ratio")
    for phase, text in (r.get("errors") or {}).items():
        lines.append(f"  ! {phase}: {text}")
    cpu = r.get("cpu") or {}
    if cpu:
        lines += ["", "CPU during each measurement, % of one core (the machine has "
                  f"{m['nproc'] * 100} %; 'bench' is this process, with the limit's worker)"]
        names = (*GROUPS, "others", "machine")
        lines.append(f"  {'':<16}" + "".join(f"{LABELS[g]:>11}" for g in names))
        for phase, d in cpu.items():
            pct = d["cpu_pct_of_one_core"]
            lines.append(f"  {phase:<16}" + "".join(f"{_num(pct.get(g)):>11}" for g in names))
    waits = {k: v for k, v in (r.get("append_lock") or {}).items() if v.get("samples")}
    if waits:
        lines += ["", "Appends waiting for the append lock (sampled every 50 ms): mean / max / share of the time"]
        lines += [f"  {phase:<16}{_num(w['mean_waiting'], 2):>8} / {w['max_waiting']:<3} / "
                  f"{w['share_with_waiters']:.0%}" for phase, w in waits.items()]
    lines += _slowest(r)
    full = {k: v[FULL_COLLECTION] for k, v in (r.get("worker_sdk_metrics") or {}).items() if FULL_COLLECTION in v}
    if full:
        lines += ["", "The worker's full garbage collections (generation 2, each stops the whole worker): count / mean"]
        lines += [f"  {phase:<16}{c['count']:>8} / {_num(c['mean_ms'], 0)} ms" for phase, c in full.items()]
    return "\n".join(lines)
