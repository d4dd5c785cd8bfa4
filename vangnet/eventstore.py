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
from vangnet import projections

APPEND_LOCK = 7_240_002


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
                       (event_id, stream, stream_version, case_id, case_kind, ocmw_id, type, data, occurred_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
                   ON CONFLICT DO NOTHING RETURNING position""",
                e.event_id, e.stream, e.stream_version, e.case_id, e.case_kind, e.ocmw_id, e.type,
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


def _stored(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        position=row["position"],
        event_id=row["event_id"],
        stream=row["stream"],
        stream_version=row["stream_version"],
        case_id=row["case_id"],
        case_kind=row["case_kind"],
        ocmw_id=row["ocmw_id"],
        type=row["type"],
        data=json.loads(row["data"]),
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
    )


async def case_events(conn: asyncpg.Connection | asyncpg.Pool, case_id: str) -> list[StoredEvent]:
    rows = await conn.fetch("SELECT * FROM domain_events WHERE case_id = $1 ORDER BY position", case_id)
    return [_stored(r) for r in rows]


async def events_after(conn: asyncpg.Connection, position: int, limit: int = 1000) -> list[StoredEvent]:
    rows = await conn.fetch(
        "SELECT * FROM domain_events WHERE position > $1 ORDER BY position LIMIT $2", position, limit
    )
    return [_stored(r) for r in rows]
