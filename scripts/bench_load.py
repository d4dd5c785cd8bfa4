"""The product's figures for ``scripts/bench.py``, over the stack's HTTP API as a client would see them.

Energy opens, whole FBU lifecycles, signature latency with many cases in flight, and read-your-writes of the case
document. Every write carries an ``Idempotency-Key`` unique to the run. An answer the harness does not expect
(the API is changing under it) counts as an error with its status and the first part of its body, and the
measurement goes on with the next case.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

import httpx
from bench_energy_load import brussels_today, open_body
from bench_energy_report import percentile

T = TypeVar("T")
PARTIES = ("tenant", "landlord", "ocmw")


class LoadError(Exception):
    """One case could not go on; ``key`` groups it with its kind in the error counts."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__(f"{key}: {text}")
        self.key = key
        self.text = text


@dataclass
class Outcomes:
    """Successes, latencies (seconds) and errors by kind, with one example each."""

    ok: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def error(self, exc: BaseException) -> None:
        key, text = (exc.key, exc.text) if isinstance(exc, LoadError) else (type(exc).__name__, str(exc))
        self.errors[key] += 1
        self.examples.setdefault(key, text[:300])

    def summary(self, seconds: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "errors": dict(self.errors), "error_examples": self.examples}
        out.update(latency_ms(self.latencies))
        if seconds is not None:
            out["seconds"] = round(seconds, 2)
            out["per_s"] = round(self.ok / seconds, 2) if seconds > 0 else None
        return out


def latency_ms(values: list[float]) -> dict[str, Any]:
    """p50, p99 and max in ms (None when nothing was measured)."""
    def ms(v: float | None) -> float | None:
        return round(v * 1000, 1) if v is not None else None
    return {"p50_ms": ms(percentile(values, 50)), "p99_ms": ms(percentile(values, 99)),
            "max_ms": ms(max(values, default=None)), "n": len(values)}


class Api:
    """The OCMW's and Wonen-Vlaanderen's client for one run, with the waits a lifecycle needs."""

    def __init__(self, url: str, ocmw_token: str, wv_token: str, *, poll: float, timeout: float,
                 connections: int = 64) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = httpx.AsyncClient(base_url=url, limits=limits, timeout=60)
        self.who = {"ocmw": {"Authorization": f"Bearer {ocmw_token}"},
                    "wv": {"Authorization": f"Bearer {wv_token}"}}
        self.poll = poll
        self.timeout = timeout
        self.run = uuid.uuid4().hex[:10]
        self.ean_base = (time.time_ns() // 1_000_000) % (10**9 - 10**6)
        self.reads = 0
        self.lifecycle_cases: list[str] = []

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, label: str, method: str, path: str, *, who: str = "ocmw", expect: int = 200,
                   json: Any = None, key: str | None = None) -> Any:
        headers = dict(self.who[who])
        if key is not None:
            headers["Idempotency-Key"] = f"bench-{self.run}-{key}"
        try:
            r = await self.http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise LoadError(f"{label}: {type(exc).__name__}", f"{method} {path}: {exc!r}") from exc
        if r.status_code != expect:
            raise LoadError(f"{label}: {r.status_code}", f"{method} {path} answered {r.status_code}: {r.text[:300]}")
        try:
            return r.json()
        except ValueError as exc:
            raise LoadError(f"{label}: not JSON", f"{method} {path}: {r.text[:300]}") from exc

    # ---- the steps ------------------------------------------------------------------------------------------

    async def open_energy(self, i: int) -> None:
        await self.call("energy open", "POST", "/v1/energy/cases", expect=201, key=f"energy-{i}",
                        json=open_body(i, self.ean_base, brussels_today()))

    async def open_fbu(self, key: str) -> str:
        today = date.today()
        body = {"tenant": {"name": "Bench Tenant", "national_number": "85.07.30-033.28",
                           "iban": "BE71 0961 2345 6769"},
                "landlord": {"name": "Bench Verhuur bv", "iban": "BE68539007547034"},
                "dwelling": {"address": "Sint-Pietersnieuwstraat 41, 9000 Gent", "municipality_nis": "44021",
                             "rental_market": "private", "monthly_rent": "800.00"},
                "arrears": {"amount": "2400.00", "since": (today - timedelta(days=90)).isoformat()}}
        created = await self.call("fbu open", "POST", "/v1/fbu/cases", expect=201, json=body, key=f"open-{key}")
        if not isinstance(created, dict) or "case_id" not in created:
            raise LoadError("fbu open: no case_id", str(created)[:300])
        return str(created["case_id"])

    async def agreement(self, case_id: str) -> None:
        """1200 to the landlord, the other 1200 in six monthly instalments of 200."""
        today = date.today()
        plan = [{"due_on": (today + timedelta(days=30 * (m + 1))).isoformat(), "amount": "200.00"} for m in range(6)]
        await self.call("agreement", "PUT", f"/v1/fbu/cases/{case_id}/agreement", key=f"agreement-{case_id}",
                        json={"landlord_payment": "1200.00", "plan": plan})

    async def sign(self, case_id: str, party: str) -> Any:
        return await self.call("sign", "POST", f"/v1/fbu/cases/{case_id}/signatures", key=f"sign-{case_id}-{party}",
                               json={"party": party, "evidence": "Signed on paper (benchmark)"})

    async def case(self, case_id: str) -> dict[str, Any]:
        self.reads += 1
        doc = await self.call("case read", "GET", f"/v1/fbu/cases/{case_id}")
        if not isinstance(doc, dict):
            raise LoadError("case read: not an object", str(doc)[:300])
        return doc

    async def wait(self, what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
        deadline = time.monotonic() + self.timeout
        while True:
            found = await probe()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise LoadError(f"timeout: {what}", f"nothing after {self.timeout:g} s")
            await asyncio.sleep(self.poll)

    async def approve(self, case_id: str, kind: str) -> None:
        """Wait for the claim paying ``kind`` in the case document, then approve it as Wonen-Vlaanderen (404 or
        409 until the claim workflow waits for its decision)."""
        async def claim_id() -> str | None:
            payouts = (await self.case(case_id)).get("payouts") or []
            return next((str(p["claim_id"]) for p in payouts if p.get("kind") == kind and p.get("claim_id")), None)

        claim = await self.wait(f"{kind} claim in the case document", claim_id)

        async def decided() -> bool | None:
            try:
                await self.call("decision", "POST", f"/v1/claims/{claim}/decision", who="wv", key=f"approve-{claim}",
                                json={"decision": "approve", "reason": "Benchmark"})
                return True
            except LoadError as exc:
                if exc.key in ("decision: 404", "decision: 409"):
                    return None
                raise

        await self.wait(f"{kind} claim to accept a decision", decided)

    async def paid(self, case_id: str, kinds: tuple[str, ...]) -> None:
        async def probe() -> bool | None:
            payouts = (await self.case(case_id)).get("payouts") or []
            paid = {p.get("kind") for p in payouts if p.get("status") == "paid"}
            return True if paid.issuperset(kinds) else None

        await self.wait(f"{' + '.join(kinds)} paid", probe)

    async def lifecycle(self, i: int) -> None:
        """Open → agreement → three signatures → initial claim approved → paid → stable housing → tranche 2
        approved → paid."""
        case_id = await self.open_fbu(f"life-{i}")
        await self.agreement(case_id)
        for party in PARTIES:
            await self.sign(case_id, party)
        await self.approve(case_id, "tranche_1")
        await self.paid(case_id, ("forfait", "tranche_1"))
        await self.call("stable housing", "POST", f"/v1/fbu/cases/{case_id}/stable-housing",
                        key=f"stable-{case_id}", json={"reason": "Rent paid on time (benchmark)"})
        await self.approve(case_id, "tranche_2")
        await self.paid(case_id, ("tranche_2",))
        self.lifecycle_cases.append(case_id)


def progress(what: str, done: int, total: int, started: float, errors: int, every: int) -> None:
    if done % every == 0 or done == total:
        elapsed = time.monotonic() - started
        print(f"  {what}: {done}/{total}  {done / elapsed:6.2f} /s  {elapsed:6.1f} s  errors {errors}",
              file=sys.stderr, flush=True)


async def closed_loop(what: str, job: Callable[[int], Awaitable[Any]], count: int, concurrency: int,
                      every: int) -> tuple[Outcomes, float, list[Any]]:
    """``count`` jobs, ``concurrency`` at a time; a failed job is counted and the next one starts."""
    out = Outcomes()
    results: list[Any] = []
    numbers = iter(range(count))
    started = time.monotonic()

    async def runner() -> None:
        for i in numbers:
            t0 = time.monotonic()
            try:
                results.append(await job(i))
                out.ok += 1
                out.latencies.append(time.monotonic() - t0)
            except (LoadError, httpx.HTTPError) as exc:
                out.error(exc)
            progress(what, out.ok + sum(out.errors.values()), count, started, sum(out.errors.values()), every)

    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return out, time.monotonic() - started, results


async def energy_opens(api: Api, count: int, concurrency: int, warmup: int = 8) -> dict[str, Any]:
    await closed_loop("energy warm-up", lambda i: api.open_energy(count + i), warmup, min(warmup, concurrency),
                      10**9)
    out, seconds, _ = await closed_loop("energy opens", api.open_energy, count, concurrency, 100)
    return {**out.summary(seconds), "requested": count, "concurrency": concurrency}


async def lifecycles(api: Api, count: int, concurrency: int) -> dict[str, Any]:
    api.lifecycle_cases = []
    reads = api.reads
    out, seconds, _ = await closed_loop("FBU lifecycles", api.lifecycle, count, concurrency, 4)
    summary = out.summary(seconds)
    summary["duration_ms"] = {k: summary.pop(k) for k in ("p50_ms", "p99_ms", "max_ms", "n")}
    return {**summary, "requested": count, "concurrency": concurrency, "case_reads_polling": api.reads - reads,
            "case_ids": list(api.lifecycle_cases)}


async def sign_setup(api: Api, cases: int, concurrency: int = 8) -> dict[str, Any]:
    """Cases opened with an agreement, ready for their three signatures."""
    async def setup(i: int) -> str:
        case_id = await api.open_fbu(f"sign-{i}")
        await api.agreement(case_id)
        return case_id

    out, seconds, ids = await closed_loop("sign set-up (open + agreement)", setup, cases, concurrency, 20)
    return {**out.summary(seconds), "case_ids": ids}


async def sign_latency(api: Api, ids: list[str], clients: int, pause: float = 0.0,
                       spread: float | None = None) -> dict[str, Any]:
    """``clients`` clients sign at once, each on its own cases one after the other (tenant, landlord, OCMW), so
    ``clients`` cases are in flight throughout. A client waits ``pause`` seconds after each answer before its next
    signature (a person's next click); with no pause they saturate the stack and the latency is the queue in front
    of it (Little's law: ``clients`` ÷ signatures per second).

    The clients start spread over ``spread`` seconds (one pause if not given). Over one pause, all of them are at
    the same signature of their cases at the same time: every third second brings ``clients`` third signatures,
    each of which puts an agreement in force and claims. Over three pauses (one case's three signatures), the
    cases in flight are at every stage at any moment, as the cases of people who do not sign in step are."""
    signed = Outcomes()
    by_party: dict[str, list[float]] = {p: [] for p in PARTIES}
    timed: list[tuple[float, float, str]] = []  # (seconds into the measurement, latency, party)
    started = time.monotonic()
    spread = pause if spread is None else spread

    async def client(k: int, mine: list[str]) -> None:
        await asyncio.sleep(spread * k / clients)
        for case_id in mine:
            for party in PARTIES:
                t0 = time.monotonic()
                try:
                    await api.sign(case_id, party)
                except (LoadError, httpx.HTTPError) as exc:
                    signed.error(exc)
                    break
                signed.latencies.append(time.monotonic() - t0)
                by_party[party].append(signed.latencies[-1])
                timed.append((t0 - started, signed.latencies[-1], party))
                signed.ok += 1
                await asyncio.sleep(pause)

    await asyncio.gather(*(client(k, ids[k::clients]) for k in range(clients)))
    seconds = time.monotonic() - started
    print(f"  signatures: {signed.ok} in {seconds:.1f} s, {clients} clients pausing {pause:g} s, started over "
          f"{spread:g} s, errors {sum(signed.errors.values())}", file=sys.stderr, flush=True)
    return {**signed.summary(seconds), "cases": len(ids), "clients": clients, "pause_s": pause, "spread_s": spread,
            "by_party": {p: latency_ms(v) for p, v in by_party.items()},  # the OCMW's signature also claims
            # when the slowest ones started: together (a stall of the stack) or spread (its queue)
            "slowest": [{"at_s": round(at, 2), "ms": round(1000 * lat, 1), "party": party}
                        for at, lat, party in sorted(timed, key=lambda x: -x[1])[:6]]}


def _signer(api: Api, party: str) -> Callable[[str], Awaitable[Any]]:
    return lambda case_id: api.sign(case_id, party)


async def _nothing(case_id: str) -> None:
    """The third signature's effect (in force) is checked without another step."""


def _signed(party: str) -> Callable[[dict[str, Any]], bool]:
    def check(doc: dict[str, Any]) -> bool:
        signatures = (doc.get("agreement") or {}).get("signatures") or []
        return any(isinstance(s, dict) and s.get("party") == party for s in signatures)
    return check


async def read_your_writes(api: Api, cases: int, patience: float = 5.0) -> dict[str, Any]:
    """After each step's answer, read the case document at once: 0 ms when the first read shows the step, else
    the wall time until a read does (None: not within ``patience`` seconds)."""
    delays: list[float | None] = []
    out = Outcomes()
    checks: list[tuple[str, Callable[[str], Awaitable[Any]], Callable[[dict[str, Any]], bool]]] = [
        ("agreement", api.agreement, lambda d: (d.get("agreement") or {}).get("version") is not None),
        *[(f"sign {p}", _signer(api, p), _signed(p)) for p in PARTIES],
        ("in force", _nothing, lambda d: d.get("status") == "in_force"),
    ]
    for i in range(cases):
        try:
            case_id = await api.open_fbu(f"ryw-{i}")
            for name, step, shows in checks:
                await step(case_id)
                answered = time.monotonic()
                first = True
                while True:
                    doc = await api.case(case_id)
                    if shows(doc):
                        delays.append(0.0 if first else time.monotonic() - answered)
                        break
                    first = False
                    if time.monotonic() - answered > patience:
                        delays.append(None)
                        out.examples.setdefault(f"{name} not shown", str(doc)[:300])
                        break
            out.ok += 1
        except (LoadError, httpx.HTTPError) as exc:
            out.error(exc)
    seen = [d for d in delays if d is not None]
    return {"steps": len(delays), "shown_by_first_read": sum(1 for d in delays if d == 0.0),
            "not_shown": sum(1 for d in delays if d is None),
            "max_ms": round(max(seen) * 1000, 1) if seen else None,
            "mean_ms": round(statistics.fmean(seen) * 1000, 1) if seen else None,
            "cases": cases, "errors": dict(out.errors), "error_examples": out.examples}
