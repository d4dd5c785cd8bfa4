"""Fixtures of the deploy checks: a fresh database on the session's embedded PostgreSQL for each stack."""

from __future__ import annotations

import pytest

from tests.conftest import create_database


@pytest.fixture
async def stack_database(pg_root: str) -> str:
    return await create_database(pg_root)
