"""Container health check: asks the process this container runs (PID 1's command line) on its own port.

api: ``/healthz`` (200 only when Temporal, PostgreSQL and a worker are reachable); worker: the SDK's ``/metrics``
(the endpoint lives in the worker's Temporal runtime, so it answers only while the worker process does);
simulators: their /healthz; a one-shot command such as ``migrate`` is healthy while it runs.
Stdlib only: the image's Python, no curl in the final stage.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def role(cmdline: list[str]) -> str:
    """The role argument of ``entrypoint.sh ROLE ...`` (or of ``vangnet ROLE``), from PID 1's command line."""
    for i, arg in enumerate(cmdline):
        if arg.endswith(("entrypoint.sh", "vangnet")) and i + 1 < len(cmdline):
            return cmdline[i + 1]
        if arg in ("simulators.payments.app", "simulators.netbeheerder.app"):
            return "sim-payments" if "payments" in arg else "sim-netbeheerder"
    return "api"


def url_for(name: str, env: dict[str, str]) -> str | None:
    if name == "api":
        return f"http://127.0.0.1:{env.get('VANGNET_API_PORT', '8000')}/healthz"
    if name == "worker":
        port = env.get("VANGNET_WORKER_METRICS_PORT", "9464")
        return None if port == "0" else f"http://127.0.0.1:{port}/metrics"
    if name == "sim-payments":
        return f"http://127.0.0.1:{env.get('PAYSIM_PORT', '8101')}/healthz"
    if name == "sim-netbeheerder":
        return f"http://127.0.0.1:{env.get('NBSIM_PORT', '8102')}/healthz"
    return None


def main() -> int:
    try:
        with open("/proc/1/cmdline", "rb") as f:
            cmdline = [a.decode() for a in f.read().split(b"\0") if a]
    except OSError:
        cmdline = []
    url = url_for(role(cmdline), dict(os.environ))
    if url is None:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - a fixed loopback URL
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
