"""Pooled connections carry no session state, so the pool may skip asyncpg's reset on release.

``vangnet.storage.db.create_pool`` releases a connection without ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
RESET ALL`` (a round trip per release). That is only right while no code leaves session state behind on a pooled
connection; this reads every SQL string of the product for what would.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [p for d in ("api", "activities", "worker", "vangnet", "workflows", "schemas")
           for p in sorted((ROOT / d).rglob("*.py"))]

SESSION_STATE = [
    (re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I), "a session-level advisory lock"),
    # SQL keywords are written in capitals here; prose that starts with "Set" or "Declare" is not SQL.
    (re.compile(r"^\s*(SET|RESET)\s+(?!LOCAL\b)\w"), "a session SET"),
    (re.compile(r"set_config\s*\([^)]*,\s*false\s*\)", re.I), "a session set_config"),
    (re.compile(r"^\s*(LISTEN|DECLARE)\s+\w"), "LISTEN or a cursor outside a transaction"),
    (re.compile(r"^\s*PREPARE\s+\w"), "a prepared statement by name"),
]
# The migrator's lock is taken and released on a connection of its own (``vangnet migrate``), never a pooled one.
ALLOWED = {("vangnet/storage/db.py", "a session-level advisory lock")}


def session_state(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [what for pattern, what in SESSION_STATE if pattern.search(node.value)]
    return found


def test_no_product_sql_leaves_session_state_on_a_connection() -> None:
    offenders = [(str(p.relative_to(ROOT)), what) for p in PRODUCT for what in session_state(p.read_text())]
    assert [o for o in offenders if o not in ALLOWED] == []


def test_listening_happens_on_its_own_connection_only() -> None:
    users = [str(p.relative_to(ROOT)) for p in PRODUCT if "add_listener" in p.read_text()]
    assert users == ["vangnet/storage/eventstore.py"]  # StreamStarts: asyncpg.connect, not the pool


def test_the_check_finds_session_state() -> None:
    source = ('a = "SELECT pg_advisory_lock(1)"\nb = "SET search_path TO x"\nc = "UPDATE t\\n   SET x = 1"\n'
              'd = "SELECT pg_advisory_xact_lock(1)"\ne = "SET LOCAL lock_timeout = 1"\n')
    assert session_state(source) == ["a session-level advisory lock", "a session SET"]
