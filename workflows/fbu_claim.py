"""One FBU claim (forfait + tranche 1, or tranche 2) from submission to payment.

Wonen-Vlaanderen decides through an update. A claim its case submitted (``submitted_by_case``) starts with that
first decision, from its ``ClaimSubmitted`` in the log (``api/claim_workflows.py``). A rejected claim waits for the
OCMW to correct and resubmit it; an approved claim is paid exactly once: the payment system books by idempotency
key (the claim id) and the ``PayoutPaid`` event is appended with a deterministic id, so retries, crashes and
replays add nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.activities import PaymentRequest
    from schemas.common import StepResult
    from schemas.events import StreamWriter
    from schemas.fbu import ClaimDecision, ClaimPayout, ClaimState, ClaimStatusChanged, FbuClaimInput, ResubmitClaim
    from schemas.fbu_events import ClaimApproved, ClaimRejected, ClaimSubmitted, PayoutLine, PayoutPaid

from workflows.common import HTTP_RETRY, emit, invalid, out_of_order, recheck, today
from workflows.contracts import pay_claim

# Claims started on this code do not tell the case about their first submission: the case recorded the claim as
# claimed when it started it, so that signal changed nothing, and it cost a workflow task of the case's and one of
# the claim's in the server's busiest moment, right after the third signature (docs/performance.md).
FIRST_SUBMISSION_UNTOLD = "fbu-claim-first-submission-untold"


class ClaimingCase:
    """What a claim tells the case that started it. The FBU case implements this signal; the claim sends it
    through this declaration (it cannot import the case, which imports the claim to start it)."""

    @workflow.signal(name="claim_status")
    def claim_status(self, change: ClaimStatusChanged) -> None:
        raise NotImplementedError("declaration: FbuCaseWorkflow.claim_status implements it")


@workflow.defn(name="FbuClaim")
class FbuClaimWorkflow:
    @workflow.init
    def __init__(self, inp: FbuClaimInput) -> None:
        self._inp = inp
        # A claim its case submitted already holds version 1 of its stream (the first ClaimSubmitted).
        self._writer = StreamWriter(inp.claim_id, inp.case_id, "fbu", inp.ocmw_id,
                                    version=1 if inp.submitted_by_case else 0)
        self._state = ClaimState(
            claim_id=inp.claim_id,
            case_id=inp.case_id,
            ocmw_id=inp.ocmw_id,
            claim_kind=inp.claim_kind,
            status="claimed",
            payouts=inp.payouts,
            amount=sum((p.amount for p in inp.payouts), Decimal("0.00")),
            rule_set_id=inp.rule_set_id,
            arrears_amount=inp.arrears_amount,
            agreement_version=inp.agreement_version,
            agreement_in_force_on=inp.agreement_in_force_on,
            submitted_on=inp.submitted_on,
            attempt=1,
        )
        self._submitted = inp.submitted_by_case
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, inp: FbuClaimInput) -> ClaimState:
        if not inp.submitted_by_case:
            async with self._lock:
                await self._submit(comment=None)
        await workflow.wait_condition(lambda: self._state.status == "approved")
        async with self._lock:
            receipt = await workflow.execute_activity(
                pay_claim,
                PaymentRequest(
                    idempotency_key=f"fbu-claim:{inp.claim_id}",
                    amount=self._state.amount,
                    beneficiary=inp.ocmw_id,
                    reference=f"FBU {inp.case_id} {inp.claim_kind}",
                ),
                start_to_close_timeout=timedelta(seconds=60),
                # pay_claim heartbeats while its HTTP call is in flight: a payment cut off by a worker crash is
                # retried (same idempotency key, so the same payment) within seconds, not after the 60 s above.
                heartbeat_timeout=timedelta(seconds=10),
                retry_policy=HTTP_RETRY,
            )
            self._state.status = "paid"
            self._state.payment_id = receipt.payment_id
            await emit(self._writer, PayoutPaid(
                claim_id=inp.claim_id, claim_kind=inp.claim_kind, payment_id=receipt.payment_id,
                amount=self._state.amount, payouts=_lines(inp.payouts), rule_set_id=inp.rule_set_id,
                paid_on=today()), local=False)
            await self._tell_case()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _submit(self, comment: str | None) -> None:
        s = self._state
        await emit(self._writer, ClaimSubmitted(
            claim_id=s.claim_id, claim_kind=s.claim_kind, payouts=_lines(s.payouts), amount=s.amount,
            rule_set_id=s.rule_set_id, arrears_amount=s.arrears_amount, agreement_version=s.agreement_version,
            agreement_in_force_on=s.agreement_in_force_on, submitted_on=s.submitted_on, attempt=s.attempt,
            comment=comment), local=False)
        self._submitted = True
        if s.attempt > 1 or not workflow.patched(FIRST_SUBMISSION_UNTOLD):
            await self._tell_case()

    async def _tell_case(self) -> None:
        """Let the case follow its payouts; a case that has ended meanwhile no longer needs to know."""
        case = workflow.get_external_workflow_handle(self._inp.case_id)
        try:
            await case.signal(
                ClaimingCase.claim_status,
                ClaimStatusChanged(claim_id=self._inp.claim_id, status=self._state.status,
                                   payment_id=self._state.payment_id),
            )
        except ApplicationError:
            workflow.logger.info("case no longer running; claim status not forwarded")
        except Exception as exc:  # the external signal fails when the case has completed
            workflow.logger.info("case not signalled: %s", type(exc).__name__)

    # ---- Wonen-Vlaanderen's decision -----------------------------------------------------------------

    @workflow.update(name="decide")
    async def decide(self, cmd: ClaimDecision) -> StepResult:
        # The claim is in the inbox as soon as ClaimSubmitted is in the log, which can be a moment before this
        # workflow has seen its own append complete: wait for that rather than refuse the decision.
        await workflow.wait_condition(lambda: self._submitted)
        async with self._lock:
            recheck(self._validate_decide, cmd)
            on = today()
            self._state.decided_on = on
            self._state.decision_reason = cmd.reason
            if cmd.decision == "approve":
                await emit(self._writer, ClaimApproved(claim_id=self._inp.claim_id, decided_on=on, reason=cmd.reason),
                           local=False)
                self._state.status = "approved"
                await self._tell_case()
                return StepResult(status="approved", message="Claim approved; the payment to the OCMW follows.")
            await emit(self._writer, ClaimRejected(claim_id=self._inp.claim_id, decided_on=on, reason=cmd.reason),
                       local=False)
            self._state.status = "rejected"
            await self._tell_case()
            return StepResult(status="rejected", message="Claim rejected; the OCMW can correct and resubmit it.")

    @decide.validator
    def _validate_decide(self, cmd: ClaimDecision) -> None:
        if self._state.status != "claimed":
            raise out_of_order(f"This claim cannot be decided now: its status is '{self._state.status}'.")

    @workflow.update(name="resubmit")
    async def resubmit(self, cmd: ResubmitClaim) -> StepResult:
        async with self._lock:
            recheck(self._validate_resubmit, cmd)
            self._state.attempt += 1
            self._state.status = "claimed"
            self._state.decided_on = None
            self._state.decision_reason = None
            self._state.submitted_on = today()
            await self._submit(comment=cmd.comment)
            return StepResult(status="claimed", message="Claim resubmitted to Wonen-Vlaanderen.")

    @resubmit.validator
    def _validate_resubmit(self, cmd: ResubmitClaim) -> None:
        if self._state.status != "rejected":
            raise out_of_order(
                f"Only a rejected claim can be resubmitted; this claim's status is '{self._state.status}'."
            )
        if not cmd.comment.strip():
            raise invalid("Say what was corrected.")

    @workflow.query(name="state")
    def state(self) -> ClaimState:
        return self._state


def _lines(payouts: list[ClaimPayout]) -> list[PayoutLine]:
    return [PayoutLine(kind=p.kind, amount=p.amount) for p in payouts]
