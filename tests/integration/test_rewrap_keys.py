"""A master-key rotation: `vangnet rewrap-keys` wraps every subject's data key under the active master key, so
the old one can be retired; the personal data opens with the new key alone, and erased subjects stay erased."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import asyncpg
import pytest

from tests.conftest import create_database
from tests.integration.helpers import assert_one_line_error
from vangnet.security.vault import Vault, erase

pytestmark = pytest.mark.integration

OLD, NEW = bytes(range(32)), bytes(range(100, 132))


def cli(dsn: str, keys: dict[str, bytes], active: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VANGNET_DATABASE_URL": dsn, "VANGNET_MASTER_ACTIVE_KEY": active,
           "VANGNET_MASTER_KEYS": json.dumps({k: base64.b64encode(v).decode() for k, v in keys.items()})}
    return subprocess.run([sys.executable, "-m", "vangnet.cli", "rewrap-keys", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


async def test_rewrap_moves_every_live_subject_to_the_new_master_key(pg_root: str) -> None:
    dsn = await create_database(pg_root)
    conn = await asyncpg.connect(dsn)
    try:
        old = Vault({"m1": OLD}, "m1")
        sealed = [await old.seal(conn, {"name": f"Persoon {n}"}) for n in range(3)]
        assert await erase(conn, sealed[2][0])
    finally:
        await conn.close()

    assert_one_line_error(cli(dsn, {"m2": NEW}, "m2"), "master key 'm1' is needed", "0 rewrapped")
    run = cli(dsn, {"m1": OLD, "m2": NEW}, "m2", "--batch", "1")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"rewrapped": 2, "before": {"m1": 2}, "after": {"m2": 2}}
    assert "rewrapped 2 subject keys" in run.stderr  # progress, one batch at a time
    again = cli(dsn, {"m1": OLD, "m2": NEW}, "m2")
    assert json.loads(again.stdout)["rewrapped"] == 0

    conn = await asyncpg.connect(dsn)
    try:
        new_only = Vault({"m2": NEW}, "m2")  # the old master key is retired
        for n, (subject, data) in enumerate(sealed[:2]):
            assert await new_only.open(conn, subject, data) == {"name": f"Persoon {n}"}
        assert await new_only.open(conn, *sealed[2]) is None  # erased stays erased
    finally:
        await conn.close()
