"""The supervisor's restart policy, with fake processes and a fake clock: restart with doubling backoff, give up
past the budget, forgive after a quiet window, and tell /healthz what is restarting."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from vangnet.cli.dev import _stop
from vangnet.platform import component_status
from vangnet.stack.supervisor import BACKOFF_FIRST, GaveUp, Supervisor, popen


class Fake:
    def __init__(self) -> None:
        self.code: int | None = None

    def poll(self) -> int | None:
        return self.code


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Supervisor, Clock, list[Fake], list[str]]:
    clock, started, said = Clock(), list[Fake](), list[str]()

    def start() -> Fake:
        started.append(Fake())
        return started[-1]

    sup = Supervisor(tmp_path / "status.json", said.append, budget=3, window=60, clock=clock)
    sup.add("worker", start)
    return sup, clock, started, said


def test_a_dead_component_is_restarted_after_a_doubling_backoff(setup) -> None:
    sup, clock, started, said = setup
    started[-1].code = -9
    sup.check()
    assert "exit code -9" in said[-1] and len(started) == 1
    assert component_status.not_running(sup.status_file) == {"worker": "restarting"}
    clock.now += BACKOFF_FIRST - 0.01
    sup.check()
    assert len(started) == 1  # not before its backoff
    clock.now += 0.02
    sup.check()
    assert len(started) == 2 and "restart 1" in said[-1]
    assert component_status.not_running(sup.status_file) == {}
    started[-1].code = 1
    sup.check()
    assert f"restarting it in {2 * BACKOFF_FIRST:.1f} s" in said[-1]
    print("restart messages:", said)


def test_a_crash_loop_exhausts_the_budget(setup) -> None:
    sup, clock, started, _ = setup
    with pytest.raises(GaveUp, match="worker process died 4 times within 60 s"):
        for _ in range(10):
            started[-1].code = 1
            sup.check()
            clock.now += 5
            sup.check()


def test_deaths_outside_the_window_do_not_count(setup) -> None:
    sup, clock, started, _ = setup
    for _ in range(8):  # one death every 100 s never reaches a budget of 3 within 60 s
        started[-1].code = 1
        sup.check()
        clock.now += 100
        sup.check()
    assert len(started) == 9


def test_a_status_file_of_a_supervisor_that_is_gone_says_nothing(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_text('{"pid": 999999999, "components": {"worker": {"state": "restarting"}}}')
    assert component_status.not_running(path) == {}
    assert component_status.not_running(tmp_path / "missing.json") == {}


def test_a_child_has_a_process_group_of_its_own_and_a_sigterm_before_its_handlers_is_a_quiet_stop(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A terminal's Ctrl-C goes to ``vangnet dev``'s process group only, so a child still importing prints no
    KeyboardInterrupt traceback; it ends by the SIGTERM of the ordered stop, which is not reported as a failure."""
    starting = popen([sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))
    failing = popen([sys.executable, "-c", "import signal, sys, time; "
                     "signal.signal(signal.SIGTERM, lambda *_: sys.exit(3)); time.sleep(60)"], dict(os.environ))
    try:
        assert os.getpgid(starting.pid) == starting.pid != os.getpgid(0)
        time.sleep(0.5)  # the second child has set its handler
        _stop([("starting", starting), ("failing", failing)])
    finally:
        for p in (starting, failing):
            if p.poll() is None:
                p.kill()
    assert starting.returncode == -15 and failing.returncode == 3
    err = capsys.readouterr().err
    assert "the failing process exited with code 3 while stopping" in err
    assert "starting" not in err
