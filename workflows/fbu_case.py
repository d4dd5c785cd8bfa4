"""One FBU eviction-prevention case, from opening to its last payout (domain.md §1).

``run`` tells the procedure: opening, drafting, signatures, the plan in force, stable housing, closing; an
amendment takes a case in force back to its signatures. The OCMW's steps are updates whose validators answer at
once (409 step out of order, 422 bad input) and write nothing to history when they refuse; the statuses they move
the case through are the table in ``fbu_status``. Claims run as child workflows (``fbu_payouts``). All the state is
one ``FbuWorkflowState``, so a long case continues as new with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from schemas.common import StepResult
    from schemas.events import StreamWriter
    from schemas.fbu import (
        ClaimStatusChanged,
        CloseCase,
        DeclareStableHousing,
        DraftAgreement,
        FbuCaseInput,
        FbuCaseState,
        FbuWorkflowState,
        RecordRepayment,
        RefuseSignature,
        SignAgreement,
    )
    from schemas.fbu_events import CaseOpened
    from schemas.fbu_rules import check_eligibility, provisional_note

from workflows import fbu_plan, fbu_status
from workflows.common import QUIET_END, handlers_done_in_a_quiet_task, out_of_order, recheck, today, until
from workflows.fbu_base import cause
from workflows.fbu_follow_up import FollowUp
from workflows.fbu_payouts import ELIGIBILITY_AT_SUBMISSION

# Runs started before this code never continue as new (their histories have no marker for it).
CONTINUE_AS_NEW = "fbu-continue-as-new"


@workflow.defn(name="FbuCase")
class FbuCaseWorkflow(FollowUp):
    # Tests set a history length to continue as new at; in production the server suggests when.
    continue_as_new_after_events: int | None = None

    @workflow.init
    def __init__(self, inp: FbuCaseInput) -> None:
        self._inp = inp
        self._data = inp.carried or FbuWorkflowState(case=FbuCaseState(
            case_id=inp.case_id,
            ocmw_id=inp.ocmw_id,
            status="draft",
            opened_on=today(),
            rental_market=inp.rental_market,
            municipality_nis=inp.municipality_nis,
            monthly_rent=inp.monthly_rent,
            arrears_amount=inp.arrears_amount,
            arrears_since=inp.arrears_since,
        ))
        self._writer = StreamWriter(inp.case_id, inp.case_id, "fbu", inp.ocmw_id, self._data.stream_version)
        self._wake = inp.carried is not None  # a continued run first looks at the case again
        self._lock = asyncio.Lock()
        self._claims_starting = []
        self._held = None

    # ---- the procedure ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: FbuCaseInput) -> FbuCaseState:
        if not self._data.opened:
            await self._opening()
        while self._case.status != "closed":  # an amendment takes the case back to its signatures
            await self._drafting()
            await self._signatures()
            await self._plan_in_force()
            await self._stable_housing()
        await self._settled()
        return self._case

    async def _opening(self) -> None:
        """CaseOpened with a provisional answer under the opening day's rule set; the submission day's set decides.

        A case ineligible under the opening day's set is still opened when a later set would cover it (a submission
        may fall under it; its reasons say so); one that no such set covers is refused for good and ends here."""
        async with self._lock:
            s = self._case
            reasons: list[str] = []
            try:
                self._data.rules = await self._rule_set_on(s.opened_on)
                eligibility = check_eligibility(
                    self._data.rules, market=s.rental_market, arrears_amount=s.arrears_amount,
                    arrears_since=s.arrears_since, monthly_rent=s.monthly_rent,
                )
                reasons = list(eligibility.reasons)
                eligible = eligibility.eligible
            except ActivityError as exc:
                eligible, reasons = False, [cause(exc)]
            rules = self._data.rules
            later = None
            if not eligible and rules is not None and workflow.patched(ELIGIBILITY_AT_SUBMISSION):
                later = await self._first_eligible_later(rules)
                if later is not None:
                    reasons.append(provisional_note(later))
            provisional = eligible or later is not None
            s.eligibility_reasons = reasons
            s.eligibility_provisional = provisional
            s.eligibility_rule_set_id = rules.id if rules else None
            await self._emit(CaseOpened(
                rental_market=s.rental_market, municipality_nis=s.municipality_nis, monthly_rent=s.monthly_rent,
                arrears_amount=s.arrears_amount, arrears_since=s.arrears_since, opened_on=s.opened_on,
                rule_set_id=rules.id if rules else None, eligible=eligible, eligibility_reasons=reasons,
                provisional=provisional,
            ))
            self._data.opened = True
            if not provisional:
                await self._close("open", "ineligible", {"reasons": reasons})

    async def _drafting(self) -> None:
        """Until the OCMW drafts the agreement's first version (no deadline)."""
        while self._case.status == "draft":
            await self._tick(None)

    async def _signatures(self) -> None:
        """Until the third signature, a refusal, or the day after the signature deadline."""
        while self._case.status == "awaiting_signatures":
            await self._tick(self._signature_deadline_passes())

    async def _plan_in_force(self) -> None:
        """Follow the plan until stable housing, an amendment or the end; a breach waits for the OCMW's step."""
        while self._case.status in ("in_force", "plan_breached"):
            await self._tick(self._next_plan_check())

    async def _stable_housing(self) -> None:
        """Until tranche 2 is paid (the claim's signal), which completes the case."""
        while self._case.status == "stable_housing":
            await self._tick(None)

    async def _tick(self, wake_on: date | None) -> None:
        """Wait for a step or the day ``wake_on``, then apply what time and that step decided."""
        if self._should_continue_as_new():
            await self._settled()
            self._data.stream_version = self._writer.version
            workflow.continue_as_new(self._inp.model_copy(update={"carried": self._data}))
        wait = until(wake_on) if wake_on is not None else None
        if wait is None or wait > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._wake, timeout=wait)
        self._wake = False
        async with self._lock:
            await self._on_time()

    async def _settled(self) -> None:
        """Before the run ends or continues as new: the claim workflows it started are confirmed and its handlers
        have finished, in a task that appended nothing (a step that came in meanwhile may have started a claim)."""
        while True:
            await self._claims_started()
            await handlers_done_in_a_quiet_task(self._writer)
            if not self._claims_starting or not workflow.patched(QUIET_END):
                return

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        limit = self.continue_as_new_after_events
        due = info.is_continue_as_new_suggested() or (limit is not None and info.get_current_history_length() > limit)
        return due and workflow.patched(CONTINUE_AS_NEW)

    @workflow.update(name="opened")
    async def opened(self) -> StepResult:
        """Answers once ``CaseOpened`` is in the log, so the API's 201 means the case can take its next step."""
        await workflow.wait_condition(lambda: self._data.opened)
        return StepResult(status=self._case.status, message="Case opened.")

    # ---- agreement (fbu_agreement) ---------------------------------------------------------------------

    @workflow.update(name="draft_agreement")
    async def draft_agreement(self, cmd: DraftAgreement) -> StepResult:
        async with self._lock:
            recheck(self._validate_draft, cmd)
            return await self._draft(cmd)

    @draft_agreement.validator
    def _validate_draft(self, cmd: DraftAgreement) -> None:
        self._check_draft(cmd)

    @workflow.update(name="sign")
    async def sign(self, cmd: SignAgreement) -> StepResult:
        async with self._lock:
            recheck(self._validate_sign, cmd)
            return await self._sign(cmd)

    @sign.validator
    def _validate_sign(self, cmd: SignAgreement) -> None:
        self._check_sign(cmd)

    @workflow.update(name="refuse")
    async def refuse(self, cmd: RefuseSignature) -> StepResult:
        async with self._lock:
            recheck(self._validate_refuse, cmd)
            return await self._refuse(cmd)

    @refuse.validator
    def _validate_refuse(self, cmd: RefuseSignature) -> None:
        self._check_refuse(cmd)

    # ---- in force (fbu_follow_up, fbu_payouts) ---------------------------------------------------------

    @workflow.signal(name="claim_status")
    def claim_status(self, change: ClaimStatusChanged) -> None:
        for payout in self._case.payouts:
            if payout.claim_id == change.claim_id:
                payout.status = change.status
                payout.payment_id = change.payment_id
        self._wake = True

    @workflow.update(name="record_repayment")
    async def record_repayment(self, cmd: RecordRepayment) -> StepResult:
        async with self._lock:
            recheck(self._validate_repayment, cmd)
            return await self._record_repayment(cmd)

    @record_repayment.validator
    def _validate_repayment(self, cmd: RecordRepayment) -> None:
        self._check_repayment(cmd)

    @workflow.update(name="declare_stable_housing")
    async def declare_stable_housing(self, cmd: DeclareStableHousing) -> StepResult:
        async with self._lock:
            recheck(self._validate_stable, cmd)
            return await self._declare_stable_housing(cmd)

    @declare_stable_housing.validator
    def _validate_stable(self, cmd: DeclareStableHousing) -> None:
        self._check_stable_housing(cmd)

    # ---- closing ---------------------------------------------------------------------------------------

    @workflow.update(name="close")
    async def close(self, cmd: CloseCase) -> StepResult:
        async with self._lock:
            recheck(self._validate_close, cmd)
            step = "close_plan_breached" if cmd.reason == "plan_breached" else "close"
            await self._close(step, cmd.reason, {"note": cmd.note} if cmd.note else {})
            return StepResult(status="closed", message=f"Case closed: {cmd.reason}.")

    @close.validator
    def _validate_close(self, cmd: CloseCase) -> None:
        s = self._require_open()
        step = "close_plan_breached" if cmd.reason == "plan_breached" else "close"
        if not fbu_status.allows(s.status, step):
            raise out_of_order("The case can only be closed for a breached plan after a breach was detected.")

    # ---- the debugging query (the API reads the case document) -----------------------------------------

    @workflow.query(name="state")
    def state(self) -> FbuCaseState:
        d = self._data
        s = d.case.model_copy(deep=True)
        if s.agreement is not None and d.rules is not None and d.ever_in_force is not None:
            s.plan_progress = fbu_plan.progress(s.agreement.plan, d.repayments, today(), d.rules.breach_grace_days)
        s.deadlines = fbu_plan.deadlines(d.case, d.landlord_payment_due, today())
        return s
