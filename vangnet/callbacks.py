"""Handing stored netbeheerder callbacks to their case workflow.

The API stores every callback before it answers, then signals the case. When Temporal cannot be reached the row
stays unforwarded and the worker's forwarder sends it later; the workflow ignores an event id it has seen, so a
callback forwarded twice still counts once.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from schemas.netbeheerder import Callback

log = structlog.get_logger(__name__)


async def forward(client: Client, pool: asyncpg.Pool, cb: Callback, case_id: str) -> bool:
    try:
        await client.get_workflow_handle(case_id).signal("netbeheerder_callback", cb)
    except RPCError as exc:
        log.warning("callback not forwarded yet", case_id=case_id, event_id=cb.event_id, error=exc.status.name)
        return False
    await pool.execute("UPDATE netbeheerder_callbacks SET forwarded_at = now() WHERE event_id = $1", cb.event_id)
    return True


async def forward_pending(client: Client, pool: asyncpg.Pool, older_than_seconds: float = 5.0) -> int:
    rows = await pool.fetch(
        """SELECT case_id, body FROM netbeheerder_callbacks
           WHERE forwarded_at IS NULL AND case_id IS NOT NULL
             AND received_at < now() - make_interval(secs => $1)
           ORDER BY received_at LIMIT 500""", older_than_seconds)
    sent = 0
    for row in rows:
        body = row["body"] if isinstance(row["body"], str) else json.dumps(row["body"])
        if await forward(client, pool, Callback.model_validate_json(body), row["case_id"]):
            sent += 1
    return sent


async def run_forwarder(client: Client, pool: asyncpg.Pool, interval: float = 5.0) -> None:
    """Forever: forward what the API stored but could not hand over."""
    while True:
        try:
            n = await forward_pending(client, pool)
            if n:
                log.info("forwarded stored callbacks", count=n)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("forwarder pass failed", error=type(exc).__name__)
        await asyncio.sleep(interval)
