"""Soak: mixed FBU and energy load through the API of its own ``vangnet dev`` while the worker, the API, the
Temporal server and PostgreSQL are SIGKILLed at random moments (the supervisor of ``vangnet dev`` restarts them),
then the checks.

    .venv/bin/python scripts/soak.py [--minutes 12] [--fbu 3] [--energy 2] [--kill-every 40] [--seed 15]

Load: ``--fbu`` threads each drive FBU cases from opening to closed (both payouts paid) and ``--energy`` threads
gas cases to prepayment (netbeheerder callbacks), one after the other, until the load time is up; a refused step
(503, a lost connection, a 5xx) is sent again with the same ``Idempotency-Key``, and every step the API accepted
is remembered. Chaos: every ``--kill-every`` seconds on average one of worker, API, Temporal server, PostgreSQL
(its postmaster) gets SIGKILL.
After the load the cases in flight finish, and it prints cases, events, payments, callbacks, kills, and checks:
0 duplicate payments, 0 lost accepted steps, 0 orphan workflows, no gap or duplicate in any event stream, the
projections equal to a rebuild. Exit status 0 when every check holds. Bounded: never more than 20 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import psutil
from bench_stack import OwnStack, is_temporal_server, is_vangnet, postmaster_of
from temporalio.client import Client

from vangnet.storage import projections

HARD_LIMIT = 20 * 60  # seconds, whatever the options say
OCMW = "ocmw-44021"
RETRY = {500, 502, 503, 504}
# The event each accepted step leaves, by the key the drivers give the step (None: checked through another event).
STEP_EVENT = {"open-fbu": "CaseOpened", "agreement": "AgreementDrafted", "sign-tenant": "AgreementSigned",
              "sign-landlord": "AgreementSigned", "sign-ocmw": "AgreementSigned", "approve-initial": "ClaimApproved",
              "stable-housing": "StableHousingDeclared", "approve-tranche_2": "ClaimApproved",
              "open-energy": "DefaultNoticeSent", "contract-ended": "ContractEnded",
              "prepayment": "PrepaymentActivationRequested"}


class Gone(Exception):
    """The soak's time is up for this case."""


class Stuck(Exception):
    """A case did not move for ``STUCK_AFTER`` seconds: reported (and explained, or not, in the checks)."""


STUCK_AFTER = 150


@dataclass
class Case:
    kind: str
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    case_id: str | None = None
    ean: str | None = None
    accepted: list[str] = field(default_factory=list)
    done: bool = False
    error: str | None = None


@dataclass
class Load:
    api: str
    tokens: dict[str, str]
    stop_new: threading.Event
    give_up_at: float
    cases: list[Case] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)  # retried answers: status (0 = no answer) -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, case: Case, method: str, path: str, role: str, *, expect: int = 200, body: Any = None,
             key: str | None = None, params: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        if key is not None:
            headers["Idempotency-Key"] = f"soak-{case.uid}-{key}"
        with httpx.Client(base_url=self.api, timeout=30) as http:
            while True:
                try:
                    r = http.request(method, path, json=body, params=params, headers=headers)
                    if r.status_code == expect:
                        if key is not None:
                            case.accepted.append(f"{key}-{case.kind}" if key == "open" else key)
                        return r.json()
                    if r.status_code not in RETRY:
                        raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.text[:200]}")
                    status = r.status_code
                except httpx.TransportError:
                    status = 0
                with self.lock:
                    self.answers[status] += 1
                if time.monotonic() > self.give_up_at:
                    raise Gone(f"{method} {path} still refused when the time was up")
                time.sleep(1)

    def wait(self, what: str, probe: Callable[[], Any]) -> Any:
        stuck_at = time.monotonic() + STUCK_AFTER
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() > self.give_up_at:
                raise Gone(f"time up waiting for {what}")
            if time.monotonic() > stuck_at:
                raise Stuck(f"no {what} within {STUCK_AFTER} s")
            time.sleep(1)

    # ---- FBU: opening to closed, both payouts paid ---------------------------------------------------------

    def fbu(self, c: Case) -> None:
        today = date.today()
        body = {"tenant": {"name": "Eloïse Janssens", "national_number": "85.07.30-033.28",
                           "iban": "BE71 0961 2345 6769"},
                "landlord": {"name": "Immo De Smet bv", "iban": "BE68539007547034"},
                "dwelling": {"address": "Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent", "municipality_nis": "44021",
                             "rental_market": "private", "monthly_rent": "800.00"},
                "arrears": {"amount": "2400.00", "since": (today - timedelta(days=90)).isoformat()}}
        c.case_id = self.call(c, "POST", "/v1/fbu/cases", "ocmw", expect=201, body=body, key="open")["case_id"]
        plan = [{"due_on": (today + timedelta(days=30 * (i + 1))).isoformat(), "amount": "200.00"} for i in range(6)]
        self.call(c, "PUT", f"/v1/fbu/cases/{c.case_id}/agreement", "ocmw", key="agreement",
                  body={"landlord_payment": "1200.00", "plan": plan})
        for party in ("tenant", "landlord", "ocmw"):
            self.call(c, "POST", f"/v1/fbu/cases/{c.case_id}/signatures", "ocmw", key=f"sign-{party}",
                      body={"party": party, "evidence": "soak"})
        self.approve(c, "initial")
        self.wait("payouts paid", lambda: self.paid(c, "forfait", "tranche_1"))
        self.call(c, "POST", f"/v1/fbu/cases/{c.case_id}/stable-housing", "ocmw", key="stable-housing",
                  body={"reason": "Rent paid on time; the tenant can stay"})
        self.approve(c, "tranche_2")
        self.wait("closed", lambda: self.fbu_case(c)["status"] == "closed")

    def fbu_case(self, c: Case) -> dict[str, Any]:
        state: dict[str, Any] = self.call(c, "GET", f"/v1/fbu/cases/{c.case_id}", "ocmw")
        return state

    def paid(self, c: Case, *kinds: str) -> bool:
        payouts = [p for p in self.fbu_case(c)["payouts"] if p["kind"] in kinds]
        return len(payouts) == len(kinds) and all(p["status"] == "paid" for p in payouts)

    def approve(self, c: Case, kind: str) -> None:
        def claim() -> dict[str, Any] | None:
            found = self.call(c, "GET", "/v1/claims", "wv", params={"status": "claimed", "page_size": 200})
            return next((x for x in found["items"] if x["case_id"] == c.case_id and x["claim_kind"] == kind), None)

        found = self.wait(f"the {kind} claim", claim)
        self.call(c, "POST", f"/v1/claims/{found['claim_id']}/decision", "wv", key=f"approve-{kind}",
                  body={"decision": "approve", "reason": "soak"})

    # ---- energy: a gas case to prepayment, through the netbeheerder's callbacks ----------------------------

    def energy(self, c: Case) -> None:
        today = datetime.now(ZoneInfo("Europe/Brussels")).date()
        serial = f"54144882{uuid.uuid4().int % 10**9:09d}"
        check = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(serial)))
        c.ean = serial + str((10 - check % 10) % 10)
        body = {"household": {"name": "Samira Benali", "national_number": "85.07.30-033.28",
                              "address": "Brugsesteenweg 12, 9000 Gent", "municipality_nis": "44021"},
                "ean": c.ean, "energy": "gas", "supplier": "Engie",
                "netbeheerder": "fluvius", "notice_of_default_on": today.isoformat()}
        c.case_id = self.call(c, "POST", "/v1/energy/cases", "ocmw", expect=201, body=body, key="open")["case_id"]
        self.call(c, "POST", f"/v1/energy/cases/{c.case_id}/supplier-events", "ocmw", key="contract-ended",
                  body={"type": "contract_ended", "on": today.isoformat()})
        self.wait("takeover", lambda: self.has(c, "SocialSupplierTookOver"))
        self.call(c, "POST", f"/v1/energy/cases/{c.case_id}/prepayment-requests", "ocmw", key="prepayment",
                  body={"note": "soak"})
        self.wait("prepayment", lambda: self.has(c, "PrepaymentActivated"))

    def has(self, c: Case, event_type: str) -> bool:
        events = self.call(c, "GET", f"/v1/energy/cases/{c.case_id}/events", "ocmw")
        return any(e["type"] == event_type for e in events)

    def run(self, kind: str) -> None:
        while not self.stop_new.is_set():
            c = Case(kind)
            with self.lock:
                self.cases.append(c)
            try:
                (self.fbu if kind == "fbu" else self.energy)(c)
                c.done = True
            except Gone as exc:
                c.error = f"unfinished: {exc}"
                return
            except Stuck as exc:
                c.error = f"stuck: {exc}"
            except Exception as exc:  # a wrong answer: reported, the soak goes on with a new case
                c.error = repr(exc)


# ---- chaos ---------------------------------------------------------------------------------------------------


def victims(dev: psutil.Process, var: Path) -> dict[str, psutil.Process]:
    found: dict[str, psutil.Process] = {}
    postmaster = postmaster_of(var)
    if postmaster is not None:
        found["postgres"] = postmaster
    for p in dev.children():
        if is_vangnet(p, "worker"):
            found["worker"] = p
        elif is_vangnet(p, "api"):
            found["api"] = p
        elif is_temporal_server(p):
            found["temporal"] = p
    return found


def chaos(dev: psutil.Process, var: Path, every: float, until: float, rng: random.Random,
          kills: list[tuple[float, str]], started: float) -> None:
    while True:
        pause = rng.uniform(0.5 * every, 1.5 * every)
        if time.monotonic() + pause > until:
            return
        time.sleep(pause)
        found = victims(dev, var)
        if not found:
            continue
        name = rng.choice(sorted(found))
        try:
            os.kill(found[name].pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        kills.append((time.monotonic() - started, name))
        print(f"  {time.monotonic() - started:6.0f} s  SIGKILL {name} (pid {found[name].pid})", flush=True)


# ---- the checks ----------------------------------------------------------------------------------------------


async def database_checks(dsn: str, cases: list[Case]) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT stream, array_agg(stream_version ORDER BY position) AS v FROM domain_events "
                                "GROUP BY stream")
        broken = [r["stream"] for r in rows if list(r["v"]) != list(range(1, len(r["v"]) + 1))]
        events = await conn.fetchval("SELECT count(*) FROM domain_events")
        typed = await conn.fetch("SELECT case_id, type, data->>'party' AS party, count(*) AS n FROM domain_events "
                                 "GROUP BY 1, 2, 3")
        have: Counter[tuple[str, str]] = Counter()
        for r in typed:
            have[(r["case_id"], r["type"])] += int(r["n"])
            if r["party"]:
                have[(r["case_id"], f"{r['type']}:{r['party']}")] += int(r["n"])
        lost = []
        for c in cases:
            for key in c.accepted:
                wanted = STEP_EVENT[key] + (f":{key.removeprefix('sign-')}" if key.startswith("sign-") else "")
                needed = 2 if key == "approve-tranche_2" else 1
                if c.case_id is None or have[(c.case_id, wanted)] < needed:
                    lost.append((c.case_id, key))
        registry = {r["case_id"] for r in await conn.fetch("SELECT case_id FROM case_registry")}
        callbacks = await conn.fetchval("SELECT count(*) FROM netbeheerder_callbacks")
        unforwarded = await conn.fetchval("SELECT count(*) FROM netbeheerder_callbacks WHERE forwarded_at IS NULL "
                                          "AND case_id IS NOT NULL")
        recovered = await conn.fetchval("SELECT count(*) FROM netbeheerder_callbacks WHERE source = 'recovered'")
        live = await projections.snapshot(conn)
        await projections.rebuild(conn)
        rebuilt = await projections.snapshot(conn)
        return {"events": int(events), "streams": len(rows), "broken_streams": broken, "lost_steps": lost,
                "registry": registry, "callbacks": int(callbacks), "unforwarded": int(unforwarded),
                "recovered": int(recovered),
                "projections_differ": [t for t in live if live[t] != rebuilt[t]]}
    finally:
        await conn.close()


async def orphans(address: str, registry: set[str]) -> list[str]:
    client = await Client.connect(address)
    found = []
    async for wf in client.list_workflows("WorkflowType = 'FbuCase' OR WorkflowType = 'EnergyCase'"):
        if wf.id not in registry:
            found.append(wf.id)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak under random kills; prints figures and checks.")
    parser.add_argument("--minutes", type=float, default=12, help="load time (default 12; all in all at most 20)")
    parser.add_argument("--fbu", type=int, default=3, help="FBU drivers at once (default 3)")
    parser.add_argument("--energy", type=int, default=2, help="energy drivers at once (default 2)")
    parser.add_argument("--kill-every", type=float, default=40, help="mean seconds between kills (default 40)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    started = time.monotonic()
    hard_stop = started + HARD_LIMIT - 150  # room for the checks and the stop
    load_until = min(started + args.minutes * 60, hard_stop - 240)
    stack = OwnStack(writes_per_minute=100_000, keep=False, extra_env={
        "VANGNET_DEV_RESTART_BUDGET": "50", "VANGNET_LOG_FORMAT": "console",
        # A callback the simulator gave up on is fetched well within STUCK_AFTER (the callback recovery).
        "VANGNET_CALLBACK_OVERDUE_SECONDS": "30", "VANGNET_CALLBACK_RECOVERY_EVERY_SECONDS": "15"})
    ok = False
    try:
        target = stack.start()
        print(f"soak: {target.description}; load for {(load_until - time.monotonic()) / 60:.1f} min, "
              f"{args.fbu} FBU + {args.energy} energy drivers, a kill every ~{args.kill_every:.0f} s", flush=True)
        env = stack.env()
        tokens = {"ocmw": _token(env, "ocmw", OCMW), "wv": _token(env, "wonen-vlaanderen")}
        load = Load(stack.api_url, tokens, threading.Event(), give_up_at=hard_stop)
        threads = [threading.Thread(target=load.run, args=(kind,), daemon=True)
                   for kind in ["fbu"] * args.fbu + ["energy"] * args.energy]
        for t in threads:
            t.start()
        kills: list[tuple[float, str]] = []
        assert target.dev is not None
        chaos(target.dev, stack.var, args.kill_every, load_until, random.Random(args.seed), kills, started)
        load.stop_new.set()
        print(f"soak: load stopped at {time.monotonic() - started:.0f} s; cases in flight finish", flush=True)
        for t in threads:
            t.join(max(0.0, hard_stop - time.monotonic()))
        ok = report(stack, load, kills, started, args.json)
    finally:
        stack.stop()
        stack.cleanup()
    return 0 if ok else 1


def _token(env: dict[str, str], role: str, org: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "vangnet.cli", "token", "--role", role,  # noqa: S603
                           *(["--org", org] if org else [])], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    return done.stdout.strip()


def report(stack: OwnStack, load: Load, kills: list[tuple[float, str]], started: float, json_path: str | None) -> bool:
    # healthy again before counting: every component back
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{stack.api_url}/healthz", timeout=10).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            print("soak: not healthy 120 s after the load", flush=True)
            break
        time.sleep(1)
    dsn = f"postgresql://postgres:@/vangnet?host={stack.var / 'pg'}"
    db = asyncio.run(database_checks(dsn, load.cases))
    orphan_ids = asyncio.run(orphans(f"127.0.0.1:{stack.ports['temporal']}", db["registry"]))
    booked = httpx.get(f"http://127.0.0.1:{stack.ports['payments']}/payments", timeout=30).json()["payments"]
    per_claim = Counter(p["reference"] for p in booked)
    duplicates = sum(n - 1 for n in per_claim.values() if n > 1)
    fbu = [c for c in load.cases if c.kind == "fbu"]
    energy = [c for c in load.cases if c.kind == "energy"]
    incomplete_paid = [c.case_id for c in fbu if c.done and
                       sum(1 for p in booked if c.case_id and c.case_id in p["reference"]) != 2]
    restarts = stack.tail(100_000).count("restarted the ")
    # Callbacks the netbeheerder simulator gave up on (it redelivers for about 1.5 s; an API restart takes longer)
    sent = httpx.get(f"http://127.0.0.1:{stack.ports['netbeheerder']}/v1/callbacks", timeout=30).json()["callbacks"]
    delivered = {c["event_id"] for c in sent if c["delivered"]}
    undelivered = {c["event_id"]: c["callback"]["ean"] for c in sent if c["event_id"] not in delivered}
    stuck = [c for c in load.cases if c.error and c.error.startswith("stuck")]
    unexplained = [c.case_id for c in stuck if c.kind != "energy" or c.ean not in undelivered.values()]
    figures = {
        "minutes": round((time.monotonic() - started) / 60, 1),
        "kills": dict(Counter(name for _, name in kills)), "supervisor_restart_lines": restarts,
        "fbu_cases": len(fbu), "fbu_completed": sum(c.done for c in fbu),
        "energy_cases": len(energy), "energy_to_prepayment": sum(c.done for c in energy),
        "accepted_steps": sum(len(c.accepted) for c in load.cases), "retried_answers": dict(load.answers),
        "events": db["events"], "streams": db["streams"], "payments": len(booked),
        "callbacks": db["callbacks"], "duplicate_payments": duplicates, "lost_accepted_steps": len(db["lost_steps"]),
        "orphan_workflows": len(orphan_ids), "broken_streams": len(db["broken_streams"]),
        "unforwarded_callbacks": db["unforwarded"], "projections_differ_from_rebuild": db["projections_differ"],
        "completed_fbu_without_two_payments": len(incomplete_paid),
        "callbacks_the_simulator_gave_up_on": len(undelivered), "callbacks_recovered": db["recovered"],
        "stuck_cases": len(stuck), "stuck_cases_unexplained": unexplained,
        "case_errors": [c.error for c in load.cases if c.error and not c.error.startswith(("unfinished", "stuck"))],
        "unfinished_at_hard_stop": sum(1 for c in load.cases if c.error and c.error.startswith("unfinished")),
    }
    print("\nsoak figures")
    for k, v in figures.items():
        print(f"  {k:<36} {v}")
    checks = {"0 duplicate payments": duplicates == 0, "0 lost accepted steps": not db["lost_steps"],
              "0 orphan workflows": not orphan_ids, "no gap or duplicate in a stream": not db["broken_streams"],
              "projections equal a rebuild": not db["projections_differ"],
              "0 callbacks left unforwarded": db["unforwarded"] == 0,
              "every completed FBU case paid twice": not incomplete_paid,
              "no case failed on a wrong answer": not figures["case_errors"],
              "every stuck case waits for a callback the simulator gave up on": not unexplained}
    print("\nsoak checks")
    for name, held in checks.items():
        print(f"  {'ok  ' if held else 'FAIL'} {name}")
    if db["lost_steps"] or orphan_ids:
        print(f"  lost: {db['lost_steps'][:10]} orphans: {orphan_ids[:10]}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"at": datetime.now(UTC).isoformat(), **figures, "checks": checks}, f, indent=2, default=str)
    return all(checks.values())


if __name__ == "__main__":
    sys.exit(main())
