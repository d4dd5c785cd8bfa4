"""Appending to and reading the domain event log.

Appends are serialised by a transaction-scoped advisory lock so that global positions become visible in order:
the projector's checkpoint can then never skip an event that commits late. The projections are caught up in the
same transaction, so a read model is never behind a completed step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg

from schemas.events import DomainEvent, StoredEvent
from vangnet.storage import projections
from vangnet.storage.projections import APPEND_LOCK, stored_event

__all__ = ["APPEND_LOCK", "StreamConflictError", "append", "case_events"]


class StreamConflictError(RuntimeError):
    """A different event already holds this stream version: two writers on one stream (a bug, never retried)."""


async def append(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> int:
    """Append events idempotently; return how many were new."""
    inserted = 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
        for e in events:
            position = await conn.fetchval(
                """INSERT INTO domain_events
                       (event_id, stream, stream_version, case_id, case_kind, ocmw_id, type, schema_version, data,
                        occurred_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
                   ON CONFLICT DO NOTHING RETURNING position""",
                e.event_id, e.stream, e.stream_version, e.case_id, e.case_kind, e.ocmw_id, e.type, e.schema_version,
                json.dumps(e.data), e.occurred_at,
            )
            if position is not None:
                inserted += 1
                continue
            existing = await conn.fetchrow(
                "SELECT event_id, type FROM domain_events WHERE stream = $1 AND stream_version = $2",
                e.stream, e.stream_version,
            )
            if existing is None or existing["event_id"] != e.event_id or existing["type"] != e.type:
                raise StreamConflictError(
                    f"stream {e.stream} version {e.stream_version} already holds another event"
                )
        await projections.catch_up(conn)
    return inserted


async def case_events(conn: asyncpg.Connection | asyncpg.Pool, case_id: str) -> list[StoredEvent]:
    rows = await conn.fetch("SELECT * FROM domain_events WHERE case_id = $1 ORDER BY position", case_id)
    return [stored_event(r) for r in rows]
