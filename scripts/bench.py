"""One benchmark run of the embedded stack, every figure next to the limit measured in the same run (``make bench``).

    .venv/bin/python scripts/bench.py [--quick] [--json FILE] [--profile DIR] [--set VANGNET_X=VALUE] [--keep]

It starts its own ``vangnet dev`` (``bench_stack.OwnStack``: a fresh var dir under /tmp, free ports, the
API's write limit raised) and measures, in this order:

1. the LIMIT: no-op workflows/s and history events/s of the stack's Temporal server, run by a worker in this
   process with the product worker's tuning (``bench_limit``);
2. energy opens/s, ``POST /v1/energy/cases`` with 16 clients;
3. whole FBU lifecycles/s with 8 clients (open → agreement → three signatures → claim approved → paid → stable
   housing → tranche 2 approved → paid);
4. case-document read latency at an offered open-loop rate of 100, 200 and 500 requests/s (``bench_reads``);
5. signature latency with 20 cases in flight: paced (each signer waits ``--sign-pause`` after an answer, the
   signers start spread over one case's three signatures: the target's measurement), in step (the same, all
   signers at the same signature at the same time: a burst of claiming signatures every third pause) and
   saturated (no pause: the stack's signatures/s, whose latency is the queue);
6. read-your-writes of the case document after each step, and projection lag (``recorded_at - occurred_at`` of
   every event the run appended);
7. the no-op limit again: how much the machine changed during the run (the table warns above 20 %).

Progress goes to stderr; the table to stdout: throughput as a ratio to the no-op workflows/s of this run (so a
noisy machine moves both), latencies against their targets. Comparing runs means comparing ratios. ``--json``
writes every figure. Exit status 0 when every measurement ran (a missed target is a result, not a failure), 1
when one could not, 130 when interrupted; the stack is stopped in every case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench_limit
import httpx
import psutil
from bench_load import Api, LoadError, energy_opens, lifecycles, read_your_writes, sign_latency, sign_setup
from bench_measure import machine, metric_means
from bench_reads import RawGets, open_loop
from bench_report import CpuMeter, LockWatch, log_position, projection_lag, render, scrape_sdk, settle
from bench_stack import VANGNET, BenchError, OwnStack, Target, install_ctrl_c, issue_token, signals_ignored


@dataclass(frozen=True)
class Counts:
    """How much of each measurement: the full run stays within about 4 minutes on 2 cores, well under 10."""

    noops: int = 600
    step_workflows: int = 48
    steps: int = 20
    energy: int = 400
    lifecycles: int = 64
    read_seconds: float = 10.0
    sign_cases: int = 80  # per signature measurement
    ryw_cases: int = 3


FULL = Counts()
QUICK = Counts(noops=150, step_workflows=16, energy=80, lifecycles=8, read_seconds=3.0, sign_cases=20, ryw_cases=1)


def token(env: dict[str, str], role: str) -> str:
    result = subprocess.run([*VANGNET, "token", "--role", role], env=env, capture_output=True, text=True,  # noqa: S603
                            timeout=60, check=False)
    if result.returncode != 0 or not result.stdout.strip():
        raise BenchError(f"'vangnet token --role {role}' failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def database_dsn(target: Target, var: Path) -> str:
    """The DSN ``vangnet dev`` gave its workers; else the embedded server's socket under the var dir."""
    try:
        dsn = target.workers[0].environ().get("VANGNET_DATABASE_URL")
    except psutil.Error:
        dsn = None
    return dsn or f"postgresql://postgres:@/vangnet?host={var / 'pg'}"


def profilers(target: Target, out: Path | None, phase: str, api_only: bool = False
              ) -> list[subprocess.Popen[bytes]]:
    """py-spy on each worker and the API (``DIR/worker-PID-PHASE.svg``, ``DIR/api-PHASE.svg``) during a phase, when
    it is installed (it is no dependency)."""
    if out is None:
        return []
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("--profile: py-spy is not installed; no profiles", file=sys.stderr)
        return []
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    workers = [] if api_only else [(f"worker-{p.pid}", p) for p in target.workers]
    for name, proc in [*workers, ("api", target.api)]:
        if proc is not None:
            procs.append(subprocess.Popen([spy, "record", "--pid", str(proc.pid), "--nonblocking",  # noqa: S603
                                           "--output", str(out / f"{name}-{phase}.svg")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def stop_profilers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()


class Run:
    """The measurements in order; one that fails is recorded in ``errors`` and the next one still runs."""

    def __init__(self, args: argparse.Namespace, target: Target, var: Path, results: dict[str, Any]) -> None:
        self.args = args
        self.n = QUICK if args.quick else FULL
        self.target = target
        self.dsn = database_dsn(target, var)
        self.r = results
        self.r["errors"] = {}
        self.r["settled_s"] = {}
        self.r["append_lock"] = {}
        self.cpu = CpuMeter(target)
        self.r["cpu"] = self.cpu.phases
        self.sdk: dict[str, Any] = {}
        self.r["worker_sdk_metrics"] = self.sdk
        self.started = time.monotonic()

    def step(self, title: str) -> None:
        print(f"[{time.monotonic() - self.started:5.0f} s] {title}", file=sys.stderr, flush=True)

    async def settle(self, before: str) -> None:
        waited = await settle(self.target)
        self.r["settled_s"][before] = round(waited, 1)
        if waited > 3:
            print(f"  waited {waited:.0f} s for the stack to go idle", file=sys.stderr, flush=True)

    async def phase(self, name: str, title: str, work: Awaitable[Any], appends: bool = False) -> Any:
        """One measurement: settle first, then CPU and SDK metrics around it (and the append lock's queue when
        it appends); an exception is the measurement's error, the run goes on."""
        await self.settle(name)
        self.step(title)
        metrics = self.target.worker_metrics
        locks = LockWatch(self.dsn)
        async with httpx.AsyncClient() as http:
            before = await scrape_sdk(http, metrics)
            try:
                with self.cpu.measure(name):
                    if not appends:
                        return await work
                    async with locks:
                        return await work
            except (LoadError, BenchError, bench_limit.LimitError) as exc:
                self.r["errors"][name] = str(exc)
                print(f"  {name} failed: {exc}", file=sys.stderr, flush=True)
                return None
            except Exception as exc:  # the product is changing under the harness: say what broke, go on
                self.r["errors"][name] = f"{type(exc).__name__}: {exc}"
                print(f"  {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                return None
            finally:
                self.sdk[name] = metric_means(before, await scrape_sdk(http, metrics))
                if appends:
                    self.r["append_lock"][name] = locks.summary()

    async def mark(self) -> int | None:
        try:
            return await log_position(self.dsn)
        except Exception as exc:
            self.r["errors"].setdefault("event log", f"cannot read domain_events at {self.dsn}: {exc}")
            return None

    async def all(self, ocmw: str, wv: str) -> None:
        n, env = self.n, self.target.env
        self.r["limit"] = await self.phase("limit", "1. the limit: no-op and K-activity workflows",
                                           bench_limit.measure(env, n.noops, n.step_workflows, n.steps, 16))
        api = Api(self.target.api_url, ocmw, wv, poll=self.args.poll, timeout=self.args.wait)
        marks: dict[str, int | None] = {"start": await self.mark()}
        try:
            self.r["energy"] = await self.phase("energy", "2. energy opens", energy_opens(api, n.energy, 16),
                                                appends=True)
            marks["energy"] = await self.mark()
            spies = profilers(self.target, self.args.profile, "lifecycles")
            try:
                life = await self.phase("lifecycles", "3. FBU lifecycles", lifecycles(api, n.lifecycles, 8),
                                      appends=True)
            finally:
                stop_profilers(spies)
            marks["lifecycles"] = await self.mark()
            self.r["lifecycles"] = life
            if life and life["case_ids"]:
                life["history_events"] = await self.lifecycle_events(api, life["case_ids"][0])
            await self.reads(ocmw, (life or {}).get("case_ids") or [])
            ready = await self.phase("sign set-up", f"5. {3 * n.sign_cases} cases with an agreement, to sign",
                                     sign_setup(api, 3 * n.sign_cases), appends=True)
            self.r["sign_setup"] = ready
            marks["sign set-up"] = await self.mark()
            if ready and len(ready["case_ids"]) >= 3:
                ids, pause = ready["case_ids"], self.args.sign_pause
                third = len(ids) // 3
                self.r["sign_paced"] = await self.phase(
                    "sign paced", f"5. signatures with 20 cases in flight, {pause:g} s between a signer's clicks",
                    sign_latency(api, ids[:third], 20, pause, spread=3 * pause), appends=True)
                marks["sign paced"] = await self.mark()
                self.r["step_floor"] = await self.phase(
                    "step floor", "5. the floor: empty steps (one local activity) at the signers' pace",
                    bench_limit.step_floor(env, third, 20, pause, 3 * pause))
                self.r["sign_in_step"] = await self.phase(
                    "sign in step", "5. the same, every signer at the same signature of its cases at the same time",
                    sign_latency(api, ids[third:2 * third], 20, pause, spread=pause), appends=True)
                marks["sign in step"] = await self.mark()
                self.r["sign"] = await self.phase("sign", "5. signatures with 20 cases in flight, no pause (saturated)",
                                                  sign_latency(api, ids[2 * third:], 20), appends=True)
            else:
                self.r["errors"]["sign"] = "no case could be set up for signing"
            marks["sign"] = await self.mark()
            self.r["read_your_writes"] = await self.phase("read-your-writes", "6. read-your-writes",
                                                          read_your_writes(api, n.ryw_cases))
            marks["read-your-writes"] = await self.mark()
        finally:
            await api.close()
        self.r["limit_end"] = await self.phase("limit again", "7. the limit again: has the machine changed?",
                                               bench_limit.measure(env, n.noops // 2, 0, 0, 16))
        await self.lag(marks)
        await self.settle("stop")  # a busy API or worker would not stop within vangnet dev's 10 s

    async def lifecycle_events(self, api: Api, case_id: str) -> int | None:
        try:
            doc = await api.case(case_id)
        except LoadError:
            return None
        claims = sorted({str(p["claim_id"]) for p in doc.get("payouts") or [] if p.get("claim_id")})
        return await bench_limit.history_events(self.target.env, [case_id, *claims])

    async def reads(self, ocmw: str, case_ids: list[str]) -> None:
        self.r["reads"] = []
        if not case_ids:
            self.r["errors"]["reads"] = "no FBU case was created, so there is nothing to read"
            return
        paths = [f"/v1/fbu/cases/{c}" for c in case_ids]
        gets = RawGets(self.target.api_url, ocmw)
        spies = profilers(self.target, self.args.profile, "reads", api_only=True)
        try:
            for rate in self.args.read_rates:
                result = await self.phase(f"reads {rate:g}/s", f"4. case reads at {rate:g}/s offered, "
                                          f"{self.n.read_seconds:g} s over {len(paths)} cases",
                                          open_loop(gets, paths, rate, self.n.read_seconds))
                if result:
                    self.r["reads"].append(result)
        finally:
            stop_profilers(spies)
            await gets.close()

    async def lag(self, marks: dict[str, int | None]) -> None:
        self.step("projection lag from domain_events")
        spans: dict[str, tuple[int, int]] = {}
        previous = marks.get("start")
        for name, pos in marks.items():
            if name != "start" and previous is not None and pos is not None:
                spans[name] = (previous, pos)
            previous = pos if pos is not None else previous
        ends = [p for p in marks.values() if p is not None]
        if marks.get("start") is not None and ends:
            spans["run"] = (int(marks["start"] or 0), max(ends))
        if not spans:
            return
        try:
            self.r["projection_lag"] = await projection_lag(self.dsn, spans)
        except Exception as exc:
            self.r["errors"]["projection lag"] = f"{type(exc).__name__}: {exc}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small counts for a trial of the harness (about a minute)")
    p.add_argument("--json", type=Path, help="also write every figure here as JSON")
    p.add_argument("--read-rates", type=lambda s: [float(x) for x in s.split(",")], default=[100.0, 200.0, 500.0],
                   help="offered case-read rates per second (default 100,200,500)")
    p.add_argument("--sign-pause", type=float, default=1.0,
                   help="seconds a signer waits after an answer before the next signature, in the paced measurement")
    p.add_argument("--poll", type=float, default=0.25, help="seconds between case reads while a lifecycle waits")
    p.add_argument("--wait", type=float, default=120.0, help="seconds a lifecycle waits for a claim or a payment")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="py-spy flame graphs of worker and API during the lifecycles, of the API during the reads "
                   "(if installed)")
    p.add_argument("--writes-per-minute", type=int, default=1_000_000, help="the API's per-token write limit")
    p.add_argument("--keep", action="store_true", help="keep the stack's temp dir (dev.log, var/)")
    p.add_argument("--set", action="append", default=[], metavar="VANGNET_X=VALUE",
                   help="a setting for the vangnet dev it starts (repeatable)")
    args = p.parse_args(argv)
    if any("=" not in kv for kv in args.set):
        p.error("--set takes VARIABLE=VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_ctrl_c()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
        "command": shlex.join([os.path.relpath(sys.executable), *sys.argv]), "quick": args.quick,
        "counts": asdict(QUICK if args.quick else FULL)}
    stack = OwnStack(args.writes_per_minute, args.keep, dict(kv.split("=", 1) for kv in args.set))
    status = 0
    began = time.monotonic()
    target: Target | None = None
    try:
        print(f"starting vangnet dev in {stack.root} …", file=sys.stderr, flush=True)
        target = stack.start()
        results["stack"] = {"description": target.description, "settings": stack.extra_env,
                            "writes_per_minute": stack.writes_per_minute}
        run = Run(args, target, stack.var, results)
        ocmw, wv = issue_token(target.env), token(target.env, "wonen-vlaanderen")
        asyncio.run(run.all(ocmw, wv))
        status = 1 if results["errors"] else 0
    except KeyboardInterrupt:
        status = 130
        if target is not None:  # stopping vangnet dev while it works on requests is not clean: let them finish
            print("\ninterrupted: waiting for the stack to finish what it was doing (Ctrl-C again: stop at once)",
                  file=sys.stderr, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(settle(target, most=30))
    except (BenchError, OSError, httpx.HTTPError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        status = 1
    finally:
        install_ctrl_c()
        with signals_ignored():
            stack.stop()
    results["seconds"] = round(time.monotonic() - began, 1)
    results["stack_stopped"] = stack.stopped
    if "limit" in results or "energy" in results:
        print(render(results), flush=True)
        print(f"\n{results['seconds']:.0f} s in all", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
        print(f"JSON written to {args.json}", file=sys.stderr)
    stack.cleanup()
    return status


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal SDK's runtime threads can abort the interpreter's shutdown (PyGILState_Release) after the
    # limit's worker ran; everything is stopped, printed and written by now, so leave without that shutdown.
    os._exit(code)
