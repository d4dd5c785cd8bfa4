"""The figures of one energy load run: what the run recorded, and the summary and text report made from it.

Kept apart from the driver so that the arithmetic (percentiles, CPU averages per phase, RSS peaks) and the layout
of the printed report can be read and changed without the code that starts the stack and sends the load.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench_measure import Sampler, metric_means
from bench_stack import OwnStack, Target


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



# ---- the report -----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]



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

