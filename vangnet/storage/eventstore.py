"""Appending to and reading the domain event log.

Appends are serialised by a transaction-scoped advisory lock so that global positions become visible in order:
the projector's checkpoint can then never skip an event that commits late. The projections are caught up in the
same transaction, so a read model is never behind a completed step.

An append that starts a stream notifies ``STREAM_STARTED`` with the stream's case id (delivered at commit), so the
API answers an opening as soon as its first events are in the log instead of at its next poll (``StreamStarts``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
import structlog

from schemas.events import DomainEvent, StoredEvent
from vangnet.storage import projections
from vangnet.storage.projections import APPEND_LOCK, stored_event

__all__ = ["APPEND_LOCK", "STREAM_STARTED", "StreamConflictError", "StreamStarts", "append", "case_events"]

STREAM_STARTED = "vangnet_stream_started"  # NOTIFY channel; payload: the case id of a stream's first event
RECONNECT_AFTER_SECONDS = 30.0  # a listener that cannot connect is tried again after this (waiters poll meanwhile)

log = structlog.get_logger(__name__)


class StreamConflictError(RuntimeError):
    """A different event already holds this stream version: two writers on one stream (a bug, never retried)."""


# One statement, one round trip under the lock: the step's events inserted in order; the projector's checkpoint moved
# past them when the read models lack nothing before them (``backlog`` 0: then the caller projects exactly these
# rows, in this transaction); on each case's first row, its case document as it stands, so the projector folds
# without reading it again; and ``STREAM_STARTED`` notified once for each case with an inserted first event of a
# stream (PostgreSQL delivers it at commit, and never if the transaction rolls back). The statement's snapshot does
# not see its own inserts, so ``backlog`` counts only events that were there before. A retried append inserts
# nothing, moves nothing and notifies nothing: with no row to return, ``started`` is never evaluated.
_INSERT = """
WITH checkpoint AS (
    SELECT COALESCE((SELECT position FROM projection_checkpoints WHERE projector = $11), 0) AS position
), backlog AS (
    SELECT count(*) AS backlog FROM domain_events, checkpoint WHERE domain_events.position > checkpoint.position
), inserted AS (
    INSERT INTO domain_events (event_id, stream, stream_version, case_id, case_kind, ocmw_id, type, schema_version,
                               data, occurred_at)
    SELECT event_id, stream, stream_version, case_id, case_kind, ocmw_id, type, schema_version, data, occurred_at
    FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::smallint[],
                $9::jsonb[], $10::timestamptz[])
         WITH ORDINALITY AS e(event_id, stream, stream_version, case_id, case_kind, ocmw_id, type, schema_version,
                              data, occurred_at, n)
    ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING *
), moved AS (
    INSERT INTO projection_checkpoints (projector, position)
    SELECT $11, max(position) FROM inserted HAVING count(*) > 0 AND (SELECT backlog FROM backlog) = 0
    ON CONFLICT (projector) DO UPDATE SET position = EXCLUDED.position
), started AS (
    SELECT count(pg_notify($12, case_id)) AS streams
    FROM (SELECT DISTINCT case_id FROM inserted WHERE stream_version = 1) AS first_events
)
SELECT inserted.*, (SELECT backlog FROM backlog) AS backlog, (SELECT streams FROM started) AS streams_started,
       CASE WHEN row_number() OVER (PARTITION BY inserted.case_id ORDER BY inserted.position) = 1
            THEN (SELECT document FROM proj_case_documents d WHERE d.case_id = inserted.case_id) END AS document
FROM inserted ORDER BY position
"""


async def append(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> int:
    """Append events idempotently and project them; return how many were new.

    The lock is held from the insert to the commit, so that span is kept to few round trips: one statement inserts
    the events, moves the checkpoint, reads the case documents and notifies the streams it starts, and the projector
    folds the inserted rows without reading them back (``docs/performance.md``)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
        rows = await conn.fetch(_INSERT, *_columns(events), projections.PROJECTOR, STREAM_STARTED)
        await _refuse_conflicts(conn, events, {r["event_id"] for r in rows})
        if rows and rows[0]["backlog"] == 0:  # the statement moved the checkpoint past these rows
            documents: dict[str, str | None] = {}
            for row in rows:  # a case's document comes on its first row
                documents.setdefault(row["case_id"], row["document"])
            await projections.project(conn, rows, documents)
        else:  # nothing new (a retried append), or events the read models still lack before ours
            await projections.catch_up(conn)
    return len(rows)


def _columns(events: Sequence[DomainEvent]) -> list[list[object]]:
    return [[e.event_id for e in events], [e.stream for e in events], [e.stream_version for e in events],
            [e.case_id for e in events], [e.case_kind for e in events], [e.ocmw_id for e in events],
            [e.type for e in events], [e.schema_version for e in events], [json.dumps(e.data) for e in events],
            [e.occurred_at for e in events]]


async def _refuse_conflicts(conn: asyncpg.Connection, events: Sequence[DomainEvent], inserted: set[str]) -> None:
    """An event not inserted must be this very event again (a retried activity adds nothing). Anything else on its
    stream version is refused, a same-typed event with other content included: a silent "duplicate" would lose the
    new content."""
    for e in events:
        if e.event_id in inserted:
            continue
        existing = await conn.fetchrow(
            """SELECT event_id, type, data = $3::jsonb AS same_data FROM domain_events
               WHERE stream = $1 AND stream_version = $2""",
            e.stream, e.stream_version, json.dumps(e.data),
        )
        if (existing is None or existing["event_id"] != e.event_id or existing["type"] != e.type
                or not existing["same_data"]):
            log.error("stream version taken by another event", stream=e.stream, version=e.stream_version,
                      event_type=e.type, stored_type=None if existing is None else existing["type"])
            raise StreamConflictError(f"stream {e.stream} version {e.stream_version} already holds another event")


async def case_events(conn: asyncpg.Connection | asyncpg.Pool, case_id: str) -> list[StoredEvent]:
    rows = await conn.fetch("SELECT * FROM domain_events WHERE case_id = $1 ORDER BY position", case_id)
    return [stored_event(r) for r in rows]


class StreamStarts:
    """Wakes the requests that wait for a case's first events, on one listening connection per process.

    A hint, never the record: a waiter reads the log after each wake-up, and also every so often without one
    (a listener whose connection dropped, or a database proxy without LISTEN, hears nothing)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: asyncpg.Connection | None = None
        self._retry_at = 0.0
        self._connecting = asyncio.Lock()
        self._waiters: dict[str, set[asyncio.Event]] = {}

    @asynccontextmanager
    async def watching(self, case_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set when ``case_id`` starts a stream from now on; register it before reading the log."""
        await self._listen()
        heard = asyncio.Event()
        self._waiters.setdefault(case_id, set()).add(heard)
        try:
            yield heard
        finally:
            waiters = self._waiters.get(case_id, set())
            waiters.discard(heard)
            if not waiters:
                self._waiters.pop(case_id, None)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def _listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _listen(self) -> None:
        if self._listening or time.monotonic() < self._retry_at:
            return
        async with self._connecting:
            if self._listening:  # another request connected while this one waited
                return
            try:
                conn = await asyncpg.connect(self._url, timeout=5)
                await conn.add_listener(STREAM_STARTED, self._heard)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                self._retry_at = time.monotonic() + RECONNECT_AFTER_SECONDS
                log.warning("stream_starts.unavailable", error=type(exc).__name__)
                return
            self._conn = conn

    def _heard(self, _conn: object, _pid: int, _channel: str, case_id: str) -> None:
        for heard in self._waiters.get(case_id, ()):
            heard.set()
