"""Netbeheerder callbacks: taking one in, and handing stored ones to their case workflow.

Intake is one job per function: ``sender_of`` checks the signature, ``parse`` reads the body, ``record`` stores
it once (deduplicated by event id) and routes it to its case or, for a payment problem of a household without a
case, to an outreach signal for the OCMW when a sharing policy allows; ``forward`` signals the case. The API
route only translates HTTP to these calls. When Temporal cannot be reached the row stays unforwarded and the
worker's forwarder sends it later; the workflow ignores an event id it has seen, so a callback forwarded twice
still counts once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

import asyncpg
import structlog
from pydantic import SecretStr, ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from schemas.identifiers import ocmw_of
from schemas.netbeheerder import Callback, CallbackType, verify
from schemas.netbeheerder_callbacks import CALLBACK_IN
from vangnet.security import sharing
from vangnet.storage.energy_cases import case_for_callback
from workflows.energy_case import EnergyCaseWorkflow

log = structlog.get_logger(__name__)

PAYMENT_PROBLEMS = ("invoice_unpaid", "debt_updated", "invoice_issued")
MAX_CALLBACK_BYTES = 64 * 1024  # a larger body is refused (413 at the API), whoever brings it
CALLBACK_TYPES = frozenset(get_args(CallbackType))
Source = Literal["delivered", "recovered"]
CALLBACK_LOCK_CLASS = 7301  # with the event id's hash: one intake at a time per callback (two-key advisory locks)


class CallbackRefused(Exception):
    """A callback that is not taken in; ``status`` is the HTTP status the route answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Intake:
    """What became of a callback that was taken in."""

    outcome: Literal["accepted", "duplicate", "not_shared", "signal_created"]
    event_id: str
    case_id: str | None = None
    signal_id: str | None = None
    reason: str | None = None


def sender_of(secrets: Mapping[str, Sequence[SecretStr]], timestamp: str | None, signature: str | None,
              raw: bytes, now: float) -> str:
    """The netbeheerder whose secret signed this body; refused (401) when none did, or too long ago."""
    for netbeheerder, keys in secrets.items():
        if verify([k.get_secret_value() for k in keys], timestamp, signature, raw, now=now):
            return netbeheerder
    raise CallbackRefused(401, "Missing, invalid or expired signature.")


def parse(raw: bytes, sender: str) -> Callback:
    """The callback in ``raw``, checked against its type's data model (422 names the first bad field, e.g.
    ``data.due_on``); it must name the netbeheerder that signed it."""
    try:
        CALLBACK_IN.validate_json(raw)
        cb = Callback.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        if loc and loc[0] in CALLBACK_TYPES:  # the union's tag: the type is already named by the body
            loc = loc[1:]
        raise CallbackRefused(422, f"Invalid callback: {exc.error_count()} problem(s), first: "
                                   f"{'.'.join(loc) or 'body'}: {first['msg']}") from exc
    if cb.netbeheerder != sender:
        raise CallbackRefused(401, "The callback names another netbeheerder than the one that signed it.")
    return cb


async def record(conn: asyncpg.Connection, cb: Callback, today: date, source: Source = "delivered") -> Intake:
    """Store the callback once, with the case it belongs to or the outreach signal it creates (one transaction);
    ``source`` says whether the netbeheerder delivered it or the recovery fetched it (``callback_recovery``)."""
    async with conn.transaction():
        # the netbeheerder's delivery and the recovery can bring the same callback at the same moment: the second
        # waits for the first to commit, then finds its row (no unique violation, no second outreach signal)
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", CALLBACK_LOCK_CLASS, cb.event_id)
        if await conn.fetchval("SELECT 1 FROM netbeheerder_callbacks WHERE event_id = $1", cb.event_id):
            return Intake("duplicate", cb.event_id)
        case_id = await case_for_callback(conn, cb.ean, cb.energy, cb.netbeheerder)
        signal_id = None
        if case_id is None:
            nis = str(cb.data.get("municipality_nis") or "")
            if cb.type not in PAYMENT_PROBLEMS or not (len(nis) == 5 and nis.isdigit()):
                raise CallbackRefused(404, "Unknown connection point: no case for this EAN and energy.")
            decision = await sharing.check(conn, sharing.PAYMENT_SIGNAL, cb.netbeheerder, ocmw_of(nis), today)
            if not decision.allowed:
                await _store(conn, cb, source=source)
                return Intake("not_shared", cb.event_id, reason=decision.reason)
            signal_id = "sig-" + uuid.uuid4().hex
            await conn.execute(
                """INSERT INTO ocmw_signals (signal_id, ocmw_id, municipality_nis, kind, energy, netbeheerder,
                                             source_event_id) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                signal_id, ocmw_of(nis), nis, cb.type, cb.energy, cb.netbeheerder, cb.event_id)
        await _store(conn, cb, case_id, signal_id, source)
    log.info("netbeheerder callback stored", event_id=cb.event_id, type=cb.type, case_id=case_id,
             signal_id=signal_id, source=source)
    if signal_id is not None:
        return Intake("signal_created", cb.event_id, signal_id=signal_id)
    return Intake("accepted", cb.event_id, case_id=case_id)


async def _store(conn: asyncpg.Connection, cb: Callback, case_id: str | None = None,
                 signal_id: str | None = None, source: Source = "delivered") -> None:
    await conn.execute(
        """INSERT INTO netbeheerder_callbacks (event_id, netbeheerder, type, ean, energy, body, case_id, signal_id,
                                               source)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)""",
        cb.event_id, cb.netbeheerder, cb.type, cb.ean, cb.energy, cb.model_dump_json(), case_id, signal_id, source)


async def forward(client: Client, pool: asyncpg.Pool, cb: Callback, case_id: str) -> bool:
    """Signal the case; marked forwarded once Temporal has it, else left for ``run_forwarder``."""
    try:
        await client.get_workflow_handle(case_id).signal(EnergyCaseWorkflow.netbeheerder_callback, cb)
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
