"""``vangnet dev``: the whole system on its embedded default, in the foreground; Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import typer

from vangnet.cli.common import fail, guarded, setup
from vangnet.platform.settings import Settings
from vangnet.stack.embedded import EmbeddedPostgres, child_env, port_in_use, require_free_port, start_temporal
from vangnet.stack.supervisor import GaveUp, Supervisor, popen

commands = typer.Typer()


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


@commands.command()
def dev() -> None:
    """Start the whole system on its embedded default, in the foreground; Ctrl-C stops everything."""
    settings = setup(console=True)
    guarded(lambda: _dev(settings))


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _dev(settings: Settings) -> None:
    """SIGTERM (``kill``, systemd, a supervisor) and SIGHUP (the terminal closed) stop everything like Ctrl-C."""
    with _signals_as_ctrl_c(signal.SIGTERM, signal.SIGHUP):
        _run_dev(settings)


def _run_dev(settings: Settings) -> None:
    workers = _workers(settings)
    for port, what in ((settings.api_port, "API"), (settings.payment_sim_port, "payment simulator"),
                       (settings.netbeheerder_sim_port, "netbeheerder simulator"),
                       *((port, f"{name} metrics") for name, port in workers)):
        if port:
            require_free_port("127.0.0.1", port, what)
    var = settings.var_dir.resolve()
    var.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(var / "supervisor.json", say=lambda m: typer.echo(f"vangnet: {m}", err=True),
                            budget=settings.dev_restart_budget, window=settings.dev_restart_window_seconds)
    pg: EmbeddedPostgres | None = None
    try:
        if settings.embedded_database:
            typer.echo("starting embedded PostgreSQL …", err=True)
            pg = EmbeddedPostgres(var / "pg")
            supervisor.add("postgres", pg.restart, first=pg)
            dsn = pg.dsn
        else:
            dsn = settings.database_url or ""
        env_values = {"VANGNET_DATABASE_URL": dsn, "VANGNET_TEMPORAL_ADDRESS": settings.temporal_target,
                      "VANGNET_VAR_DIR": str(var), "VANGNET_LOG_FORMAT": "console",
                      "VANGNET_PUBLIC_URL": f"http://{settings.api_host}:{settings.api_port}",
                      "VANGNET_SUPERVISOR_STATUS_FILE": str(supervisor.status_file)}
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
            supervisor.add("temporal", lambda: start_temporal(
                var / "temporal.db", port=settings.embedded_temporal_port,
                ui_port=settings.embedded_temporal_ui_port, namespace=settings.temporal_namespace,
                sqlite_pragmas=settings.embedded_temporal_sqlite_pragmas,
                extra=["--ui-codec-endpoint", f"http://{settings.api_host}:{settings.api_port}/codec"]))
        for name, command in (("payments", "sim-payments"), ("netbeheerder", "sim-netbeheerder")):
            supervisor.add(name, lambda command=command: popen([*me, command], env))  # type: ignore[misc]
        for name, port in workers:
            worker_env = {**env, "VANGNET_WORKER_METRICS_PORT": str(port)}
            supervisor.add(name, lambda worker_env=worker_env: popen([*me, "worker"], worker_env))  # type: ignore[misc]
        supervisor.add("api", lambda: popen([*me, "api"], env))
        deadline = time.monotonic() + 60
        while not port_in_use(settings.api_host, settings.api_port):
            supervisor.check()
            if time.monotonic() > deadline:
                raise fail("the API did not start within 60 s")
            time.sleep(0.2)
        ui = (f"http://127.0.0.1:{settings.embedded_temporal_ui_port}" if settings.embedded_temporal
              else "(external cluster)")
        typer.secho(
            "\nVangnet is running (Ctrl-C stops everything; a component that dies is restarted)\n"
            f"  Web app        http://{settings.api_host}:{settings.api_port}/  (sign in: pick a role and an OCMW)\n"
            f"  API            http://{settings.api_host}:{settings.api_port}  (docs: /docs, health: /healthz)\n"
            f"  Temporal UI    {ui}  (to decrypt payloads: sign in at /codec/login on the API)\n"
            f"  Temporal       {settings.temporal_target}  namespace {settings.temporal_namespace}\n"
            f"  PostgreSQL     {'embedded in ' + str(var / 'pg') if pg else 'external'}\n"
            f"  Payments sim   http://127.0.0.1:{settings.payment_sim_port}/payments\n"
            f"  Netbeheerder   http://127.0.0.1:{settings.netbeheerder_sim_port}/v1/requests  (simulator)\n"
            f"  Worker metrics {_metrics_urls(workers)}\n"
            "  Token          vangnet token --role ocmw --org ocmw-44021\n",
            fg=typer.colors.GREEN, err=True)
        while True:
            supervisor.check()
            time.sleep(0.5)
    except GaveUp as exc:
        raise fail(f"{exc}; stopping the rest") from None
    except KeyboardInterrupt:
        typer.echo("\nstopping …", err=True)
    finally:
        with _signals_ignored(*STOP_SIGNALS):  # a second Ctrl-C must not leave PostgreSQL or a child running
            _stop([(name, proc) for name, proc in supervisor.running()
                   if isinstance(proc, subprocess.Popen)])
            if pg is not None:
                try:
                    pg.stop()
                except Exception as exc:
                    typer.echo(f"PostgreSQL stop: {exc}", err=True)
            supervisor.status_file.unlink(missing_ok=True)


def _workers(settings: Settings) -> list[tuple[str, int]]:
    """Each worker's name and metrics port: ``worker`` alone, or ``worker-1``, ``worker-2``, … on consecutive ports
    from ``worker_metrics_port`` (0 keeps every one's metrics off)."""
    n, first = settings.dev_workers, settings.worker_metrics_port
    return [("worker" if n == 1 else f"worker-{i + 1}", first + i if first else 0) for i in range(n)]


def _metrics_urls(workers: list[tuple[str, int]]) -> str:
    urls = [f"http://127.0.0.1:{port}/metrics" for _, port in workers if port]
    if not urls:
        return "(off)"
    return urls[0] if len(urls) == 1 else f"{urls[0]} … :{workers[-1][1]} (one per worker)"


def _stop(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    """Stop children in reverse start order: SIGTERM, then SIGKILL after 10 s. Each one stops quietly with exit
    code 0, or ends by that SIGTERM when it came before the child set up its own handling (still starting);
    anything else is reported (a child that had already stopped was reported when it did)."""
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
        if code not in (0, -signal.SIGTERM):
            typer.echo(f"vangnet: the {name} process exited with code {code} while stopping", err=True)
