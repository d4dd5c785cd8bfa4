"""The limit for ``scripts/bench.py``: what the Temporal server of the stack does with workflows that do nothing.

A worker in the benchmark process, on its own task queue, with the product worker's tuning
(``worker.main.tuning``), its workflow runner (``worker.sandbox``) and the product's client
(``vangnet.platform.temporal_client.connect``: same data converter and payload codec), runs no-op workflows and
workflows of K empty activities against the stack's Temporal server.
Every product figure is divided by these, measured minutes apart on the same machine, so a busy machine moves
both and the ratio holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from unittest import mock


class LimitError(Exception):
    """The limit could not be measured: the message says why."""


def product_settings(env: dict[str, str]) -> Any:
    """The settings the stack's worker sees: its environment only (its working directory has no ``.env``)."""
    try:
        from vangnet.platform.settings import Settings
    except Exception as exc:  # the product code may be mid-change in this working tree
        raise LimitError(f"cannot import vangnet.platform.settings ({type(exc).__name__}: {exc})") from exc
    with mock.patch.dict(os.environ, env, clear=True):
        return Settings(_env_file=None)


def product_tuning(settings: Any) -> dict[str, Any]:
    try:
        from worker.main import tuning
    except Exception as exc:
        raise LimitError(f"cannot import worker.main.tuning, so the limit cannot use the product worker's tuning "
                         f"({type(exc).__name__}: {exc})") from exc
    return dict(tuning(settings))


def product_runner() -> Any:
    """The product worker's workflow runner (its sandbox, and how it answers the SDK's serialization contexts)."""
    try:
        from worker.sandbox import workflow_runner
    except Exception as exc:
        raise LimitError(f"cannot import worker.sandbox.workflow_runner ({type(exc).__name__}: {exc})") from exc
    return workflow_runner()


async def _connect(settings: Any) -> Any:
    """The product's client (same data converter and payload codec), or why the limit cannot be measured."""
    from vangnet.platform.temporal_client import connect

    try:
        return await connect(settings)
    except Exception as exc:
        raise LimitError(f"cannot connect to Temporal at {settings.temporal_target}: {exc}") from exc


async def _closed_loop(start: Callable[[int], Awaitable[Any]], count: int, concurrency: int,
                       errors: Counter[str]) -> tuple[int, float, list[Any]]:
    """``count`` workflows, ``concurrency`` at a time, each started and awaited; (completed, seconds, handles)."""
    numbers = iter(range(count))
    handles: list[Any] = []

    async def runner() -> None:
        for i in numbers:
            try:
                handle = await start(i)
                await handle.result()
                handles.append(handle)
            except Exception as exc:
                errors[type(exc).__name__] += 1

    started = time.monotonic()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return len(handles), time.monotonic() - started, handles


async def measure(env: dict[str, str], noops: int, step_workflows: int, steps: int, concurrency: int
                  ) -> dict[str, Any]:
    """No-op workflows/s and (unless ``step_workflows`` is 0) history events/s, after a short warm-up (the
    sandbox's first import of the workflow module)."""
    from bench_workflows import Noop, Steps, nothing
    from temporalio.worker import Worker

    settings = product_settings(env)
    tuning = product_tuning(settings)
    client = await _connect(settings)
    queue = f"bench-limit-{uuid.uuid4().hex[:8]}"
    errors: Counter[str] = Counter()
    out: dict[str, Any] = {"task_queue": queue, "tuning": tuning, "concurrency": concurrency,
                           "temporal": settings.temporal_target}

    def noop(i: int) -> Awaitable[Any]:
        return client.start_workflow(Noop.run, id=f"{queue}-noop-{i}", task_queue=queue)

    def stepper(i: int) -> Awaitable[Any]:
        return client.start_workflow(Steps.run, steps, id=f"{queue}-steps-{i}", task_queue=queue)

    async with Worker(client, task_queue=queue, workflows=[Noop, Steps], activities=[nothing],
                      workflow_runner=product_runner(), **tuning):
        await _closed_loop(lambda i: noop(-1 - i), concurrency, concurrency, Counter())  # warm-up, not counted
        done, seconds, handles = await _closed_loop(noop, noops, concurrency, errors)
        out["noop"] = {"workflows": done, "seconds": round(seconds, 2),
                       "per_s": round(done / seconds, 1) if seconds and done else None,
                       "history_events": await _events_per_workflow(handles)}
        print(f"  no-op: {done} workflows in {seconds:.1f} s = {out['noop']['per_s']} /s", file=sys.stderr,
              flush=True)
        if step_workflows:
            done, seconds, handles = await _closed_loop(stepper, step_workflows, concurrency, errors)
            per_wf = await _events_per_workflow(handles)
            wf_s = done / seconds if seconds and done else None
            out["steps"] = {"workflows": done, "activities_each": steps, "seconds": round(seconds, 2),
                            "per_s": round(wf_s, 2) if wf_s else None, "history_events": per_wf,
                            "events_per_s": round(wf_s * per_wf, 1) if wf_s and per_wf else None}
            print(f"  {steps} activities each: {done} workflows in {seconds:.1f} s, {per_wf} history events each "
                  f"= {out['steps']['events_per_s']} events/s", file=sys.stderr, flush=True)
    out["errors"] = dict(errors)
    if not out["noop"]["per_s"]:
        raise LimitError(f"no no-op workflow completed (errors: {dict(errors) or 'none'})")
    return out


async def step_floor(env: dict[str, str], cases: int, clients: int, pause: float, spread: float
                     ) -> dict[str, Any]:
    """The latency of an empty step at the paced signers' pace: ``clients`` clients, each on its own cases one
    after the other, three updates a case, ``pause`` seconds after each answer, started spread over ``spread``
    seconds (``bench_load.sign_latency``'s pacing). It runs right after the product's paced signatures (so it cannot
    disturb them): a busy machine slows both, and their ratio shows what the product adds to the floor."""
    from bench_load import latency_ms
    from bench_workflows import SteppedCase, nothing
    from temporalio.worker import Worker

    settings = product_settings(env)
    client = await _connect(settings)
    queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def client_loop(k: int, mine: list[Any]) -> None:
        await asyncio.sleep(spread * k / clients)
        for handle in mine:
            for _ in range(3):
                t0 = time.monotonic()
                try:
                    await handle.execute_update(SteppedCase.step, id=uuid.uuid4().hex)
                except Exception as exc:
                    errors[type(exc).__name__] += 1
                    break
                latencies.append(time.monotonic() - t0)
                await asyncio.sleep(pause)

    async with Worker(client, task_queue=queue, workflows=[SteppedCase], activities=[nothing],
                      workflow_runner=product_runner(), **product_tuning(settings)):
        handles = [await client.start_workflow(SteppedCase.run, id=f"{queue}-{i}", task_queue=queue)
                   for i in range(cases)]
        started = time.monotonic()
        await asyncio.gather(*(client_loop(k, handles[k::clients]) for k in range(clients)))
        seconds = time.monotonic() - started

    figures = latency_ms(latencies)
    print(f"  empty steps: {len(latencies)} in {seconds:.1f} s, p50 {figures['p50_ms']} / p99 {figures['p99_ms']} "
          f"ms, errors {sum(errors.values())}", file=sys.stderr, flush=True)
    if not latencies:
        raise LimitError(f"no empty step answered (errors: {dict(errors) or 'none'})")
    return {**figures, "seconds": round(seconds, 2), "per_s": round(len(latencies) / seconds, 2), "cases": cases,
            "clients": clients, "pause_s": pause, "spread_s": spread, "errors": dict(errors)}


async def _events_per_workflow(handles: list[Any], sample: int = 3) -> int | None:
    counts: list[int] = []
    for handle in handles[:sample]:
        with contextlib.suppress(Exception):
            counts.append(len((await handle.fetch_history()).events))
    return round(statistics.fmean(counts)) if counts else None


async def history_events(env: dict[str, str], workflow_ids: list[str]) -> int | None:
    """History events of these workflows together (one FBU lifecycle: the case and its two claims)."""
    from vangnet.platform.temporal_client import connect

    try:
        client = await connect(product_settings(env))
        total = 0
        for wid in workflow_ids:
            total += len((await client.get_workflow_handle(wid).fetch_history()).events)
        return total
    except Exception as exc:
        print(f"  history events of a lifecycle not counted: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
