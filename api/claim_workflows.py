"""A claim's workflow starts when Wonen-Vlaanderen first acts on the claim.

Cases on the current code submit a claim in the step that claims (its first ``ClaimSubmitted`` goes in that step's
append, patch ``fbu-claims-submitted-by-the-case``) and start no workflow for it: creating a workflow in that step
cost the Temporal server about as much as the case's three signatures together (``docs/performance.md``). Until
its decision a claim has nothing to wait for but that decision, so its workflow starts with it, from the event in
the log: the legal record holds everything the workflow needs.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.problems import ErrorCode, Refusal
from api.updates import Update, rpc_to_http, run_update
from schemas import event_catalog
from schemas.fbu import ClaimPayout, FbuClaimInput
from schemas.fbu_events import ClaimSubmitted
from vangnet.storage.projections import stored_event
from workflows.fbu_claim import FbuClaimWorkflow

__all__ = ["claim_input", "run_claim_update"]

log = structlog.get_logger(__name__)


async def run_claim_update(client: Client, pool: asyncpg.Pool, task_queue: str, claim_id: str, status: str,
                           update: Update, arg: Any, idempotency_key: str | None) -> Any:
    """``run_update`` on the claim's workflow, started first if it does not exist and the claim still waits for its
    first decision (``status`` from the read model: a claim decided before has, or had, its workflow)."""
    try:
        return await run_update(client, claim_id, update, arg, idempotency_key)
    except Refusal as refusal:
        if refusal.code is not ErrorCode.NOT_FOUND:
            raise
    if status != "claimed":
        raise Refusal(ErrorCode.STEP_OUT_OF_ORDER,
                      f"This claim cannot be decided now: its status is '{status}'.")
    inp = await claim_input(pool, claim_id)
    if inp is None:
        raise Refusal(ErrorCode.NOT_FOUND, "No such claim.")
    try:
        await client.start_workflow(FbuClaimWorkflow.run, inp, id=claim_id, task_queue=task_queue,
                                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        log.info("claim workflow started", claim_kind=inp.claim_kind)
    except WorkflowAlreadyStartedError:
        pass  # another request started it a moment ago; the update below goes to that run
    except RPCError as exc:  # Temporal unreachable: a retryable 503, and nothing was decided
        raise rpc_to_http(exc) from exc
    return await run_update(client, claim_id, update, arg, idempotency_key)


async def claim_input(pool: asyncpg.Pool, claim_id: str) -> FbuClaimInput | None:
    """The claim's workflow input from its first ``ClaimSubmitted`` (version 1 of its stream), if its case wrote it."""
    row = await pool.fetchrow("SELECT * FROM domain_events WHERE stream = $1 AND stream_version = 1", claim_id)
    if row is None or row["type"] != ClaimSubmitted.TYPE:
        return None
    event = stored_event(row)
    submitted = event_catalog.body(event, ClaimSubmitted)
    return FbuClaimInput(
        claim_id=claim_id, case_id=event.case_id, ocmw_id=event.ocmw_id, claim_kind=submitted.claim_kind,
        payouts=[ClaimPayout(kind=p.kind, amount=p.amount) for p in submitted.payouts],
        rule_set_id=submitted.rule_set_id, arrears_amount=submitted.arrears_amount,
        agreement_version=submitted.agreement_version, agreement_in_force_on=submitted.agreement_in_force_on,
        submitted_on=submitted.submitted_on, submitted_by_case=True)
