"""A long FBU case continues as new with all its state and goes on with its next steps.

The time-skipping server never suggests continue-as-new, so this case runs as a subclass that continues as new
once its history passes a few events (the production class waits for the server's suggestion)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError
from temporalio.worker import Worker

from api.claim_workflows import run_claim_update
from schemas.fbu import (
    ClaimDecision,
    DeclareStableHousing,
    DraftAgreement,
    FbuCaseInput,
    FbuCaseState,
    PlanItem,
    RecordRepayment,
    SignAgreement,
)
from tests.conftest import eventually, time_skipping_server
from tests.fbu_helpers import OCMW
from worker.main import activities_for
from worker.sandbox import workflow_runner
from workflows.fbu_case import FbuCaseWorkflow
from workflows.fbu_claim import FbuClaimWorkflow


@workflow.defn(name="FbuCase", sandboxed=False)
class ShortRunFbuCase(FbuCaseWorkflow):
    continue_as_new_after_events = 20

    @workflow.run
    async def run(self, inp: FbuCaseInput) -> FbuCaseState:
        return await super().run(inp)


async def test_a_continued_case_carries_its_state_and_takes_its_next_steps(stack: Any) -> None:
    # Its own time-skipping server: after a continue-as-new the test server keeps time skipping locked, which
    # would freeze the clock every later test on the shared server relies on.
    async with time_skipping_server() as env:
        await _carry_over(stack, env)


async def _carry_over(stack: Any, env: Any) -> None:
    client = env.client
    task_queue = f"tq-can-{uuid.uuid4().hex[:8]}"
    case_id = f"fbu-{uuid.uuid4().hex}"
    today = (await env.get_current_time()).date()
    async with httpx.AsyncClient() as http, Worker(
        client, task_queue=task_queue, workflows=[ShortRunFbuCase, FbuClaimWorkflow],
        activities=activities_for(client, stack.pool, http, stack.settings), workflow_runner=workflow_runner(),
    ):
        handle = await client.start_workflow(
            ShortRunFbuCase.run,
            FbuCaseInput(case_id=case_id, ocmw_id=OCMW, rental_market="private", municipality_nis="44021",
                         monthly_rent=Decimal("800.00"), arrears_amount=Decimal("2400.00"),
                         arrears_since=today - timedelta(days=60)),
            id=case_id, task_queue=task_queue)
        first_run = handle.result_run_id
        await handle.execute_update(FbuCaseWorkflow.opened)
        plan = [PlanItem(due_on=today + timedelta(days=10 + 30 * n), amount=Decimal("300.00")) for n in range(6)]
        await handle.execute_update(FbuCaseWorkflow.draft_agreement,
                                    DraftAgreement(landlord_payment=Decimal("600.00"), plan=plan))
        for party in ("tenant", "landlord", "ocmw"):
            await handle.execute_update(FbuCaseWorkflow.sign, SignAgreement(party=party, evidence="signed"))

        async def continued() -> str | None:
            run_id = (await client.get_workflow_handle(case_id).describe()).run_id
            return run_id if run_id != first_run else None

        await eventually(continued)
        old = await client.get_workflow_handle(case_id, run_id=first_run).describe()
        assert old.status == WorkflowExecutionStatus.CONTINUED_AS_NEW

        # The new run knows everything the first one did.
        state = await handle.query(FbuCaseWorkflow.state)
        assert state.status == "in_force" and state.rule_set_id is not None
        assert state.agreement is not None and state.agreement.in_force_on is not None
        assert {s.party for s in state.agreement.signatures} == {"tenant", "landlord", "ocmw"}
        assert [(p.kind, p.status) for p in state.payouts] == [("forfait", "claimed"), ("tranche_1", "claimed")]
        assert {d.kind for d in state.deadlines} >= {"landlord_payment", "next_instalment"}

        # ... and goes on: the claim's payment reaches it, a repayment and stable housing follow (both refused by
        # a case that forgot its agreement in force or its initial claim), then tranche 2 completes it.
        initial = state.payouts[0].claim_id
        # Claims of cases on the current code start with their first decision (the API's way, as Wonen-Vlaanderen's).
        await run_claim_update(client, stack.pool, task_queue, initial, "claimed", FbuClaimWorkflow.decide,
                               ClaimDecision(decision="approve"), None)

        async def initial_paid() -> bool:
            s = await handle.query(FbuCaseWorkflow.state)
            return all(p.status == "paid" for p in s.payouts)

        await eventually(initial_paid)

        async def retried(update: Any, arg: Any) -> Any:
            """A step that may reach the case while it continues as new: the time-skipping server holds such an
            update without an answer, so it is sent again under the same id (as the API's 503 asks a client to)."""
            update_id = uuid.uuid4().hex

            async def attempt() -> Any:
                try:
                    return await handle.execute_update(update, arg, id=update_id, rpc_timeout=timedelta(seconds=3))
                except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
                    return None

            return await eventually(attempt, within=60)

        await retried(FbuCaseWorkflow.record_repayment, RecordRepayment(amount=Decimal("300.00"), paid_on=today))
        step = await retried(FbuCaseWorkflow.declare_stable_housing,
                             DeclareStableHousing(reason="Huur op tijd betaald"))
        assert step.status == "stable_housing"

        async def settled() -> FbuCaseState | None:
            """The case continues as new right after this step; the test server answers no query in between."""
            try:
                return await handle.query(FbuCaseWorkflow.state, rpc_timeout=timedelta(seconds=2))
            except RPCError:
                return None

        state = await eventually(settled, within=30)
        assert state.plan_progress is not None and state.plan_progress.repaid_total == Decimal("300.00")
        tranche_2 = next(p.claim_id for p in state.payouts if p.kind == "tranche_2")
        await run_claim_update(client, stack.pool, task_queue, tranche_2, "claimed", FbuClaimWorkflow.decide,
                               ClaimDecision(decision="approve"), None)

        async def completed_run() -> str | None:
            """The last run's id once it completed: waiting through ``result()`` across the runs can hang on the
            time-skipping server when the case continues as new near its end."""
            description = await client.get_workflow_handle(case_id).describe()
            return description.run_id if description.status == WorkflowExecutionStatus.COMPLETED else None

        last_run = await eventually(completed_run, within=60)
        final = await client.get_workflow_handle(case_id, run_id=last_run, result_type=FbuCaseState).result(
            follow_runs=False)
        assert (final.status, final.closing_reason) == ("closed", "completed")

    # One stream across the runs: its events are numbered on without a gap or a repeat.
    rows = await stack.pool.fetch(
        "SELECT stream_version, type FROM domain_events WHERE stream = $1 ORDER BY stream_version", case_id)
    assert [r["stream_version"] for r in rows] == list(range(1, len(rows) + 1))
    types = [r["type"] for r in rows]
    assert types.count("CaseOpened") == 1 and types.count("AgreementInForce") == 1 and types[-1] == "CaseClosed"
