"""``vangnet simulate``: rehearse a case on the time-skipping test server.

The real workflows, activities, API validation and payment simulator run against a throw-away PostgreSQL; the
clock jumps from one scenario day to the next, so a year of case life takes seconds. Every domain event is
printed as one JSON line with its scenario day and date.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TextIO

import asyncpg
import httpx
import uvicorn
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.context import ApiContext
from schemas.calendar import brussels_date, brussels_midnight
from schemas.netbeheerder import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from simulators.netbeheerder.app import create_app as create_netbeheerder_app
from simulators.payments.app import create_app as create_payment_app
from vangnet.platform.converter import data_converter
from vangnet.platform.settings import Settings
from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES, RuleBookError
from vangnet.rulebooks.winter_windows import extend_winter_window
from vangnet.security.codec import new_key
from vangnet.security.sharing import seed_demo
from vangnet.security.tokens import TokenVerifier, issue, jwks, load_or_create_key
from vangnet.stack.embedded import bin_path, start_postgres
from vangnet.storage.db import migrate
from worker.main import activities_for, build_worker

DAY_REF = re.compile(r"^\{day:(\d+)\}$")
STEP_HOUR = timedelta(hours=9)  # steps happen at 09:00 Brussels on their day

# do -> (role, method, path template); {case} and {claim} are filled from the scenario's references.
ROUTES: dict[str, tuple[str, str, str]] = {
    "open_fbu_case": ("ocmw", "POST", "/v1/fbu/cases"),
    "draft_agreement": ("ocmw", "PUT", "/v1/fbu/cases/{case}/agreement"),
    "sign": ("ocmw", "POST", "/v1/fbu/cases/{case}/signatures"),
    "refuse": ("ocmw", "POST", "/v1/fbu/cases/{case}/refusals"),
    "record_repayment": ("ocmw", "POST", "/v1/fbu/cases/{case}/repayments"),
    "declare_stable_housing": ("ocmw", "POST", "/v1/fbu/cases/{case}/stable-housing"),
    "close_case": ("ocmw", "POST", "/v1/fbu/cases/{case}/close"),
    "decide_claim": ("wonen-vlaanderen", "POST", "/v1/claims/{claim}/decision"),
    "resubmit_claim": ("ocmw", "POST", "/v1/claims/{claim}/resubmit"),
    "open_energy_case": ("ocmw", "POST", "/v1/energy/cases"),
    "supplier_event": ("ocmw", "POST", "/v1/energy/cases/{case}/supplier-events"),
    "prepayment_request": ("ocmw", "POST", "/v1/energy/cases/{case}/prepayment-requests"),
    "lac_request": ("ocmw", "POST", "/v1/energy/cases/{case}/lac-requests"),
    "lac_advice": ("ocmw", "POST", "/v1/energy/cases/{case}/lac-advice"),
    "minimal_supply_restore_request": ("ocmw", "POST", "/v1/energy/cases/{case}/minimal-supply/restore-request"),
    "winter_support": ("ocmw", "POST", "/v1/energy/cases/{case}/winter-support"),
    "winter_support_decision": ("ocmw", "POST", "/v1/energy/cases/{case}/winter-support/decision"),
    "close_energy_case": ("ocmw", "POST", "/v1/energy/cases/{case}/close"),
    "netbeheerder_callback": ("netbeheerder", "POST", "/v1/integrations/netbeheerder/callbacks"),
}
OPENERS = ("open_fbu_case", "open_energy_case")
RULE_BOOK_STEPS = ("extend_winter_ban",)  # change the rehearsal's copy of the energy rule book, as an operator would
SIM_SECRET = "simulate-secret"  # noqa: S105 - a throw-away secret shared by the rehearsal's own simulator


class ScenarioError(ValueError):
    """The scenario file cannot be run; the message says where and why."""


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: int = Field(ge=0, le=3660)
    do: Literal[
        "open_fbu_case", "draft_agreement", "sign", "refuse", "record_repayment", "declare_stable_housing",
        "close_case", "decide_claim", "resubmit_claim", "open_energy_case", "supplier_event", "prepayment_request",
        "lac_request", "lac_advice", "minimal_supply_restore_request", "winter_support", "winter_support_decision",
        "close_energy_case", "netbeheerder_callback", "extend_winter_ban",
    ]
    body: dict[str, Any] = Field(default_factory=dict)
    case: str = Field("case", description="Name of the case this step acts on (set by open_fbu_case).")
    claim: Literal["initial", "tranche_2"] = Field("initial", description="Which claim of the case (claim steps).")
    expect: int | None = Field(None, description="Expected HTTP status when the step is meant to be refused.")


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    ocmw: str = "ocmw-44021"
    steps: list[Step] = Field(min_length=1)
    until_day: int | None = Field(None, ge=0, description="Keep the clock running until this day after the last step.")


def load_scenario(path: Path) -> Scenario:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ScenarioError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s))") from None
    days = [s.day for s in scenario.steps]
    if days != sorted(days):
        raise ScenarioError(f"{path}: steps must be in day order")
    return scenario


def resolve_days(value: Any, start: date) -> Any:
    """Replace every string ``{day:N}`` in a body by the ISO date of scenario day N."""
    if isinstance(value, str):
        match = DAY_REF.match(value)
        return (start + timedelta(days=int(match.group(1)))).isoformat() if match else value
    if isinstance(value, list):
        return [resolve_days(v, start) for v in value]
    if isinstance(value, dict):
        return {k: resolve_days(v, start) for k, v in value.items()}
    return value


@dataclass
class _Run:
    start: date
    out: TextIO
    api: httpx.AsyncClient
    pool: asyncpg.Pool
    tokens: dict[str, dict[str, str]]
    busy: Callable[[], bool] = lambda: False  # the netbeheerder simulator still has callbacks to deliver
    energy_rules: Path | None = None  # the rehearsal's own copy of the energy rule book
    cases: dict[str, str] = field(default_factory=dict)
    position: int = 0

    def emit(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.out.flush()

    async def drain(self, settle: float = 0.3, limit: float = 10.0, quick: bool = False) -> None:
        """Print new events until the log has been quiet for ``settle`` seconds (effects of a step are async,
        and the simulators answer in real time). ``quick``: return at once if nothing new happened at all."""
        quiet_since = time.monotonic()
        deadline = time.monotonic() + limit
        first, seen_any = True, False
        while (time.monotonic() - quiet_since < settle or self.busy()) and time.monotonic() < deadline:
            if not first:
                await asyncio.sleep(0.05)
            first = False
            rows = await self.pool.fetch(
                "SELECT position, case_id, stream, type, data, occurred_at FROM domain_events "
                "WHERE position > $1 ORDER BY position", self.position)
            for r in rows:
                self.position = r["position"]
                on = brussels_date(r["occurred_at"])
                self.emit({"day": (on - self.start).days, "date": on.isoformat(), "type": r["type"],
                           "case": r["case_id"], "stream": r["stream"], "data": json.loads(r["data"])})
                quiet_since = time.monotonic()
                seen_any = True
            if quick and not seen_any and not self.busy():
                return

    async def _callback(self, n: int, case_id: str, body: dict[str, Any]) -> httpx.Response:
        """A netbeheerder callback about the case's connection point, signed like the real one."""
        row = await self.pool.fetchrow("SELECT ean, energy, netbeheerder FROM energy_cases WHERE case_id = $1", case_id)
        if row is None:
            raise ScenarioError(f"step {n}: a netbeheerder callback needs an energy case")
        payload = {"event_id": f"scenario-{n}", "ean": row["ean"], "energy": row["energy"],
                   "netbeheerder": row["netbeheerder"], "occurred_at": datetime.now(UTC).isoformat(),
                   "request_key": None, "data": {}, **body}
        raw = json.dumps(payload).encode()
        stamp = int(time.time())
        headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(SIM_SECRET, stamp, raw),
                   "Content-Type": "application/json"}
        return await self.api.post("/v1/integrations/netbeheerder/callbacks", content=raw, headers=headers)

    async def claim_id(self, case_id: str, kind: str) -> str:
        row = await self.pool.fetchrow(
            "SELECT claim_id FROM proj_claims WHERE case_id = $1 AND claim_kind = $2", case_id, kind)
        if row is None:
            raise ScenarioError(f"case {case_id} has no {kind} claim yet")
        return str(row["claim_id"])

    def extend_winter_ban(self, n: int, step: Step) -> bool:
        """``vangnet rules winter-ban extend`` on the rehearsal's rule book: ``until`` (and ``start``) dates, a
        ``source``, and the ``winter`` (default: the winter running on the step's day)."""
        body, on = resolve_days(step.body, self.start), self.start + timedelta(days=step.day)
        assert self.energy_rules is not None
        winter_of_day = on.year if on.month >= 7 else on.year - 1
        try:
            start = date.fromisoformat(str(body["start"])) if "start" in body else None
            entry = extend_winter_window(
                self.energy_rules, winter=str(body.get("winter") or f"{winter_of_day}-{winter_of_day + 1}"),
                until=date.fromisoformat(str(body["until"])), source=str(body.get("source", "")), start=start)
        except (RuleBookError, KeyError, ValueError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            self.emit({"day": step.day, "step": n, "do": step.do, "status": 422, "detail": detail})
            return step.expect == 422
        self.emit({"day": step.day, "date": on.isoformat(), "step": n, "do": step.do, "rule": entry.id,
                   "start": entry.start.isoformat(), "end": entry.end.isoformat(), "source": entry.source})
        return step.expect is None

    async def step(self, n: int, step: Step) -> bool:
        if step.do in RULE_BOOK_STEPS:
            return self.extend_winter_ban(n, step)
        role, method, template = ROUTES[step.do]
        case_id = self.cases.get(step.case, "")
        if step.do not in OPENERS and not case_id:
            raise ScenarioError(f"step {n} ({step.do}): no case named '{step.case}' was opened before")
        claim_id = await self.claim_id(case_id, step.claim) if "{claim}" in template else ""
        path = template.format(case=case_id, claim=claim_id)
        body = resolve_days(step.body, self.start)
        if step.do == "netbeheerder_callback":
            response = await self._callback(n, case_id, body)
        else:
            headers = {**self.tokens[role], "Idempotency-Key": f"scenario-step-{n}"}
            response = await self.api.request(method, path, json=body, headers=headers)
        ok = response.status_code < 400
        if step.do in OPENERS and ok:
            self.cases[step.case] = response.json()["case_id"]
        if not ok or step.expect is not None:
            detail = response.json().get("detail") if "json" in response.headers.get("content-type", "") else None
            self.emit({"day": step.day, "step": n, "do": step.do, "status": response.status_code, "detail": detail})
        if step.expect is not None:
            return response.status_code == step.expect
        return ok


async def run_scenario(scenario: Scenario, start: date | None, out: TextIO = sys.stdout,
                       progress: Callable[[str], None] | None = None, histories: Path | None = None) -> int:
    """Run a scenario; return the process exit status (0 = every step did what it should)."""
    say = progress or (lambda _msg: None)
    today = brussels_date(datetime.now(UTC))
    if start is not None and start < today:
        raise ScenarioError(f"--start {start} lies in the past (today is {today}); the clock only moves forward")
    tmp = Path(tempfile.mkdtemp(prefix="vgsim-", dir="/tmp"))
    say("starting PostgreSQL, the time-skipping server and the payment simulator …")
    server, dsn = start_postgres(tmp / "pg")
    payments = _serve(create_payment_app(None, seed=1))
    grid_app = create_netbeheerder_app(secret=SIM_SECRET, netbeheerder="fluvius", delay_ms=20, seed=1)
    grid = _serve(grid_app)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(), test_server_existing_path=bin_path("temporal-test-server"),
        runtime=quiet_runtime())
    try:
        begin = start or brussels_date(await env.get_current_time())
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
            await seed_demo(conn)  # a rehearsal shows the flows as they run once their policies exist
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=5)
        key = load_or_create_key(tmp / "issuer.pem")
        api_port = _free_port()
        settings = Settings(payment_system_url=payments[0], token_private_key_file=tmp / "issuer.pem",
                            temporal_task_queue="simulate", worker_metrics_port=0,
                            netbeheerder_urls={"fluvius": grid[0]},
                            netbeheerder_secrets={"fluvius": [SecretStr(SIM_SECRET)]},
                            public_url=f"http://127.0.0.1:{api_port}",
                            master_keys={"rehearsal": SecretStr(new_key())})
        energy_rules = tmp / "energy.json"  # a copy, so a rule-book step changes only this rehearsal's book
        shutil.copyfile(settings.energy_rules_file or DEFAULT_ENERGY_RULES, energy_rules)
        settings = settings.model_copy(update={"energy_rules_file": energy_rules})
        verifier = TokenVerifier(issuer=settings.token_issuer, audience=settings.token_audience, key=key)
        app = create_app(jwks=jwks(key))
        app.state.ctx = ApiContext(settings=settings, client=env.client, pool=pool, verifier=verifier,
                                   task_queue="simulate", clock=env.get_current_time)

        def token(role: str, org: str | None) -> dict[str, str]:
            t = issue(key, issuer=settings.token_issuer, audience=settings.token_audience, role=role, org=org)
            return {"Authorization": f"Bearer {t}"}

        tokens = {"ocmw": token("ocmw", scenario.ocmw), "wonen-vlaanderen": token("wonen-vlaanderen", None)}
        # The API also listens on a port in this loop: the netbeheerder simulator calls it back over HTTP.
        listener = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning",
                                                 access_log=False, lifespan="off"))
        serving = asyncio.create_task(listener.serve())
        while not listener.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient() as http, build_worker(
            env.client, "simulate", activities_for(env.client, pool, http, settings), settings
        ), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://simulate") as api:
            run = _Run(start=begin, out=out, api=api, pool=pool, tokens=tokens,
                       busy=lambda: bool(grid_app.state.simulator.tasks), energy_rules=energy_rules)
            failures = 0
            say(f"running {len(scenario.steps)} steps from {begin} …")
            day = 0
            for n, step in enumerate(scenario.steps, start=1):
                day = await _walk(env, run, begin, day, step.day)
                if not await run.step(n, step):
                    failures += 1
                await run.drain()
            if scenario.until_day is not None:
                await _walk(env, run, begin, day, scenario.until_day)
            if histories is not None:
                await _save_histories(env.client, pool, histories)
                say(f"histories written to {histories}")
            listener.should_exit = True
            await serving
            await pool.close()
        say(f"done: {len(scenario.steps)} steps, {failures} refused unexpectedly, "
            f"simulated until {brussels_date(await env.get_current_time())}")
        return 1 if failures else 0
    finally:
        await env.shutdown()
        payments[1].should_exit = True
        grid[1].should_exit = True
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


async def _save_histories(client: Any, pool: asyncpg.Pool, folder: Path) -> None:
    """Write each workflow's history as JSON, for replay tests that catch non-deterministic changes."""
    rows = await pool.fetch("SELECT DISTINCT stream, case_kind FROM domain_events ORDER BY stream")
    files: dict[Path, str] = {}
    for row in rows:
        workflow_id = row["stream"]
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        kind = "claim" if workflow_id.startswith("clm-") else "case"
        files[folder / f"{row['case_kind']}-{kind}-{workflow_id[-12:]}.json"] = history.to_json()

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.write_text(text)

    await asyncio.to_thread(write)


def quiet_runtime() -> Any:
    """A Temporal runtime that keeps the SDK core's warnings off the rehearsal's output."""
    return Runtime(telemetry=TelemetryConfig(
        logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))


async def _walk(env: Any, run: _Run, start: date, from_day: int, to_day: int) -> int:
    """Move the clock to 09:00 of ``to_day`` one day at a time, letting each day's effects settle: deadlines fire
    at midnight, and the simulators answer in real time, so a later day must not start before they have."""
    for day in range(from_day + 1, to_day + 1):
        await _advance_to(env, brussels_midnight(start + timedelta(days=day)) + timedelta(minutes=1))
        await run.drain(quick=True)
    await _advance_to(env, brussels_midnight(start + timedelta(days=to_day)) + STEP_HOUR)
    await run.drain(quick=True)
    return to_day


async def _advance_to(env: Any, target: datetime) -> None:
    now = await env.get_current_time()
    if target > now:
        await env.sleep(target - now)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app: Any) -> tuple[str, uvicorn.Server]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server
