"""A configuration that cannot work gives one clear line on stderr and a non-zero exit code, never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.integration.helpers import Workspace, assert_one_line_error, run_cli, workspace


@pytest.fixture
def ws() -> Iterator[Workspace]:
    with workspace() as w:
        yield w


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port some other program is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_migrate_with_unreachable_database(ws: Workspace) -> None:
    ws.extra["VANGNET_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/x"
    assert_one_line_error(run_cli(ws, "migrate"), "cannot reach PostgreSQL")


def test_api_port_in_use(ws: Workspace, held_port: int) -> None:
    ws.ports["api"] = held_port
    assert_one_line_error(run_cli(ws, "api"), f"port {held_port}", "already in use", "API")


def test_dev_api_port_in_use_starts_nothing(ws: Workspace, held_port: int) -> None:
    ws.ports["api"] = held_port
    assert_one_line_error(run_cli(ws, "dev"), f"port {held_port}", "already in use", "API")
    assert not (ws.var / "pg").exists() and not (ws.var / "temporal.db").exists()


def test_token_for_ocmw_needs_org(ws: Workspace) -> None:
    result = run_cli(ws, "token", "--role", "ocmw")
    assert_one_line_error(result, "--org")
    assert result.stdout == ""


def test_rules_before_the_first_rule_set(ws: Workspace) -> None:
    assert_one_line_error(run_cli(ws, "rules", "fbu", "--submitted-on", "2019-01-01", "--arrears", "100"),
                          "2019-01-01", "rule set")


def test_rules_negative_arrears(ws: Workspace) -> None:
    assert_one_line_error(run_cli(ws, "rules", "fbu", "--submitted-on", "2026-01-01", "--arrears", "-5"),
                          "--arrears", "positive")
