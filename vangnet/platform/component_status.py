"""The file in which ``vangnet dev``'s supervisor tells the API's ``/healthz`` how its components are doing.

Written whole by one rename, so a reader never sees half of it; a file left by a supervisor that is gone (its pid
no longer runs) says nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write(path: Path, components: dict[str, dict[str, Any]]) -> None:
    """Record ``{component: {"state": …, …}}`` for this process (the supervisor)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "components": components}), encoding="utf-8")
    tmp.replace(path)


def not_running(path: Path) -> dict[str, str]:
    """``{component: state}`` of the components that are not running, per a live supervisor's file."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(body["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {name: c["state"] for name, c in body.get("components", {}).items() if c.get("state") != "running"}
