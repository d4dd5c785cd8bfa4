"""What the fault tests share: the production shape in processes (``tests/deploy/stack.py``) with a Temporal server
that keeps its state across a restart, FBU cases driven over HTTP by threads that retry a refused or unanswered
step with the same ``Idempotency-Key`` (and remember which steps the API accepted), and the checks every fault ends
with: one payment per claim, no gap and no duplicate in any event stream, projections equal to a rebuild."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.deploy.stack import Stack, payments_booked
from tests.integration.helpers import workspace
from vangnet.stack.embedded import start_temporal
from vangnet.storage import projections

OCMW = "ocmw-44021"
RETRYABLE = {502, 503, 504}


def say(message: str) -> None:
    print(f"[fault] {message}", flush=True)


# ---- the stack ----------------------------------------------------------------------------------------------


class FaultStack(Stack):
    """``Stack`` whose Temporal dev server keeps its SQLite file, so it can be stopped and started again."""

    @property
    def temporal_db(self) -> Path:
        return self.ws.var / "temporal.db"

    def start_temporal(self) -> None:
        deadline = time.monotonic() + 30
        while True:  # the port of the server just stopped can take a moment to be free again
            try:
                self.temporal = start_temporal(self.temporal_db, port=self.ws.ports["temporal"],
                                               ui_port=self.ws.ports["temporal_ui"])
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop_temporal(self, how: signal.Signals = signal.SIGTERM) -> None:
        """SIGTERM lets the server shut down in order; SIGKILL is a crash (an OOM kill, a lost node)."""
        assert self.temporal is not None
        self.temporal.send_signal(how)
        self.temporal.wait(timeout=30)

    def kill_worker(self, name: str) -> None:
        self.kill(name)
        del self.procs[name]  # dead on purpose: ``wait_healthy`` must not count it

    def faults(self, simulator: str, **knobs: Any) -> dict[str, Any]:
        port = self.ws.ports["payments" if simulator == "payments" else "netbeheerder"]
        r = httpx.put(f"http://127.0.0.1:{port}/faults", json=knobs, timeout=10)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@contextmanager
def fault_stack(database_url: str, sim_env: dict[str, str] | None = None,
                worker_env: dict[str, str] | None = None) -> Iterator[FaultStack]:
    """Temporal (with a state file), migrations, simulators (``sim_env``: their ``PAYSIM_*``/``NBSIM_*`` fault
    knobs), one worker (``worker-1``, with ``worker_env``: ``VANGNET_*`` settings) and the API, healthy."""
    with workspace() as ws:
        ws.var.mkdir(parents=True, exist_ok=True)
        stack = FaultStack(ws, database_url)
        try:
            stack.start_temporal()
            for args in (("migrate",), ("policies", "seed-demo")):
                done = stack.cli(*args)
                assert done.returncode == 0, done.stderr
            stack.start("sim-payments", "sim-payments", **(sim_env or {}))
            stack.start("sim-netbeheerder", "sim-netbeheerder", **(sim_env or {}))
            stack.start_worker("worker-1", **(worker_env or {}))
            stack.start("api", "api")
            stack.wait_healthy()
            yield stack
        finally:
            stack.stop()


# ---- driving FBU cases over HTTP ---------------------------------------------------------------------------


class StepFailed(AssertionError):
    pass


@dataclass
class FbuDriver:
    """One FBU case from opening to closed (completed), as ``scripts/drive_fbu_case.py`` drives it, but patient: a
    503 or a lost connection is retried with the same idempotency key until ``deadline``; every step the API
    accepted (2xx) is remembered, so a test can check none of them was lost."""

    api: str
    ocmw: dict[str, str]
    wv: dict[str, str]
    deadline: float
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    case_id: str | None = None
    accepted: list[str] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)  # status (0 = no answer) -> how often, retried
    messages: set[str] = field(default_factory=set)
    error: BaseException | None = None

    def call(self, method: str, path: str, who: dict[str, str], *, expect: int = 200, json: Any = None,
             params: dict[str, Any] | None = None, key: str | None = None) -> Any:
        headers = dict(who)
        if key is not None:
            headers["Idempotency-Key"] = f"fault-{self.run}-{key}"
        with httpx.Client(base_url=self.api, timeout=30) as http:
            while True:
                try:
                    r = http.request(method, path, json=json, params=params, headers=headers)
                    if r.status_code == expect:
                        if key is not None:
                            self.accepted.append(key)
                        return r.json()
                    if r.status_code not in RETRYABLE:
                        raise StepFailed(f"{method} {path} answered {r.status_code}: {r.text[:300]}")
                    self.refused[r.status_code] = self.refused.get(r.status_code, 0) + 1
                    self.messages.add(r.text[:200])
                except httpx.TransportError:
                    self.refused[0] = self.refused.get(0, 0) + 1
                if time.monotonic() > self.deadline:
                    raise StepFailed(f"{method} {path}: still refused at the deadline ({self.refused})")
                time.sleep(0.5)

    def wait(self, what: str, probe: Callable[[], Any]) -> Any:
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() > self.deadline:
                raise StepFailed(f"{self.case_id}: timed out waiting for {what}")
            time.sleep(0.5)

    def case(self) -> dict[str, Any]:
        state: dict[str, Any] = self.call("GET", f"/v1/fbu/cases/{self.case_id}", self.ocmw)
        return state

    def claim(self, kind: str) -> dict[str, Any] | None:
        found = self.call("GET", "/v1/claims", self.wv, params={"status": "claimed", "page_size": 200})
        return next((c for c in found["items"] if c["case_id"] == self.case_id and c["claim_kind"] == kind), None)

    def paid(self, *kinds: str) -> bool:
        payouts = [p for p in self.case()["payouts"] if p["kind"] in kinds]
        return len(payouts) == len(kinds) and all(p["status"] == "paid" for p in payouts)

    def approve(self, kind: str) -> None:
        claim = self.wait(f"the {kind} claim", lambda: self.claim(kind))
        self.call("POST", f"/v1/claims/{claim['claim_id']}/decision", self.wv, key=f"approve-{kind}",
                  json={"decision": "approve", "reason": "fault suite"})

    def open_and_draft(self) -> None:
        today = date.today()
        body = {
            "tenant": {"name": "Eloïse Janssens", "national_number": "85.07.30-033.28", "iban": "BE71 0961 2345 6769"},
            "landlord": {"name": "Immo De Smet bv", "iban": "BE68539007547034"},
            "dwelling": {"address": "Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent", "municipality_nis": "44021",
                         "rental_market": "private", "monthly_rent": "800.00"},
            "arrears": {"amount": "2400.00", "since": (today - timedelta(days=90)).isoformat()},
        }
        self.case_id = str(self.call("POST", "/v1/fbu/cases", self.ocmw, expect=201, json=body, key="open")["case_id"])
        plan = [{"due_on": (today + timedelta(days=30 * (i + 1))).isoformat(), "amount": "200.00"} for i in range(6)]
        self.call("PUT", f"/v1/fbu/cases/{self.case_id}/agreement", self.ocmw, key="agreement",
                  json={"landlord_payment": "1200.00", "plan": plan})

    def sign_all(self) -> None:
        for party in ("tenant", "landlord", "ocmw"):
            self.call("POST", f"/v1/fbu/cases/{self.case_id}/signatures", self.ocmw, key=f"sign-{party}",
                      json={"party": party, "evidence": "fault suite"})

    def to_closed(self) -> None:
        self.approve("initial")
        self.wait("forfait and tranche 1 paid", lambda: self.paid("forfait", "tranche_1"))
        self.call("POST", f"/v1/fbu/cases/{self.case_id}/stable-housing", self.ocmw, key="stable-housing",
                  json={"reason": "Rent paid on time; the tenant can stay"})
        self.approve("tranche_2")
        self.wait("the case closed", lambda: self.case()["status"] == "closed")
        state = self.case()
        assert state["closing_reason"] == "completed", state

    def drive(self) -> None:
        try:
            self.open_and_draft()
            self.finish()
        except BaseException as exc:
            self.error = exc

    def finish(self) -> None:
        """From the signatures to the case closed, for a case opened and drafted already."""
        try:
            self.sign_all()
            self.to_closed()
        except BaseException as exc:
            self.error = exc


def drivers(stack: Stack, n: int, within: float) -> list[FbuDriver]:
    ocmw = {"Authorization": f"Bearer {stack.token('ocmw', OCMW)}"}
    wv = {"Authorization": f"Bearer {stack.token('wonen-vlaanderen')}"}
    deadline = time.monotonic() + within
    return [FbuDriver(stack.ws.api_url, ocmw, wv, deadline) for _ in range(n)]


def in_threads(work: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=w, daemon=True) for w in work]
    for t in threads:
        t.start()
    return threads


def join(threads: list[threading.Thread], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"drives still running after {timeout:.0f} s"


def assert_driven(ds: list[FbuDriver], stack: Stack) -> None:
    for d in ds:
        if d.error is not None:
            logs = "\n".join(f"--- {name}:\n{excerpt(stack.log(name))}" for name in stack.procs)
            raise AssertionError(f"case {d.case_id}: {d.error!r}\n{logs}") from d.error


def excerpt(log: str) -> str:
    """A log's first traceback (the cause a tail would hide) and its last lines."""
    first = log.find("Traceback")
    cause = f"{log[first:first + 4000]}\n[…]\n" if first >= 0 else ""
    return cause + log[-2500:]


# ---- the checks every fault ends with -------------------------------------------------------------------------


def assert_one_payment_per_claim(stack: Stack, case_ids: list[str]) -> int:
    """The payment simulator booked exactly forfait + tranche 1 (one payment) and tranche 2 for every case."""
    booked = payments_booked(stack, OCMW)
    for case_id in case_ids:
        ours = sorted((p["reference"].split()[-1], p["amount"]) for p in booked if case_id in p["reference"])
        assert ours == [("initial", "1502.00"), ("tranche_2", "360.00")], (case_id, ours)
    keys = [p["idempotency_key"] for p in booked]
    assert len(keys) == len(set(keys)) == 2 * len(case_ids), booked
    return len(booked)


async def _log_and_projections(dsn: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT stream, array_agg(stream_version ORDER BY position) AS versions, "
                                "count(DISTINCT event_id) AS ids FROM domain_events GROUP BY stream")
        for r in rows:
            versions = list(r["versions"])
            assert versions == list(range(1, len(versions) + 1)), (r["stream"], versions)  # no gap, no duplicate
            assert r["ids"] == len(versions), r["stream"]
        events = await conn.fetchval("SELECT count(*) FROM domain_events")
        live = await projections.snapshot(conn)
        await projections.rebuild(conn)
        rebuilt = await projections.snapshot(conn)
        differing = [t for t in live if live[t] != rebuilt[t]]
        assert not differing, f"projections differ from a rebuild in {differing}"
        return len(rows), int(events)
    finally:
        await conn.close()


def assert_log_and_projections(dsn: str) -> tuple[int, int]:
    """Every stream's versions are 1..n (no gap, no duplicate), and the read models equal a rebuild from the log.
    Returns (streams, events)."""
    return asyncio.run(_log_and_projections(dsn))


# The events every accepted step of a driven case leaves (opening, agreement, the third signature, both decisions,
# both payouts, stable housing, the closing): a step answered 2xx and missing here would be a lost step.
STEP_EVENTS = {"CaseOpened": 1, "AgreementDrafted": 1, "AgreementInForce": 1, "ClaimApproved": 2, "PayoutPaid": 2,
               "StableHousingDeclared": 1, "CaseClosed": 1}


def assert_no_accepted_step_lost(dsn: str, ds: list[FbuDriver]) -> int:
    """Each driven case holds exactly one event per accepted step (none lost, none doubled); returns the number of
    accepted steps checked."""

    async def count() -> dict[tuple[str, str], int]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT case_id, type, count(*) AS n FROM domain_events WHERE case_id = ANY($1) "
                                    "GROUP BY 1, 2", [d.case_id for d in ds])
            return {(r["case_id"], r["type"]): int(r["n"]) for r in rows}
        finally:
            await conn.close()

    found = asyncio.run(count())
    for d in ds:
        assert d.case_id is not None
        got = {t: found.get((d.case_id, t), 0) for t in STEP_EVENTS}
        assert got == STEP_EVENTS, (d.case_id, got, d.accepted)
    return sum(len(d.accepted) for d in ds)
