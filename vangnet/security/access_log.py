"""The access log: every read of personal data is recorded before the data leaves the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from vangnet.security.tokens import Principal


class AccessEntry(BaseModel):
    at: datetime
    subject: str
    role: str
    org: str | None
    case_id: str
    purpose: str
    fields: list[str]
    route: str


async def record(pool: asyncpg.Pool, who: Principal, case_id: str, purpose: str, fields: Sequence[str],
                 route: str) -> None:
    await pool.execute(
        "INSERT INTO access_log (subject, role, org, case_id, purpose, fields, route) VALUES ($1,$2,$3,$4,$5,$6,$7)",
        who.subject, who.role, who.org, case_id, purpose, list(fields), route)


async def entries(pool: asyncpg.Pool, case_id: str | None, limit: int = 500) -> list[AccessEntry]:
    rows = await pool.fetch(
        "SELECT at, subject, role, org, case_id, purpose, fields, route FROM access_log "
        "WHERE ($1::text IS NULL OR case_id = $1) ORDER BY id DESC LIMIT $2", case_id, limit)
    return [AccessEntry(**dict(r)) for r in rows]
