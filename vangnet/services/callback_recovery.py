"""Callbacks a netbeheerder never delivered, asked for and taken in like delivered ones.

A netbeheerder redelivers a callback for a while; when every delivery failed (the API restarting, a network
outage) the case would wait for ever. Every request Vangnet sent is recorded once the netbeheerder accepted it
(``record_request``, called by the ``netbeheerder_request`` activity). A request whose callback has not been stored
after the operator's overdue delay is looked up at the netbeheerder (``GET /v1/requests/{idempotency_key}``); its
``outcome``, once performed, goes through the same intake as a delivered callback: ``parse`` (the same data model,
and it must name the netbeheerder asked), ``record`` (stored once by ``event_id``, routed to its case, marked
``source = 'recovered'``) and ``forward`` (the case ignores an event id it has seen). So a callback recovered and
then delivered late after all, or delivered while it is being recovered, is applied once. The signature check of a
delivery does not apply: Vangnet called the netbeheerder's configured address itself (``VANGNET_NETBEHEERDER_URLS``).

Run by the ``RecoverCallbacks`` workflow on a Temporal Schedule (``reconcile_schedule``); each recovery is logged,
kept on the request's row (``recovered_event_id``) and counted on ``/metrics`` (``vangnet_callbacks_recovered``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote

import asyncpg
import httpx
import structlog
from temporalio.client import Client

from schemas.calendar import brussels_date
from schemas.netbeheerder import NetbeheerderRequest
from vangnet.services.callbacks import MAX_CALLBACK_BYTES, CallbackRefused, Intake, forward, parse, record

log = structlog.get_logger(__name__)

BATCH = 200  # requests looked up per run; the oldest first, the rest at the next run


@dataclass(frozen=True)
class Overdue:
    idempotency_key: str
    case_id: str
    netbeheerder: str
    type: str
    sent_at: datetime


@dataclass(frozen=True)
class Recovered:
    idempotency_key: str
    event_id: str
    case_id: str | None
    intake: str  # accepted (recovered now), or duplicate (it was delivered meanwhile)


async def record_request(pool: asyncpg.Pool, request: NetbeheerderRequest, case_id: str) -> None:
    """Remember a request the netbeheerder accepted (once per idempotency key: a retry keeps the first time)."""
    await pool.execute(
        """INSERT INTO netbeheerder_requests (idempotency_key, case_id, netbeheerder, type) VALUES ($1, $2, $3, $4)
           ON CONFLICT (idempotency_key) DO NOTHING""",
        request.idempotency_key, case_id, request.netbeheerder, request.type)


async def overdue(conn: asyncpg.Connection, now: datetime, after: timedelta, lookback: timedelta,
                  limit: int = BATCH) -> list[Overdue]:
    """Requests sent between ``now - lookback`` and ``now - after`` whose callback is not stored, oldest first.
    Those whose callback is stored by now are marked answered first, so they are never asked for again."""
    await conn.execute(
        """UPDATE netbeheerder_requests r SET answered_at = now()
           WHERE answered_at IS NULL AND sent_at < $1 AND EXISTS (
               SELECT 1 FROM netbeheerder_callbacks c WHERE c.body ->> 'request_key' = r.idempotency_key)""",
        now - after)
    rows = await conn.fetch(
        """SELECT idempotency_key, case_id, netbeheerder, type, sent_at FROM netbeheerder_requests
           WHERE answered_at IS NULL AND sent_at < $1 AND sent_at > $2 ORDER BY sent_at LIMIT $3""",
        now - after, now - lookback, limit)
    return [Overdue(**dict(r)) for r in rows]


async def fetch_outcome(http: httpx.AsyncClient, base_url: str, key: str) -> bytes | None:
    """The callback that reports the request performed, as the netbeheerder keeps it; None while not performed."""
    r = await http.get(f"{base_url.rstrip('/')}/v1/requests/{quote(key, safe='')}", timeout=20)
    if r.status_code == 404:
        raise CallbackRefused(404, "the netbeheerder does not know this request")
    if r.status_code != 200:
        raise CallbackRefused(r.status_code, f"the netbeheerder answered {r.status_code}")
    outcome = r.json().get("outcome")
    raw = None if outcome is None else json.dumps(outcome).encode()
    if raw is not None and len(raw) > MAX_CALLBACK_BYTES:
        raise CallbackRefused(413, "the outcome is larger than a callback may be")
    return raw


async def recover_one(client: Client, pool: asyncpg.Pool, http: httpx.AsyncClient, urls: Mapping[str, str],
                      req: Overdue, today: date) -> Recovered | None:
    """Look one request up and take its outcome in; None when there is none yet (or a problem, kept on the row)."""
    try:
        base = urls.get(req.netbeheerder)
        if base is None:
            raise CallbackRefused(0, f"no address configured for netbeheerder '{req.netbeheerder}'")
        raw = await fetch_outcome(http, base, req.idempotency_key)
        if raw is None:
            await _checked(pool, req, "not performed yet")
            return None
        cb = parse(raw, req.netbeheerder)
        if cb.request_key != req.idempotency_key:
            raise CallbackRefused(422, "the outcome answers another request")
        async with pool.acquire() as conn:
            try:
                intake = await record(conn, cb, today, source="recovered")
            except asyncpg.UniqueViolationError:  # delivered at this very moment: stored once, by the delivery
                intake = Intake("duplicate", cb.event_id)
        if intake.outcome == "accepted" and intake.case_id is not None:
            await forward(client, pool, cb, intake.case_id)  # when Temporal is down, the forwarder sends it later
    except (httpx.HTTPError, CallbackRefused) as exc:
        problem = str(exc) or type(exc).__name__
        await _checked(pool, req, problem)
        log.warning("callback recovery: request not recovered", idempotency_key=req.idempotency_key,
                    case_id=req.case_id, problem=problem)
        return None
    recovered = intake.outcome == "accepted"
    await pool.execute(
        """UPDATE netbeheerder_requests SET answered_at = now(), checks = checks + 1, last_checked_at = now(),
                  last_problem = NULL, recovered_event_id = CASE WHEN $2 THEN $3 ELSE recovered_event_id END
           WHERE idempotency_key = $1""", req.idempotency_key, recovered, cb.event_id)
    log.warning("callback recovered from the netbeheerder" if recovered else "callback arrived meanwhile",
                 idempotency_key=req.idempotency_key, event_id=cb.event_id, type=cb.type, case_id=intake.case_id,
                 overdue_since=req.sent_at.isoformat())
    return Recovered(req.idempotency_key, cb.event_id, intake.case_id, intake.outcome)


async def _checked(pool: asyncpg.Pool, req: Overdue, problem: str) -> None:
    await pool.execute("""UPDATE netbeheerder_requests SET checks = checks + 1, last_checked_at = now(),
                          last_problem = $2 WHERE idempotency_key = $1""", req.idempotency_key, problem)


async def recover(client: Client, pool: asyncpg.Pool, http: httpx.AsyncClient, urls: Mapping[str, str],
                  now: datetime, after: timedelta, lookback: timedelta) -> tuple[list[Recovered], int]:
    """Look every overdue request up; returns what was taken in and how many are still without a callback."""
    async with pool.acquire() as conn:
        found = await overdue(conn, now, after, lookback)
    done = []
    for req in found:
        got = await recover_one(client, pool, http, urls, req, brussels_date(now))
        if got is not None:
            done.append(got)
    recovered = [r for r in done if r.intake == "accepted"]
    if found:
        log.info("callback recovery run", overdue=len(found), recovered=len(recovered),
                 still_missing=len(found) - len(done))
    return recovered, len(found) - len(done)
