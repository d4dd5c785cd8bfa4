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
import json
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psutil
from bench_energy_report import Run, render, summary
from bench_measure import Sampler, machine, scrape, sqlite_size
from bench_stack import (
    STOP_SIGNALS,
    BenchError,
    OwnStack,
    Target,
    attach,
    install_ctrl_c,
    issue_token,
    signals_ignored,
)

NIS = "44021"
PROGRESS_EVERY = 500
IDLE_SECONDS = 10.0


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


# ---- main -----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=10_000, help="energy cases to open (default 10000)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--api", help="use the stack running at this URL instead of starting one")
    p.add_argument("--worker-pid", type=int, action="append",
                   help="with --api: a worker process, repeatable (default: every one found with psutil)")
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
        print(f"stack: {target.description}; worker pids {', '.join(str(p.pid) for p in target.workers)}, API pid "
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
