"""Claiming the fund's payouts: the initial claim (forfait + tranche 1) when the agreement first comes into force,
tranche 2 on stable housing. The case submits a claim in the step's own append; the claim's ``FbuClaim`` workflow,
which outlives the case if need be, starts when Wonen-Vlaanderen first acts on it (cases started before
``CLAIMS_SUBMITTED_BY_THE_CASE`` start it as a child).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from schemas.activities import ClaimTermsQuery, WorkingDaysQuery
    from schemas.events import StreamWriter
    from schemas.fbu import ClaimKind, ClaimPayout, ClaimState, FbuClaimInput, Payout
    from schemas.fbu_events import ClaimSubmitted, PayoutLine, PayoutsClaimed
    from schemas.fbu_rules import FbuRuleSet, check_eligibility, compute_payouts

from workflows.common import emit, lookup, next_task, today, v2
from workflows.contracts import add_working_days, fbu_claim_terms
from workflows.fbu_base import FbuCaseBase, cause
from workflows.fbu_claim import FbuClaimWorkflow

T = TypeVar("T")
ZERO = Decimal("0.00")

# Runs started on this code open a case that only a later rule set covers (eligibility at opening is provisional;
# the submission day's set decides); runs started before refused it at opening.
ELIGIBILITY_AT_SUBMISSION = "fbu-eligibility-at-submission"
# Runs on this code answer the step that claims (the third signature, stable housing) once the claim is in the log,
# and let the server confirm the claim workflow's start in the background: waiting for that confirmation inside
# the step cost it another workflow task and the server's start of a child (docs/performance.md).
CLAIMS_STARTED_IN_BACKGROUND = "fbu-claims-started-in-background"
# Runs on this code look up the initial claim's rule set and the landlord's payment day in one local activity: the
# step that claims ran three local activities one after the other, each a turn through the worker.
CLAIM_TERMS_IN_ONE_LOOKUP = "fbu-claim-terms-in-one-lookup"
# Runs on this code send the claim workflow's start in the workflow task after the one that answers the step (a
# 1 ms timer between them): in the answering task, the server's handling of the start held the answer back by
# 100-150 ms under load (docs/performance.md). The claim is in the log before the answer either way.
CLAIMS_STARTED_AFTER_THE_ANSWER = "fbu-claims-started-after-the-answer"
# Runs on this code submit a claim themselves: its first ``ClaimSubmitted`` goes in the step's append, and no
# workflow is started for it; the API starts the claim's workflow when Wonen-Vlaanderen first acts on it. Creating
# a workflow in the step cost the server about as much as the three signatures together, and put every
# signature's p99 above 400 ms with 20 cases in flight (docs/performance.md).
CLAIMS_SUBMITTED_BY_THE_CASE = "fbu-claims-submitted-by-the-case"


class PayoutSteps(FbuCaseBase):
    async def _submit_initial_claim(self) -> None:
        """Under the rule set of the submission day: the case may no longer be eligible, then it ends."""
        s, on = self._case, today()
        assert s.agreement is not None
        counted_from = s.agreement.in_force_on or on
        landlord_due = None
        try:
            if workflow.patched(CLAIM_TERMS_IN_ONE_LOOKUP):
                terms = await lookup(fbu_claim_terms, ClaimTermsQuery(on=on, counted_from=counted_from))
                rules, landlord_due = terms.rules, terms.landlord_payment_due
            else:
                rules = await self._rule_set_on(on)
        except ActivityError as exc:
            await self._close("submit_claim", "ineligible", {"reasons": [cause(exc)]})
            return
        eligibility = check_eligibility(
            rules, market=s.rental_market, arrears_amount=s.arrears_amount,
            arrears_since=s.arrears_since, monthly_rent=s.monthly_rent,
        )
        s.eligibility_provisional, s.eligibility_rule_set_id = False, rules.id
        s.eligibility_reasons = list(eligibility.reasons)
        if not eligibility.eligible:
            await self._close("submit_claim", "ineligible",
                              {"rule_set_id": rules.id, "reasons": list(eligibility.reasons)})
            return
        self._data.rules = rules
        s.rule_set_id = rules.id
        self._data.initial_claimed = True
        amounts = compute_payouts(rules, s.arrears_amount)
        if landlord_due is None:
            landlord_due = await lookup(add_working_days, WorkingDaysQuery(
                start=counted_from, days=rules.landlord_payment_working_days))
        self._data.landlord_payment_due = landlord_due
        await self._start_claim("initial", [
            ClaimPayout(kind="forfait", amount=amounts.forfait),
            ClaimPayout(kind="tranche_1", amount=amounts.tranche_1),
        ])

    async def _first_eligible_later(self, rules: FbuRuleSet) -> FbuRuleSet | None:
        """The first rule set after ``rules`` that would cover the case (each looked up by the day it starts)."""
        s = self._case
        while rules.valid_until is not None:
            try:
                rules = await self._rule_set_on(rules.valid_until + timedelta(days=1))
            except ActivityError:
                return None
            if check_eligibility(rules, market=s.rental_market, arrears_amount=s.arrears_amount,
                                 arrears_since=s.arrears_since, monthly_rent=s.monthly_rent).eligible:
                return rules
        return None

    async def _claim_tranche_2(self) -> None:
        rules = self._data.rules
        assert rules is not None
        amounts = compute_payouts(rules, self._case.arrears_amount)
        await self._start_claim("tranche_2", [ClaimPayout(kind="tranche_2", amount=amounts.tranche_2)])

    async def _start_claim(self, kind: ClaimKind, payouts: list[ClaimPayout]) -> None:
        s = self._case
        assert s.agreement is not None and s.rule_set_id is not None
        claim_id = f"clm-{workflow.uuid4()}"
        for p in payouts:
            s.payouts.append(Payout(kind=p.kind, amount=p.amount, status="claimed", claim_id=claim_id,
                                    rule_set_id=s.rule_set_id))
        lines = [PayoutLine(kind=p.kind, amount=p.amount) for p in payouts]
        claimed = PayoutsClaimed(claim_id=claim_id, claim_kind=kind, payouts=lines, rule_set_id=s.rule_set_id,
                                 agreement_in_force_on=s.agreement.in_force_on, claimed_on=today())
        if v2() and workflow.patched(CLAIMS_SUBMITTED_BY_THE_CASE):
            await self._submit_in_the_step(claimed, ClaimSubmitted(
                claim_id=claim_id, claim_kind=kind, payouts=lines, amount=sum((p.amount for p in payouts), ZERO),
                rule_set_id=s.rule_set_id, arrears_amount=s.arrears_amount, agreement_version=s.agreement.version,
                agreement_in_force_on=s.agreement.in_force_on, submitted_on=today(), attempt=1, comment=None))
            return
        if v2():  # in the log before the step answers, so the case page shows the claim at once
            await self._emit(claimed)
        await self._flush()  # a step's held events are in the log before its claim workflow starts
        claim = FbuClaimInput(
            claim_id=claim_id,
            case_id=s.case_id,
            ocmw_id=s.ocmw_id,
            claim_kind=kind,
            payouts=payouts,
            rule_set_id=s.rule_set_id,
            arrears_amount=s.arrears_amount,
            agreement_version=s.agreement.version,
            agreement_in_force_on=s.agreement.in_force_on,
            submitted_on=today(),
        )

        def start() -> Coroutine[Any, Any, ChildWorkflowHandle[FbuClaimWorkflow, ClaimState]]:
            return workflow.start_child_workflow(FbuClaimWorkflow.run, claim, id=claim_id,
                                                 parent_close_policy=ParentClosePolicy.ABANDON)

        if workflow.patched(CLAIMS_STARTED_IN_BACKGROUND):
            after_the_answer = workflow.patched(CLAIMS_STARTED_AFTER_THE_ANSWER)
            starting = _in_the_next_task(start) if after_the_answer else start()
            self._claims_starting.append(asyncio.create_task(starting))  # confirmed by the server after the answer
        else:
            await start()

    async def _submit_in_the_step(self, claimed: PayoutsClaimed, submitted: ClaimSubmitted) -> None:
        """``PayoutsClaimed`` on the case's stream and the claim's first event on its own, in the step's append
        (``CLAIMS_SUBMITTED_BY_THE_CASE``)."""
        s = self._case
        first = StreamWriter(submitted.claim_id, s.case_id, "fbu", s.ocmw_id).event(submitted, workflow.now())
        if self._held is None:  # a step outside ``_one_append`` (stable housing)
            await emit(self._writer, claimed, elsewhere=[first])
            return
        self._held.append(claimed)
        await self._flush(first)

    async def _claims_started(self) -> None:
        """Before the run ends or continues as new: every claim workflow it started has been confirmed (a failed
        start fails here, as it failed the step before)."""
        while self._claims_starting:
            await self._claims_starting.pop(0)


async def _in_the_next_task(start: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``start()`` in the workflow task after this one (``CLAIMS_STARTED_AFTER_THE_ANSWER``); called only then, so
    a run evicted in between leaves no coroutine that was never awaited."""
    await next_task()
    return await start()
