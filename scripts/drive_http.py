"""What the drive scripts share: tokens from ``vangnet token``, HTTP with retries and idempotency keys, waiting,
and the ✓ lines they print. Imported by ``drive_fbu_case.py`` and ``drive_energy_case.py`` (same folder)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
WRITE_ATTEMPTS = 3  # a write that lost its connection is sent again with the same Idempotency-Key


class DriveError(Exception):
    """Stops the drive: the message says what went wrong."""


def default_api() -> str:
    return f"http://127.0.0.1:{os.environ.get('VANGNET_API_PORT') or 8000}"


def issue_token(role: str, org: str | None = None) -> str:
    """A bearer token from ``vangnet token`` run by this interpreter (the project's virtualenv)."""
    args = [sys.executable, "-m", "vangnet.cli", "token", "--role", role, *(["--org", org] if org else [])]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    token = result.stdout.strip()
    if result.returncode != 0 or not token:
        raise DriveError(f"'vangnet token --role {role}' failed (exit {result.returncode}): "
                         f"{result.stderr.strip() or result.stdout.strip()}")
    return token


def money(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}"


def tolerate_any_terminal() -> None:
    """Print ✓ and ✗ as replacement characters on a terminal whose encoding cannot show them, instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def step(message: str) -> None:
    print(f"✓ {message}", flush=True)


class HttpDrive:
    """The API client of a drive: every write carries an idempotency key unique to this run, so a request sent
    again after a lost connection is applied once; waits end with a message saying what did not happen."""

    def __init__(self, api: str, timeout: float, interval: float) -> None:
        self.http = httpx.Client(base_url=api, timeout=30)
        self.timeout = timeout
        self.interval = interval
        self.run = uuid.uuid4().hex[:12]  # idempotency keys unique to this run, stable across its retries
        self.call("GET", "/healthz", {})  # before asking for tokens: is this really a running Vangnet?

    def call(self, method: str, path: str, who: dict[str, str], *, expect: int = 200, json: Any = None,
             params: dict[str, Any] | None = None, key: str | None = None) -> Any:
        headers = dict(who)
        if key is not None:
            headers["Idempotency-Key"] = f"drive-{self.run}-{key}"
        attempts = WRITE_ATTEMPTS if key is not None or method == "GET" else 1
        r = self.send(self.http, "the API", method, path, attempts, json=json, params=params, headers=headers)
        if r.status_code != expect:
            raise DriveError(f"{method} {path} answered {r.status_code} (expected {expect}):\n{r.text}")
        return r.json()

    @staticmethod
    def send(client: httpx.Client, what: str, method: str, path: str, attempts: int, **kwargs: Any
             ) -> httpx.Response:
        for attempt in range(1, attempts + 1):
            try:
                return client.request(method, path, **kwargs)
            except httpx.ConnectError as exc:
                raise DriveError(f"cannot reach {what} at {client.base_url} ({exc}); is 'make dev' running?"
                                 ) from exc
            except httpx.TransportError as exc:
                if attempt == attempts:
                    raise DriveError(f"{method} {path}: no answer from {what} after {attempts} attempts ({exc!r})"
                                     ) from exc
                time.sleep(1)
        raise AssertionError("unreachable")

    def wait(self, what: str, probe: Callable[[], T | None]) -> T:
        deadline = time.monotonic() + self.timeout
        while True:
            found = probe()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise DriveError(f"timed out after {self.timeout:g} s waiting for {what}")
            time.sleep(self.interval)
