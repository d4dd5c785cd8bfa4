"""Activity that appends domain events to the PostgreSQL log (idempotent: event ids are deterministic)."""

from __future__ import annotations

import asyncpg
from temporalio.exceptions import ApplicationError

from activities import implements
from schemas.events import AppendEvents
from vangnet.storage import eventstore
from workflows import contracts


class EventActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @implements(contracts.append_events)
    async def append_events(self, request: AppendEvents) -> int:
        async with self._pool.acquire() as conn:
            try:
                return await eventstore.append(conn, request.events)
            except eventstore.StreamConflictError as exc:
                raise ApplicationError(str(exc), type="StreamConflict", non_retryable=True) from exc
