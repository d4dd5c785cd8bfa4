"""An opening is answered when PostgreSQL says its first events are in the log, not at the API's next poll.

The append that starts a stream notifies its case id at commit (``eventstore.STREAM_STARTED``); the API's
``StreamStarts`` wakes the request waiting for that case. The notification is a hint: polling stays as the net.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from api import case_documents
from tests.conftest import Stack
from tests.energy_helpers import EnergyDriver, closed_event
from vangnet.storage import eventstore


async def test_only_an_append_that_starts_a_stream_notifies_and_only_at_commit(
        pool: asyncpg.Pool, database: str) -> None:
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    stream, sentinel, refused = f"starts-{stamp}", f"sentinel-{stamp}", f"refused-{stamp}"
    heard: list[str] = []
    sentinel_heard = asyncio.Event()

    def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        heard.append(payload)
        if payload == sentinel:
            sentinel_heard.set()

    listener = await asyncpg.connect(database)
    await listener.add_listener(eventstore.STREAM_STARTED, on_notify)
    try:
        async with pool.acquire() as conn:
            # One notification for a step that starts a stream with two events, not two:
            await eventstore.append(conn, [closed_event(stream, 1), closed_event(stream, 2)])
            await eventstore.append(conn, [closed_event(stream, 1)])  # a retried append: nothing new, nothing said
            await eventstore.append(conn, [closed_event(stream, 3)])  # the stream goes on: not a start
            with pytest.raises(eventstore.StreamConflictError):  # rolled back: its notification is never sent
                await eventstore.append(conn, [closed_event(refused, 1),
                                               closed_event(stream, 3, event_id="other")])
            await eventstore.append(conn, [closed_event(sentinel, 1)])
        await asyncio.wait_for(sentinel_heard.wait(), timeout=10)  # notifications arrive in commit order
    finally:
        await listener.close()
    assert heard == [stream, sentinel]


async def test_a_waiter_hears_its_case_start_and_no_other(pool: asyncpg.Pool, database: str) -> None:
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    starts = eventstore.StreamStarts(database)
    try:
        async with starts.watching(f"mine-{stamp}") as mine, starts.watching(f"other-{stamp}") as other:
            async with pool.acquire() as conn:
                await eventstore.append(conn, [closed_event(f"mine-{stamp}", 1)])
            await asyncio.wait_for(mine.wait(), timeout=10)
            assert not other.is_set()
    finally:
        await starts.close()


async def test_an_unreachable_listener_leaves_the_waiter_to_its_polls() -> None:
    starts = eventstore.StreamStarts("postgresql://nobody@127.0.0.1:9/none")
    async with starts.watching("any") as heard:  # no error: the waiter polls, and is never woken
        assert not heard.is_set()
    await starts.close()


async def test_an_energy_opening_is_answered_when_its_first_events_commit(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the API's polls a minute apart, only the notification can answer the opening within seconds."""
    monkeypatch.setattr(case_documents, "POLL_OPENED_EVERY", (60.0, 60.0))
    driver = EnergyDriver(stack)
    case_id, _ = await asyncio.wait_for(driver.open(), timeout=20)
    assert (await driver.case(case_id))["phase"] == "notice_period"
