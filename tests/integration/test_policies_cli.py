"""Administrators manage data-sharing policies from the command line too: add one from a JSON file or standard
input, end it (kept, with its end date); a wrong policy is one clear line and nothing is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import create_database
from tests.integration.helpers import assert_one_line_error

pytestmark = pytest.mark.integration

POLICY = {"flow": "ocmw-to-wonen-vlaanderen:fbu-claim", "from_org": "ocmw-44021", "to_org": "wonen-vlaanderen",
          "legal_basis": "Besluit Vlaamse Regering FBU, art. 5", "agreement_ref": "Protocol 2026/14",
          "purpose": "fbu-claim", "data_categories": ["arrears", "agreement_dates"], "valid_from": "2026-01-01"}


def cli(dsn: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VANGNET_DATABASE_URL": dsn}
    return subprocess.run([sys.executable, "-m", "vangnet.cli", "policies", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60, check=False)


async def test_add_list_and_end_a_policy_from_the_command_line(pg_root: str, tmp_path: Path) -> None:
    dsn = await create_database(pg_root)
    added = cli(dsn, "add", "-", stdin=json.dumps(POLICY))
    assert added.returncode == 0, added.stderr
    policy = json.loads(added.stdout)
    assert policy["policy_id"].startswith("pol-") and policy["created_by"].startswith("cli:")
    file = tmp_path / "policy.json"
    file.write_text(json.dumps(POLICY | {"to_org": "wonen-vlaanderen", "requires_consent": True}))
    assert cli(dsn, "add", str(file)).returncode == 0
    listed = [json.loads(line) for line in cli(dsn, "list").stdout.splitlines()]
    assert len(listed) == 2 and listed[0]["policy_id"] == policy["policy_id"]

    ended = cli(dsn, "end", policy["policy_id"], "--on", "2026-06-30")
    assert ended.returncode == 0 and "ends on 2026-06-30" in ended.stderr
    assert_one_line_error(cli(dsn, "end", policy["policy_id"], "--on", "2026-06-30"), "no policy", "in force")
    conn = await asyncpg.connect(dsn)
    try:
        until = await conn.fetchval("SELECT valid_until FROM sharing_policies WHERE policy_id = $1",
                                    policy["policy_id"])
        assert str(until) == "2026-06-30"
    finally:
        await conn.close()


async def test_a_wrong_policy_is_one_clear_line_and_nothing_is_recorded(pg_root: str, tmp_path: Path) -> None:
    dsn = await create_database(pg_root)
    assert_one_line_error(cli(dsn, "add", "-", stdin=json.dumps(POLICY | {"flow": "anyone-to-anyone"})),
                          "nothing was recorded", "Unknown flow")
    assert_one_line_error(cli(dsn, "add", "-", stdin=json.dumps(POLICY | {"valid_until": "2025-01-01"})),
                          "valid_until lies before valid_from")
    assert_one_line_error(cli(dsn, "add", "-", stdin=json.dumps(POLICY | {"shared_with": "everyone"})),
                          "shared_with")
    assert_one_line_error(cli(dsn, "add", "-", stdin="{not json"), "nothing was recorded")
    assert_one_line_error(cli(dsn, "add", str(tmp_path / "missing.json")), "missing.json")
    assert cli(dsn, "list").stdout == ""
