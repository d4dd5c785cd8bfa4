"""Keeping the embedded system's processes alive: restart a component that dies, with backoff and a budget.

``vangnet dev`` runs PostgreSQL, the Temporal dev server, the two simulators, the worker and the API. One of them
crashing must not take the rest down: the supervisor restarts it (0.5 s, then doubling up to 30 s between tries),
and gives up on a component only when it died more than ``budget`` times within ``window`` seconds (a crash loop
is a bug to look at, not to hide). It writes the components' states to a file
(``vangnet.platform.component_status``) that the API's ``/healthz`` reads, so "degraded: worker restarting" is
visible while it happens.

Children die with their parent: each is started with the kernel's parent-death signal (``PR_SET_PDEATHSIG``), so
a ``vangnet dev`` killed with SIGKILL leaves no child holding its port.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vangnet.platform import component_status

PR_SET_PDEATHSIG = 1
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0


class Process(Protocol):
    """What the supervisor needs of a running component: ``poll()`` is None while it runs, else its exit code."""

    def poll(self) -> int | None: ...


def die_with_parent() -> None:
    """``preexec_fn`` for a child: the kernel sends it SIGTERM when the process that started it dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class GaveUp(RuntimeError):
    """A component died more often than the restart budget allows."""


@dataclass
class Component:
    name: str
    start: Callable[[], Process]
    process: Process | None = None
    deaths: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    backoff: float = BACKOFF_FIRST
    last_exit: int | None = None
    restarts: int = 0

    @property
    def state(self) -> str:
        return "running" if self.restart_at is None else "restarting"


class Supervisor:
    """Start components in order, watch them, restart the dead ones; ``say`` reports each restart."""

    def __init__(self, status_file: Path, say: Callable[[str], None], budget: int = 5, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.status_file, self._say, self.budget, self.window, self._clock = status_file, say, budget, window, clock
        self.components: list[Component] = []

    def add(self, name: str, start: Callable[[], Process], first: Process | None = None) -> Component:
        """Start a component (or adopt ``first``, already started); ``start`` is how it comes back."""
        component = Component(name, start)
        component.process = first if first is not None else start()
        self.components.append(component)
        self._write()
        return component

    def check(self) -> None:
        """One round: notice deaths, schedule or carry out restarts; raise ``GaveUp`` past the budget."""
        now, changed = self._clock(), False
        for c in self.components:
            if c.restart_at is None and c.process is not None and (code := c.process.poll()) is not None:
                changed = True
                c.last_exit, c.process = code, None
                c.deaths.append(now)
                while c.deaths and c.deaths[0] < now - self.window:
                    c.deaths.popleft()
                if len(c.deaths) > self.budget:
                    self._write()
                    raise GaveUp(f"the {c.name} process died {len(c.deaths)} times within {self.window:.0f} s "
                                 f"(last exit code {code}); giving up")
                c.restart_at = now + c.backoff
                self._say(f"the {c.name} process stopped (exit code {code}); restarting it in {c.backoff:.1f} s")
                c.backoff = min(c.backoff * 2, BACKOFF_MAX)
            elif c.restart_at is not None and now >= c.restart_at:
                changed = True
                try:
                    c.process = c.start()
                except Exception as exc:  # e.g. its port still held for a moment: count it as one more death
                    self._say(f"the {c.name} process did not start again: {exc}")
                    c.process = _Dead()
                c.restart_at = None
                c.restarts += 1
                self._say(f"restarted the {c.name} process (restart {c.restarts})")
            elif c.restart_at is None and c.deaths and now - c.deaths[-1] > self.window:
                c.backoff = BACKOFF_FIRST  # a quiet window: the next crash starts the backoff afresh
        if changed:
            self._write()

    def running(self) -> list[tuple[str, Process]]:
        return [(c.name, c.process) for c in self.components if c.process is not None]

    def _write(self) -> None:
        component_status.write(self.status_file, {
            c.name: {"state": c.state, "restarts": c.restarts, "last_exit_code": c.last_exit}
            for c in self.components})


class _Dead:
    """A start that failed: reads as exited at once, so the next round counts it and backs off."""

    def poll(self) -> int | None:
        return -1


def popen(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child command that dies with its parent, in a process group of its own: a Ctrl-C in the terminal reaches
    only ``vangnet dev``, which stops its children in order (a child still importing would otherwise print a
    KeyboardInterrupt traceback)."""
    return subprocess.Popen(args, env=env, preexec_fn=die_with_parent, process_group=0)  # noqa: S603
