"""Long-running processes: ``migrate``, the ``worker``, the ``api`` and the two simulators.

Each serves until the first SIGINT or SIGTERM, then stops gracefully and exits 0."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
import uvicorn

from api.app import create_app
from simulators.netbeheerder import app as netbeheerder_sim
from simulators.payments import app as payments_sim
from vangnet.cli.common import guarded, run_client_command, setup, with_db
from vangnet.security.tokens import jwks, load_or_create_key
from vangnet.stack.embedded import require_free_port
from vangnet.stack.runtime import api_context_factory, check_database, database_url
from vangnet.storage import projections
from vangnet.storage.db import migrate as apply
from worker.main import run_worker

commands = typer.Typer()


def _serve_http(application: Any, host: str, port: int) -> None:
    """Serve an ASGI app until the first SIGINT or SIGTERM, then stop gracefully and return (exit 0).

    uvicorn's own signal handling re-raises the signal after its stop, inside the event loop, and turns a second
    signal into a forced exit; under ``vangnet dev`` a Ctrl-C reaches every child as SIGINT and ``vangnet dev``
    then sends SIGTERM, and the API now and then skipped its application shutdown and logged a traceback. Here
    the loop's own handlers ask the server to exit on the first signal and ignore the rest; nothing is re-raised.
    """

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


@commands.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = setup()

    async def work(conn: Any) -> None:
        done = await apply(conn)
        async with conn.transaction():  # a migration may add or reset a read model: fill it from the log now
            await conn.execute("SELECT pg_advisory_xact_lock($1)", projections.APPEND_LOCK)
            caught_up = await projections.catch_up(conn)
        typer.echo(f"migrations applied: {len(done)}" + (f" ({', '.join(m.name for m in done)})" if done else "")
                   + (f"; read models caught up with {caught_up} events" if caught_up else ""))

    with_db(settings, work)


@commands.command()
def worker() -> None:
    """Run the Temporal worker (workflows and activities) on the task queue."""
    settings = setup()

    async def run() -> None:
        url = database_url(settings)
        await check_database(url)
        await run_worker(settings, url)

    run_client_command(lambda: _run_until_stopped(run))  # it holds a Temporal client: no interpreter teardown


@commands.command()
def api() -> None:
    """Serve the HTTP API."""
    settings = setup()

    def run() -> None:
        require_free_port(settings.api_host, settings.api_port, "API")
        keys = None if settings.token_jwks_url else jwks(load_or_create_key(settings.key_file))
        application = create_app(api_context_factory(settings), jwks=keys, max_body_bytes=settings.api_max_body_bytes,
                                 writes_per_minute=settings.api_writes_per_minute)
        _serve_http(application, settings.api_host, settings.api_port)

    run_client_command(run)  # it holds a Temporal client: no interpreter teardown


@commands.command("sim-payments")
def sim_payments(
    port: Annotated[int | None, typer.Option(help="Port (default: the payment_sim_port setting).")] = None,
) -> None:
    """Run the Wonen-Vlaanderen payment system simulator (faults: PAYSIM_* variables or PUT /faults)."""
    settings = setup()

    def run() -> None:
        cfg = payments_sim.config_from_env()
        listen = port or settings.payment_sim_port
        require_free_port("127.0.0.1", listen, "payment simulator")
        db = cfg.db_path or str((settings.var_dir / "payments.sqlite3").resolve())
        application = payments_sim.create_app(db, error_rate=cfg.error_rate, latency_ms=cfg.latency_ms,
                                 commit_then_fail_rate=cfg.commit_then_fail_rate, seed=cfg.seed)
        _serve_http(application, "127.0.0.1", listen)

    guarded(run)


@commands.command("sim-netbeheerder")
def sim_netbeheerder(
    port: Annotated[int | None, typer.Option(help="Port (default: the netbeheerder_sim_port setting).")] = None,
) -> None:
    """Run the netbeheerder simulator (faults: NBSIM_* variables or PUT /faults); it signs its callbacks."""
    settings = setup()

    def run() -> None:
        cfg = netbeheerder_sim.config_from_env()
        listen = port or settings.netbeheerder_sim_port
        require_free_port("127.0.0.1", listen, "netbeheerder simulator")
        secrets = settings.netbeheerder_secrets.get(cfg.netbeheerder)
        secret = secrets[0].get_secret_value() if secrets else cfg.secret
        application = netbeheerder_sim.create_app(secret=secret, netbeheerder=cfg.netbeheerder, delay_ms=cfg.delay_ms,
                                 duplicate_rate=cfg.duplicate_rate, reorder_rate=cfg.reorder_rate,
                                 error_rate=cfg.error_rate, seed=cfg.seed)
        _serve_http(application, "127.0.0.1", listen)

    guarded(run)
