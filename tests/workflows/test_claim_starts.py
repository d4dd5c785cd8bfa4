"""A claim its case submitted has no workflow until Wonen-Vlaanderen's first decision starts it, exactly once
(``api/claim_workflows.py``, patch ``fbu-claims-submitted-by-the-case``)."""

from __future__ import annotations

import asyncio

import pytest

from api.claim_workflows import claim_input, run_claim_update
from api.problems import ErrorCode, Refusal
from schemas.fbu import ClaimDecision
from tests.conftest import Stack, eventually
from tests.fbu_helpers import Driver, workflow_exists
from workflows.fbu_claim import FbuClaimWorkflow


async def _decide(d: Driver, claim_id: str, decision: str, key: str) -> tuple[int, dict[str, str]]:
    body = {"decision": decision, **({"reason": "Ontbrekend attest"} if decision == "reject" else {})}
    r = await d.api.post(f"/v1/claims/{claim_id}/decision", json=body,
                         headers={**d.wv, "Idempotency-Key": key})
    return r.status_code, r.json()


async def test_concurrent_first_decisions_start_one_workflow_and_pay_once(stack: Stack) -> None:
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    claim = await d.claim(case_id, "initial")
    assert claim is not None and not await workflow_exists(stack.env.client, claim["claim_id"])

    answers = await asyncio.gather(_decide(d, claim["claim_id"], "approve", "wv-a"),
                                   _decide(d, claim["claim_id"], "approve", "wv-a"),  # the same request, retried
                                   _decide(d, claim["claim_id"], "reject", "wv-b"))
    statuses = sorted(status for status, _ in answers)
    assert statuses in ([200, 200, 409], [200, 409, 409]), answers
    assert answers[0][0] == answers[1][0]  # one key, one answer
    if answers[0][0] == 200:
        assert answers[0][1] == answers[1][1]

    decided = await stack.pool.fetch("SELECT type FROM domain_events WHERE stream = $1 AND type IN "
                                     "('ClaimApproved', 'ClaimRejected')", claim["claim_id"])
    assert len(decided) == 1
    if decided[0]["type"] == "ClaimApproved":
        paid = await eventually(lambda: d.claim(case_id, "initial", status="paid"), within=30)
        payments = await stack.pool.fetchval(
            "SELECT count(*) FROM domain_events WHERE stream = $1 AND type = 'PayoutPaid'", claim["claim_id"])
        assert payments == 1 and paid["payment_id"]


async def test_a_claim_no_longer_waiting_for_its_first_decision_is_never_started_again(stack: Stack) -> None:
    """Its workflow gone (after Temporal's retention, say) and the read model past ``claimed``: refused, and no
    workflow is started, so no decision or payment can happen twice."""
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    claim = await d.claim(case_id, "initial")
    assert claim is not None
    with pytest.raises(Refusal) as refused:
        await run_claim_update(stack.env.client, stack.pool, stack.task_queue, claim["claim_id"], "paid",
                               FbuClaimWorkflow.decide, ClaimDecision(decision="approve"), None)
    assert refused.value.code is ErrorCode.STEP_OUT_OF_ORDER and "'paid'" in str(refused.value.detail)
    assert not await workflow_exists(stack.env.client, claim["claim_id"])


async def test_the_workflow_input_comes_from_the_claims_first_event(stack: Stack) -> None:
    d = Driver(stack)
    case_id, _ = await d.in_force_case(arrears="3000.00")
    claim = await d.claim(case_id, "initial")
    assert claim is not None
    inp = await claim_input(stack.pool, claim["claim_id"])
    assert inp is not None and inp.submitted_by_case
    assert (inp.case_id, inp.claim_kind, inp.rule_set_id) == (case_id, "initial", claim["rule_set_id"])
    assert [(p.kind, str(p.amount)) for p in inp.payouts] == [(p["kind"], p["amount"]) for p in claim["payouts"]]
    assert str(inp.arrears_amount) == claim["arrears_amount"] == "3000.00"
    assert inp.submitted_on.isoformat() == claim["submitted_on"]
    assert await claim_input(stack.pool, case_id) is None  # a case's stream starts with CaseOpened
    assert await claim_input(stack.pool, "clm-none") is None
