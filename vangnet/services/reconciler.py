"""No orphan workflows: a case workflow that runs without its case row is ended, with an event saying so.

The API records a case (registry row, sealed party data) and starts its workflow in one database transaction.
If the transaction does not commit after the start succeeded (the start RPC timed out but went through, or the
API crashed in between), the workflow runs without a case: it would append events and show up in lists, yet
every read of it answers 404, and there is no party data to adopt it with. The reconciler finds such workflows
(case workflows running for longer than a grace period with no registry row), appends ``CaseOpeningAbandoned``
to their stream (the projections drop them from every list) and terminates them. It runs when a worker starts
and on a Temporal Schedule; running it twice, or concurrently, ends each orphan once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client, WorkflowExecution, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from schemas.calendar import brussels_date
from schemas.energy import EnergyCaseInput
from schemas.events import CaseKind, CaseOpeningAbandoned, StreamWriter
from schemas.fbu import FbuCaseInput
from vangnet.storage import eventstore

log = structlog.get_logger(__name__)

CASE_WORKFLOWS: dict[str, tuple[CaseKind, type[FbuCaseInput] | type[EnergyCaseInput]]] = {
    "FbuCase": ("fbu", FbuCaseInput), "EnergyCase": ("energy", EnergyCaseInput)}
REASON = "the opening that started this workflow was never committed"


@dataclass(frozen=True)
class Ended:
    case_id: str
    run_id: str
    case_kind: CaseKind


async def find_orphans(client: Client, pool: asyncpg.Pool, now: datetime, grace: timedelta,
                       lookback: timedelta) -> list[WorkflowExecution]:
    """Case workflows started between ``now - lookback`` and ``now - grace`` that are running without a case."""
    types = " OR ".join(f"WorkflowType = '{name}'" for name in CASE_WORKFLOWS)
    query = (f"ExecutionStatus = 'Running' AND ({types}) AND StartTime > '{(now - lookback).isoformat()}' "
             f"AND StartTime < '{(now - grace).isoformat()}'")
    running = [wf async for wf in client.list_workflows(query)]
    if not running:
        return []
    known = {r["case_id"] for r in await pool.fetch(
        "SELECT case_id FROM case_registry WHERE case_id = ANY($1::text[])", [wf.id for wf in running])}
    return [wf for wf in running if wf.id not in known]


async def end_orphan(client: Client, pool: asyncpg.Pool, wf: WorkflowExecution, now: datetime) -> Ended:
    """Record the abandonment in the case's stream (once per run), then terminate the workflow."""
    kind, input_type = CASE_WORKFLOWS[wf.workflow_type]
    handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
    async with pool.acquire() as conn:
        recorded = await conn.fetchval(
            "SELECT 1 FROM domain_events WHERE stream = $1 AND type = $2 AND data->>'workflow_run_id' = $3",
            wf.id, CaseOpeningAbandoned.TYPE, wf.run_id)
        if not recorded:
            version = await conn.fetchval(
                "SELECT coalesce(max(stream_version), 0) FROM domain_events WHERE stream = $1", wf.id)
            inp = await _input(client, handle, input_type)
            writer = StreamWriter(wf.id, wf.id, kind, inp.ocmw_id, version=version)
            body = CaseOpeningAbandoned(reason=REASON, workflow_run_id=wf.run_id, abandoned_on=brussels_date(now))
            await eventstore.append(conn, [writer.event(body, now)])
    try:
        await handle.terminate(reason=f"orphan: {REASON}")
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:  # already ended: nothing left to do
            raise
    log.warning("orphan case workflow ended", case_id=wf.id, run_id=wf.run_id, case_kind=kind)
    return Ended(wf.id, wf.run_id, kind)


async def reconcile(client: Client, pool: asyncpg.Pool, now: datetime, grace: timedelta,
                    lookback: timedelta = timedelta(days=2)) -> list[Ended]:
    """End every orphan found; a stream that a still-running orphan is writing to is left for the next run."""
    ended = []
    for wf in await find_orphans(client, pool, now, grace, lookback):
        try:
            ended.append(await end_orphan(client, pool, wf, now))
        except eventstore.StreamConflictError:
            log.info("orphan still writing; next run ends it", case_id=wf.id)
    return ended


async def _input(client: Client, handle: WorkflowHandle[Any, Any],
                 input_type: type[FbuCaseInput] | type[EnergyCaseInput]) -> FbuCaseInput | EnergyCaseInput:
    """The run's input (no personal data; its OCMW names the stream's organisation), from its first event."""
    async for event in handle.fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [inp] = await client.data_converter.decode(payloads, [input_type])
        assert isinstance(inp, FbuCaseInput | EnergyCaseInput)
        return inp
    raise RuntimeError(f"workflow {handle.id} has no history")
