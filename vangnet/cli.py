"""The ``vangnet`` command line.

Every command reports a configuration problem as one line on stderr and exits with status 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import typer

from vangnet.cli_common import _parse_date, _setup, fail, guarded
from vangnet.cli_retention import retention_app
from vangnet.settings import Settings, get_settings

app = typer.Typer(help="Vangnet: FBU and energy-arrears case engine on Temporal.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
rules_app = typer.Typer(help="Inspect the dated rule sets.", no_args_is_help=True)
projections_app = typer.Typer(help="Maintain the read models built from the event log.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(projections_app, name="projections")
policies_app = typer.Typer(help="Data-sharing policies between organisations.", no_args_is_help=True)
app.add_typer(policies_app, name="policies")
app.add_typer(retention_app, name="retention")

T = TypeVar("T")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _signals_as_ctrl_c(*signals: signal.Signals) -> Iterator[None]:
    """Within the block these signals (SIGTERM from ``kill``, systemd or a parent; SIGHUP from a closed terminal)
    raise ``KeyboardInterrupt``, exactly like Ctrl-C, so the same clean stop runs; the old handlers come back."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _signals_ignored(*signals: signal.Signals) -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not cut a clean stop short (that is how PostgreSQL gets left behind)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve_http(application: Any, host: str, port: int) -> None:
    """Serve an ASGI app until the first SIGINT or SIGTERM, then stop gracefully and return (exit 0).

    uvicorn's own signal handling re-raises the signal after its stop, inside the event loop, and turns a second
    signal into a forced exit; under ``vangnet dev`` a Ctrl-C reaches every child as SIGINT and ``vangnet dev``
    then sends SIGTERM, and the API now and then skipped its application shutdown and logged a traceback. Here
    the loop's own handlers ask the server to exit on the first signal and ignore the rest; nothing is re-raised.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:  # the handlers in serve() below decide
            yield

    async def serve() -> None:
        server = Server(uvicorn.Config(application, host=host, port=port, log_config=None, access_log=False))
        loop = asyncio.get_running_loop()

        def stop() -> None:
            server.should_exit = True  # a second signal finds it set: one graceful stop, never a forced one

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        await server.serve()

    asyncio.run(serve())


def _run_until_stopped(main: Callable[[], Awaitable[None]]) -> None:
    """``asyncio.run`` for a long-running command: the first SIGINT or SIGTERM cancels it, so it shuts down
    gracefully and exits 0; further ones are ignored while it does (a parent escalates to SIGKILL if need be)."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        stopping = False

        def stop() -> None:
            nonlocal stopping
            if not stopping:
                stopping = True
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        try:
            await main()
        except asyncio.CancelledError:
            if not stopping:
                raise
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    asyncio.run(run())


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = _setup()

    async def run() -> None:
        import asyncpg

        from vangnet import projections
        from vangnet.db import migrate as apply
        from vangnet.runtime import check_database, database_url

        url = database_url(settings)
        await check_database(url)
        conn = await asyncpg.connect(url)
        try:
            done = await apply(conn)
            async with conn.transaction():  # a migration may add or reset a read model: fill it from the log now
                await conn.execute("SELECT pg_advisory_xact_lock($1)", projections.APPEND_LOCK)
                caught_up = await projections.catch_up(conn)
        finally:
            await conn.close()
        typer.echo(f"migrations applied: {len(done)}" + (f" ({', '.join(m.name for m in done)})" if done else "")
                   + (f"; read models caught up with {caught_up} events" if caught_up else ""))

    guarded(lambda: asyncio.run(run()))


@app.command()
def worker() -> None:
    """Run the Temporal worker (workflows and activities) on the task queue."""
    settings = _setup()

    async def run() -> None:
        from vangnet.runtime import check_database, database_url
        from worker.main import run_worker

        url = database_url(settings)
        await check_database(url)
        await run_worker(settings, url)

    guarded(lambda: _run_until_stopped(run))


@app.command()
def api() -> None:
    """Serve the HTTP API."""
    settings = _setup()

    def run() -> None:

        from api.app import create_app
        from vangnet.embedded import require_free_port
        from vangnet.runtime import api_context_factory
        from vangnet.tokens import jwks, load_or_create_key

        require_free_port(settings.api_host, settings.api_port, "API")
        keys = None if settings.token_jwks_url else jwks(load_or_create_key(settings.key_file))
        application = create_app(api_context_factory(settings), jwks=keys, max_body_bytes=settings.api_max_body_bytes,
                                 writes_per_minute=settings.api_writes_per_minute)
        _serve_http(application, settings.api_host, settings.api_port)

    guarded(run)


@app.command("sim-payments")
def sim_payments(
    port: Annotated[int | None, typer.Option(help="Port (default: the payment_sim_port setting).")] = None,
) -> None:
    """Run the Wonen-Vlaanderen payment system simulator (faults: PAYSIM_* variables or PUT /faults)."""
    settings = _setup()

    def run() -> None:

        from simulators.payments.app import config_from_env, create_app
        from vangnet.embedded import require_free_port

        cfg = config_from_env()
        listen = port or settings.payment_sim_port
        require_free_port("127.0.0.1", listen, "payment simulator")
        db = cfg.db_path or str((settings.var_dir / "payments.sqlite3").resolve())
        application = create_app(db, error_rate=cfg.error_rate, latency_ms=cfg.latency_ms,
                                 commit_then_fail_rate=cfg.commit_then_fail_rate, seed=cfg.seed)
        _serve_http(application, "127.0.0.1", listen)

    guarded(run)


@app.command("sim-netbeheerder")
def sim_netbeheerder(
    port: Annotated[int | None, typer.Option(help="Port (default: the netbeheerder_sim_port setting).")] = None,
) -> None:
    """Run the netbeheerder simulator (faults: NBSIM_* variables or PUT /faults); it signs its callbacks."""
    settings = _setup()

    def run() -> None:

        from simulators.netbeheerder.app import config_from_env, create_app
        from vangnet.embedded import require_free_port

        cfg = config_from_env()
        listen = port or settings.netbeheerder_sim_port
        require_free_port("127.0.0.1", listen, "netbeheerder simulator")
        secrets = settings.netbeheerder_secrets.get(cfg.netbeheerder)
        secret = secrets[0].get_secret_value() if secrets else cfg.secret
        application = create_app(secret=secret, netbeheerder=cfg.netbeheerder, delay_ms=cfg.delay_ms,
                                 duplicate_rate=cfg.duplicate_rate, reorder_rate=cfg.reorder_rate,
                                 error_rate=cfg.error_rate, seed=cfg.seed)
        _serve_http(application, "127.0.0.1", listen)

    guarded(run)


@app.command()
def token(
    role: Annotated[str, typer.Option(help="ocmw, ocmw-coordinator, wonen-vlaanderen, netbeheerder, auditor, admin")],
    org: Annotated[str | None, typer.Option(help="The OCMW or netbeheerder id, e.g. ocmw-44021.")] = None,
    subject: Annotated[str | None, typer.Option(help="The user the token is for.")] = None,
) -> None:
    """Print a bearer token from the embedded identity provider."""
    settings = get_settings()

    def run() -> None:
        from vangnet.tokens import TokenError, issue, load_or_create_key

        if settings.token_jwks_url:
            raise TokenError("an external identity provider is configured; get tokens from it")
        key = load_or_create_key(settings.key_file)
        typer.echo(issue(key, issuer=settings.token_issuer, audience=settings.token_audience, role=role, org=org,
                         subject=subject, ttl_seconds=settings.token_ttl_seconds))

    guarded(run)


@rules_app.command("list")
def rules_list() -> None:
    """List the FBU rule sets with the dates they apply to."""
    settings = get_settings()

    def run() -> None:
        from vangnet.rulebook import load_fbu_rule_book

        book = load_fbu_rule_book(settings.fbu_rules_file)
        for rs in book.rule_sets:
            until = rs.valid_until.isoformat() if rs.valid_until else "open-ended"
            typer.echo(json.dumps({"id": rs.id, "submitted_from": rs.valid_from.isoformat(),
                                   "submitted_until": until, "source": rs.source}))

    guarded(run)


def _parse_amount(value: str, what: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise fail(f"{what} must be an amount like 1250.00, not '{value}'") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise fail(f"{what} must be positive with at most two decimals")
    return amount


@rules_app.command("energy")
def rules_energy(
    on: Annotated[str, typer.Option(help="Date of the notice of default (YYYY-MM-DD).")],
) -> None:
    """Print the energy rule set in force on a date, with the emergency credit and the seasonal windows, as JSON."""
    settings = get_settings()
    day = _parse_date(on, "--on")

    def run() -> None:
        from schemas.energy_rules import (
            NoEuroCreditError,
            emergency_credit,
            heating_support_open,
            in_winter_ban,
            select_energy_rule_set,
        )
        from schemas.fbu_rules import NoRuleSetError
        from vangnet.rulebook import load_energy_rule_book

        book = load_energy_rule_book(settings.energy_rules_file)
        try:
            rs = select_energy_rule_set(book, day)
        except NoRuleSetError as exc:
            raise fail(str(exc)) from None
        credit: dict[str, Any]
        try:
            credit = {e: str(emergency_credit(book, e, day)) for e in ("electricity", "gas")}
        except NoEuroCreditError as exc:
            credit = {"unit": "kwh", "note": str(exc)}
        out = {"rule_set": rs.model_dump(mode="json"), "emergency_credit_eur": credit,
               "in_winter_ban": in_winter_ban(book, day), "heating_support_open": heating_support_open(book, day)}
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))

    guarded(run)


@rules_app.command("fbu")
def rules_fbu(
    submitted_on: Annotated[str, typer.Option(help="Submission date of the signed agreement (YYYY-MM-DD).")],
    arrears: Annotated[str, typer.Option(help="Arrears amount in euro.")],
    monthly_rent: Annotated[str | None, typer.Option(help="Monthly rent, for the 2–6 months check.")] = None,
    market: Annotated[str, typer.Option(help="private | svk | social")] = "private",
    arrears_since: Annotated[str | None, typer.Option(help="When the arrears arose (default: submitted-on).")] = None,
) -> None:
    """Print the rule set, eligibility and the three payout amounts for a submission, as JSON."""
    settings = get_settings()
    on = _parse_date(submitted_on, "--submitted-on")
    amount = _parse_amount(arrears, "--arrears")
    rent = _parse_amount(monthly_rent, "--monthly-rent") if monthly_rent else None
    since = _parse_date(arrears_since, "--arrears-since") if arrears_since else on
    if market not in ("private", "svk", "social"):
        raise fail("--market must be private, svk or social")

    def run() -> None:
        from schemas.fbu_rules import NoRuleSetError, check_eligibility, compute_payouts, select_rule_set
        from vangnet.rulebook import load_fbu_rule_book

        book = load_fbu_rule_book(settings.fbu_rules_file)
        try:
            rs = select_rule_set(book, on)
        except NoRuleSetError as exc:
            raise fail(str(exc)) from None
        out: dict[str, Any] = {"rule_set": rs.model_dump(mode="json")}
        if rent is not None:
            el = check_eligibility(rs, market=market, arrears_amount=amount, arrears_since=since,  # type: ignore[arg-type]
                                   monthly_rent=rent)
            out["eligibility"] = el.model_dump(mode="json")
        else:
            out["eligibility"] = {"eligible": None, "reasons": ["Give --monthly-rent to check the arrears months."]}
        out["payouts"] = compute_payouts(rs, amount).model_dump(mode="json")
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))

    guarded(run)


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario JSON file (see docs/scenarios.md).")],
    start: Annotated[str | None, typer.Option(help="Day 0 as YYYY-MM-DD, not in the past (default: today).")] = None,
    save_histories: Annotated[Path | None, typer.Option(help="Write the workflow histories here (replay tests).")]
    = None,
) -> None:
    """Rehearse a scenario on the time-skipping server; prints every domain event as a JSON line."""
    from vangnet.logging import configure_logging
    from vangnet.simulate import ScenarioError, load_scenario, run_scenario

    configure_logging("console", "warning")
    begin = _parse_date(start, "--start") if start else None

    def run() -> int:
        try:
            loaded = load_scenario(scenario)
            return asyncio.run(run_scenario(loaded, begin, progress=lambda m: typer.echo(m, err=True),
                                            histories=save_histories))
        except ScenarioError as exc:
            raise fail(str(exc)) from None

    status = guarded(run)
    if status:
        raise typer.Exit(status)


def _with_db(settings: Settings, work: Callable[[Any], Awaitable[None]]) -> None:
    async def run() -> None:
        import asyncpg

        from vangnet.runtime import check_database, database_url

        url = database_url(settings)
        await check_database(url)
        conn = await asyncpg.connect(url)
        try:
            await work(conn)
        finally:
            await conn.close()

    guarded(lambda: asyncio.run(run()))


@app.command()
def erase(
    subject: Annotated[str | None, typer.Option(help="A data subject id (sub-…).")] = None,
    case: Annotated[str | None, typer.Option(help="Erase every data subject of this case.")] = None,
) -> None:
    """Erase personal data for good by deleting the subjects' keys; events and amounts stay, names become 'erased'."""
    if (subject is None) == (case is None):
        raise fail("give exactly one of --subject or --case")
    settings = _setup()

    async def work(conn: Any) -> None:
        from datetime import UTC, datetime

        from vangnet import retention

        found = await retention.subjects(conn, case_id=case, subject_ids=[subject] if subject else None,
                                         include_erased=True)
        if not found:
            raise fail(f"no personal data found for {'subject ' + subject if subject else 'case ' + str(case)}")
        erased = [s.subject_id for s in found
                  if await retention.erase(conn, s, reason="request", at=datetime.now(UTC),
                                           details={"via": "vangnet erase"})]
        typer.echo(json.dumps({"erased": erased,
                               "already_erased": [s.subject_id for s in found if s.subject_id not in erased]}))

    _with_db(settings, work)


@app.command("rewrap-keys")
def rewrap_keys(
    batch: Annotated[int, typer.Option(min=1, max=10000, help="Subjects per transaction.")] = 500,
) -> None:
    """After a master-key rotation: wrap every subject's data key under the active master key, so the old master
    key can be retired. Safe to stop and run again; prints progress."""
    settings = _setup()

    async def work(conn: Any) -> None:
        from vangnet.converter import vault_for
        from vangnet.vault import VaultError

        vault = vault_for(settings)
        before = await vault.master_key_use(conn)
        total = 0
        try:
            while True:
                async with conn.transaction():
                    done = await vault.rewrap(conn, batch)
                if not done:
                    break
                total += done
                typer.echo(f"  rewrapped {total} subject keys …", err=True)
        except VaultError as exc:
            raise fail(f"{exc} ({total} rewrapped before this)") from None
        typer.echo(json.dumps({"rewrapped": total, "before": before, "after": await vault.master_key_use(conn)}))

    _with_db(settings, work)


@policies_app.command("list")
def policies_list() -> None:
    """Print every data-sharing policy as a JSON line (add one with `policies add`, end one with `policies end`)."""
    settings = _setup()

    async def work(conn: Any) -> None:
        rows = await conn.fetch("SELECT * FROM sharing_policies ORDER BY created_at, policy_id")
        for r in rows:
            typer.echo(json.dumps({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()},
                                  ensure_ascii=False))
        if not rows:
            typer.echo("no data-sharing policies: no data crosses an organisation boundary", err=True)

    _with_db(settings, work)


@policies_app.command("seed-demo")
def policies_seed_demo() -> None:
    """Record DEMO policies (marked as such) on an empty table, so the flows can be tried on a dev machine."""
    settings = _setup()

    async def work(conn: Any) -> None:
        from vangnet.sharing import seed_demo

        n = await seed_demo(conn)
        typer.echo(f"demo data-sharing policies recorded: {n}" if n else "policies exist already; nothing seeded",
                   err=True)

    _with_db(settings, work)


@policies_app.command("add")
def policies_add(
    file: Annotated[str, typer.Argument(help="A policy as JSON (the body of POST /v1/admin/sharing-policies); "
                                             "'-' reads standard input.")],
) -> None:
    """Record a data-sharing policy (legal basis, agreement, purpose, data categories, validity); prints it."""
    settings = _setup()
    from pydantic import ValidationError

    from vangnet.sharing import PolicyIn

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        policy = PolicyIn.model_validate_json(text)
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: "
                             f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise fail(f"the policy is not valid, nothing was recorded: {problems}") from None

    async def work(conn: Any) -> None:
        import getpass

        from vangnet.sharing import add_policy

        added = await add_policy(conn, policy, f"cli:{getpass.getuser()}")
        typer.echo(added.model_dump_json())

    _with_db(settings, work)


@policies_app.command("end")
def policies_end(
    policy_id: Annotated[str, typer.Argument(help="The policy id (pol-…).")],
    on: Annotated[str | None, typer.Option(help="Last day it applies (YYYY-MM-DD); default today in Brussels.")]
    = None,
) -> None:
    """End a policy (it is kept with its end date, so what was shared under it stays explainable)."""
    settings = _setup()
    from datetime import UTC, datetime

    from schemas.calendar import brussels_date

    day = _parse_date(on, "--on") if on else brussels_date(datetime.now(UTC))

    async def work(conn: Any) -> None:
        from vangnet.sharing import end_policy

        if not await end_policy(conn, policy_id, day):
            raise fail(f"no policy {policy_id} that is in force on {day} and ends later")
        typer.echo(f"policy {policy_id} ends on {day}", err=True)

    _with_db(settings, work)


@projections_app.command("rebuild")
def projections_rebuild() -> None:
    """Replay the whole event log into fresh read models."""
    settings = _setup()

    async def run() -> None:
        import asyncpg

        from vangnet import projections
        from vangnet.runtime import check_database, database_url

        url = database_url(settings)
        await check_database(url)
        conn = await asyncpg.connect(url)
        try:
            total = await conn.fetchval("SELECT count(*) FROM domain_events")
            start = time.monotonic()

            def progress(n: int) -> None:
                typer.echo(f"\rreplayed {n}/{total} events", nl=False, err=True)

            n = await projections.rebuild(conn, progress)
            typer.echo(f"\nrebuilt {', '.join(projections.TABLES)} from {n} events in "
                       f"{time.monotonic() - start:.1f} s", err=True)
        finally:
            await conn.close()

    guarded(lambda: asyncio.run(run()))


@app.command()
def dev() -> None:
    """Start the whole system on its embedded default, in the foreground; Ctrl-C stops everything."""
    settings = _setup(console=True)
    guarded(lambda: _dev(settings))


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _dev(settings: Settings) -> None:
    """SIGTERM (``kill``, systemd, a supervisor) and SIGHUP (the terminal closed) stop everything like Ctrl-C."""
    with _signals_as_ctrl_c(signal.SIGTERM, signal.SIGHUP):
        _run_dev(settings)


def _run_dev(settings: Settings) -> None:
    from vangnet.embedded import child_env, port_in_use, require_free_port, start_postgres, start_temporal

    for port, what in ((settings.api_port, "API"), (settings.payment_sim_port, "payment simulator"),
                       (settings.netbeheerder_sim_port, "netbeheerder simulator"),
                       (settings.worker_metrics_port, "worker metrics")):
        if port:
            require_free_port("127.0.0.1", port, what)
    var = settings.var_dir.resolve()
    var.mkdir(parents=True, exist_ok=True)
    pg: Any = None
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        if settings.embedded_database:
            typer.echo("starting embedded PostgreSQL …", err=True)
            pg, dsn = start_postgres(var / "pg")
        else:
            dsn = settings.database_url or ""
        env_values = {"VANGNET_DATABASE_URL": dsn, "VANGNET_TEMPORAL_ADDRESS": settings.temporal_target,
                      "VANGNET_VAR_DIR": str(var), "VANGNET_LOG_FORMAT": "console",
                      "VANGNET_PUBLIC_URL": f"http://{settings.api_host}:{settings.api_port}"}
        if "VANGNET_NETBEHEERDER_URLS" not in os.environ:  # the simulator plays every configured netbeheerder
            env_values["VANGNET_NETBEHEERDER_URLS"] = json.dumps(
                {name: f"http://127.0.0.1:{settings.netbeheerder_sim_port}" for name in settings.netbeheerder_urls})
        env = child_env(**env_values)
        me = [sys.executable, "-m", "vangnet.cli"]
        subprocess.run([*me, "migrate"], env=env, check=True)  # noqa: S603
        if pg is not None:  # only the embedded database gets demo policies, never a real one
            subprocess.run([*me, "policies", "seed-demo"], env=env, check=True)  # noqa: S603
        if settings.embedded_temporal:
            typer.echo("starting embedded Temporal dev server …", err=True)
            procs.append(("temporal", start_temporal(
                var / "temporal.db", port=settings.embedded_temporal_port,
                ui_port=settings.embedded_temporal_ui_port, namespace=settings.temporal_namespace,
                extra=["--ui-codec-endpoint", f"http://{settings.api_host}:{settings.api_port}/codec"])))
        for name, args in (("payments", ["sim-payments"]), ("netbeheerder", ["sim-netbeheerder"]),
                           ("worker", ["worker"]), ("api", ["api"])):
            procs.append((name, subprocess.Popen([*me, *args], env=env)))  # noqa: S603
        deadline = time.monotonic() + 60
        while not port_in_use(settings.api_host, settings.api_port):
            _exited(procs)
            if time.monotonic() > deadline:
                raise fail("the API did not start within 60 s")
            time.sleep(0.2)
        ui = (f"http://127.0.0.1:{settings.embedded_temporal_ui_port}" if settings.embedded_temporal
              else "(external cluster)")
        typer.secho(
            "\nVangnet is running (Ctrl-C stops everything)\n"
            f"  Web app        http://{settings.api_host}:{settings.api_port}/  (sign in: pick a role and an OCMW)\n"
            f"  API            http://{settings.api_host}:{settings.api_port}  (docs: /docs, health: /healthz)\n"
            f"  Temporal UI    {ui}  (to decrypt payloads: sign in at /codec/login on the API)\n"
            f"  Temporal       {settings.temporal_target}  namespace {settings.temporal_namespace}\n"
            f"  PostgreSQL     {'embedded in ' + str(var / 'pg') if pg else 'external'}\n"
            f"  Payments sim   http://127.0.0.1:{settings.payment_sim_port}/payments\n"
            f"  Netbeheerder   http://127.0.0.1:{settings.netbeheerder_sim_port}/v1/requests  (simulator)\n"
            f"  Worker metrics http://127.0.0.1:{settings.worker_metrics_port}/metrics\n"
            "  Token          vangnet token --role ocmw --org ocmw-44021\n",
            fg=typer.colors.GREEN, err=True)
        while True:
            _exited(procs)
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("\nstopping …", err=True)
    finally:
        with _signals_ignored(*STOP_SIGNALS):  # a second Ctrl-C must not leave PostgreSQL or a child running
            _stop(procs)
            if pg is not None:
                try:
                    pg.cleanup()
                except Exception as exc:
                    typer.echo(f"PostgreSQL stop: {exc}", err=True)


def _exited(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for name, proc in procs:
        if proc.poll() is not None:
            raise fail(f"the {name} process stopped (exit code {proc.returncode}); stopping the rest")


def _stop(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    """Stop children in reverse start order: SIGTERM, then SIGKILL after 10 s. Each one stops quietly with exit
    code 0; anything else is reported (a child that had already stopped was reported when it did)."""
    running = [(name, proc) for name, proc in reversed(procs) if proc.poll() is None]
    for _, proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for name, proc in running:
        try:
            code = proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            typer.echo(f"vangnet: the {name} process did not stop within 10 s; killed it", err=True)
            continue
        if code != 0:
            typer.echo(f"vangnet: the {name} process exited with code {code} while stopping", err=True)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # platformdirs (through the embedded PostgreSQL) warns when XDG_RUNTIME_DIR is unset; it falls back safely.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    app()


if __name__ == "__main__":
    main()
