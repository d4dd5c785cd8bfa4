"""``vangnet dev`` when it is not stopped by a polite Ctrl-C: SIGTERM (``kill``, systemd, a supervisor) stops
everything the same way, the child commands stop quietly on SIGINT as on SIGTERM, and a ``vangnet dev`` that was
killed outright does not make the next one leave PostgreSQL running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import free_port
from tests.integration.helpers import (
    VANGNET,
    Dev,
    Workspace,
    postmaster,
    stop_and_check,
    workspace,
)
from vangnet.stack.embedded import HANDLES_FILE, forget_dead_handles, port_in_use

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ctrl_c_reaches_children")]


def running(proc: psutil.Process) -> bool:
    """Alive and not a zombie (an orphaned postmaster is reparented to an init that may not reap it at once)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def child_env(dev: Dev) -> dict[str, str]:
    """What ``vangnet dev`` gives its children (the embedded PostgreSQL's DSN, the Temporal address), read from its
    running worker."""
    for proc in psutil.Process(dev.proc.pid).children():
        if proc.cmdline()[-1:] == ["worker"]:
            return dict(proc.environ())
    raise AssertionError(f"no worker among {[p.cmdline() for p in psutil.Process(dev.proc.pid).children()]}")


class Command:
    """One ``vangnet`` child command started next to a running dev, with its output in a file."""

    def __init__(self, ws: Workspace, name: str, args: list[str], env: dict[str, str], port: int | None) -> None:
        self.name, self.port = name, port
        self.log = ws.cwd / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([*VANGNET, *args], cwd=ws.cwd, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited early ({self.proc.returncode}):\n{self.output()}")
        if self.port is not None:
            return port_in_use("127.0.0.1", self.port)
        return "worker started" in self.output()


def test_sigterm_stops_everything_and_commands_stop_quietly_on_sigint() -> None:
    with workspace() as ws:
        dev = Dev(ws)
        commands: list[Command] = []
        try:
            dev.wait_healthy(90)
            # SIGTERM reaches worker, API and payment simulator through vangnet dev's own stop below (an exit code
            # other than 0 is reported there); Ctrl-C to a terminal's process group gives each of them SIGINT.
            api_port, sim_port = free_port(), free_port()
            env = {**child_env(dev), "VANGNET_WORKER_METRICS_PORT": "0", "VANGNET_TEMPORAL_TASK_QUEUE": "robustness",
                   "VANGNET_API_PORT": str(api_port), "PAYSIM_DB": str(ws.cwd / "paysim.sqlite3")}
            commands = [
                Command(ws, "worker", ["worker"], env, None),
                Command(ws, "api", ["api"], env, api_port),
                Command(ws, "sim-payments", ["sim-payments", "--port", str(sim_port)], env, sim_port),
            ]
            deadline = time.monotonic() + 60
            while not all(c.ready() for c in commands):
                assert time.monotonic() < deadline, {c.name: c.output()[-2000:] for c in commands}
                time.sleep(0.2)
            for c in commands:
                c.proc.send_signal(signal.SIGINT)
            for c in commands:
                code = c.proc.wait(timeout=20)
                assert code == 0 and "Traceback" not in c.output(), f"{c.name} exit {code}:\n{c.output()}"

            took = stop_and_check(dev, list(ws.ports.values()), how="sigterm")
            assert "stopping" in dev.output()
            assert postmaster(ws.var) is None
        finally:
            for c in commands:
                if c.proc.poll() is None:
                    c.proc.kill()
            dev.kill()
    print(f"SIGTERM stop: {took:.1f} s")


def test_killed_dev_then_ctrl_c_leaves_no_postgres() -> None:
    with workspace() as ws:
        dev = Dev(ws, "dev-1.log")
        try:
            dev.wait_healthy(90)
            pm = postmaster(ws.var)
            assert pm is not None
            dev.crash()  # SIGKILL: no atexit, PostgreSQL (daemonised by pg_ctl) keeps running
            assert running(pm), "PostgreSQL died with vangnet dev; this test needs it to survive"
            handles = json.loads((ws.var / "pg" / HANDLES_FILE).read_text())
            assert dev.proc.pid in handles, handles  # the dead run still counts as a handle holder
        except BaseException:
            dev.kill()
            raise

        dev = Dev(ws, "dev-2.log")
        try:
            dev.wait_healthy(90)
            reused = postmaster(ws.var)
            assert reused is not None and reused.pid == pm.pid  # the second run took over the running server
            assert json.loads((ws.var / "pg" / HANDLES_FILE).read_text()) == [dev.proc.pid]
            stop_and_check(dev, list(ws.ports.values()), how="ctrl-c")
            assert not running(pm), "PostgreSQL was left running after Ctrl-C"
        finally:
            dev.kill()
            if running(pm):
                pm.kill()


def test_forget_dead_handles(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    handles = tmp_path / HANDLES_FILE
    handles.write_text(json.dumps([os.getpid(), gone.pid]))
    assert forget_dead_handles(tmp_path) == [gone.pid]
    assert json.loads(handles.read_text()) == [os.getpid()]

    # a process younger than the list only reuses a listed pid: the holder is gone
    younger = subprocess.Popen(["sleep", "30"])
    try:
        handles.write_text(json.dumps([younger.pid]))
        past = time.time() - 60
        os.utime(handles, (past, past))
        assert forget_dead_handles(tmp_path) == [younger.pid]
        assert json.loads(handles.read_text()) == []
    finally:
        younger.kill()
        younger.wait()

    handles.write_text("[12")  # torn write
    assert forget_dead_handles(tmp_path) == []
    assert json.loads(handles.read_text()) == []
    assert forget_dead_handles(tmp_path / "missing") == []
