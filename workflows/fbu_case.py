"""One FBU eviction-prevention case, from opening to its last payout (domain.md §1).

The OCMW's steps are updates whose validators answer at once (409 step out of order, 422 bad input) and write
nothing to history when they refuse. Time-driven steps (signature deadline, late instalments, the stable-housing
proposal) are evaluated when the next relevant Brussels midnight arrives. Claims run as child workflows.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from schemas.activities import RuleSetQuery, WorkingDaysQuery
    from schemas.calendar import add_months
    from schemas.common import Deadline, StepResult
    from schemas.events import CaseClosed, EventData, StreamWriter
    from schemas.fbu import (
        PARTIES,
        AgreementVersion,
        ClaimKind,
        ClaimPayout,
        ClaimStatusChanged,
        CloseCase,
        ClosingReason,
        DeclareStableHousing,
        DraftAgreement,
        FbuCaseInput,
        FbuCaseState,
        FbuClaimInput,
        Payout,
        RecordRepayment,
        Refusal,
        RefuseSignature,
        Repayment,
        SignAgreement,
        Signature,
    )
    from schemas.fbu_events import (
        AgreementAmended,
        AgreementAmendmentLapsed,
        AgreementDrafted,
        AgreementInForce,
        AgreementSigned,
        CaseOpened,
        Instalment,
        PayoutLine,
        PayoutsClaimed,
        PlanBreached,
        RepaymentRecorded,
        SignatureRefused,
        StableHousingDeclared,
        StableHousingProposed,
    )
    from schemas.fbu_rules import FbuRuleSet, check_eligibility, compute_payouts

import contextlib

from workflows import fbu_plan
from workflows.common import emit, invalid, lookup, out_of_order, today, until, v2
from workflows.contracts import add_working_days, fbu_rule_set_on
from workflows.fbu_claim import ClaimingCase, FbuClaimWorkflow

ACTIVE = ("in_force", "plan_breached", "stable_housing")
# An input sanity bound, not a rule of the fund: a plan has at most 120 instalments (monthly, 10 years), so a last
# due date further out is a typing error, and one near 9999-12-31 cannot even be followed (its grace period
# overflows the date type).
PLAN_HORIZON_YEARS = 15


@workflow.defn(name="FbuCase")
class FbuCaseWorkflow(ClaimingCase):
    @workflow.init
    def __init__(self, inp: FbuCaseInput) -> None:
        self._inp = inp
        self._writer = StreamWriter(inp.case_id, inp.case_id, "fbu", inp.ocmw_id)
        self._state = FbuCaseState(
            case_id=inp.case_id,
            ocmw_id=inp.ocmw_id,
            status="draft",
            opened_on=today(),
            rental_market=inp.rental_market,
            municipality_nis=inp.municipality_nis,
            monthly_rent=inp.monthly_rent,
            arrears_amount=inp.arrears_amount,
            arrears_since=inp.arrears_since,
        )
        self._rules: FbuRuleSet | None = None  # opening set for the process values, then the submission set
        self._repayments: list[Repayment] = []
        self._ever_in_force: AgreementVersion | None = None
        self._initial_claimed = False
        self._opened = False
        self._wake = False
        self._lock = asyncio.Lock()

    # ---- main loop -------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: FbuCaseInput) -> FbuCaseState:
        async with self._lock:
            await self._open()
        while self._state.status != "closed":
            wake_on = self._next_wake()
            wait = until(wake_on) if wake_on is not None else None
            if wait is None or wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._wake, timeout=wait)
            self._wake = False
            async with self._lock:
                await self._on_time()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _open(self) -> None:
        s = self._state
        reasons: list[str] = []
        try:
            self._rules = await self._rule_set_on(s.opened_on)
            eligibility = check_eligibility(
                self._rules, market=s.rental_market, arrears_amount=s.arrears_amount,
                arrears_since=s.arrears_since, monthly_rent=s.monthly_rent,
            )
            reasons = list(eligibility.reasons)
            eligible = eligibility.eligible
        except ActivityError as exc:
            eligible, reasons = False, [_cause(exc)]
        s.eligibility_reasons = reasons
        await self._emit(CaseOpened(
            rental_market=s.rental_market, municipality_nis=s.municipality_nis, monthly_rent=s.monthly_rent,
            arrears_amount=s.arrears_amount, arrears_since=s.arrears_since, opened_on=s.opened_on,
            rule_set_id=self._rules.id if self._rules else None, eligible=eligible, eligibility_reasons=reasons,
        ))
        self._opened = True
        if not eligible:
            await self._close("ineligible", {"reasons": reasons})

    def _next_wake(self) -> date | None:
        s, rules = self._state, self._rules
        candidates: list[date] = []
        if s.status == "awaiting_signatures" and s.agreement is not None:
            candidates.append(s.agreement.signature_deadline + timedelta(days=1))
        if s.status == "in_force" and s.agreement is not None and rules is not None:
            nxt = fbu_plan.next_check(s.agreement.plan, today(), rules.breach_grace_days)
            if nxt is not None:
                candidates.append(nxt)
        return min(candidates, default=None)

    async def _on_time(self) -> None:
        """Apply whatever the passing of time (or a step that just happened) has decided."""
        s, rules, on = self._state, self._rules, today()
        if s.status == "closed" or rules is None:
            return
        if s.status == "awaiting_signatures" and s.agreement is not None and on > s.agreement.signature_deadline:
            await self._lapse_agreement("signature_deadline_passed", {"deadline": s.agreement.signature_deadline})
            return
        if s.status == "in_force" and s.agreement is not None:
            breach = fbu_plan.first_breach(s.agreement.plan, self._repayments, on, rules.breach_grace_days)
            if breach is not None:
                s.status = "plan_breached"
                s.breached_on = on
                await self._emit(PlanBreached(agreement_version=s.agreement.version, instalment_due_on=breach,
                                              grace_days=rules.breach_grace_days, detected_on=on))
                return
            prog = fbu_plan.progress(s.agreement.plan, self._repayments, on, rules.breach_grace_days)
            kept = prog.consecutive_kept >= rules.stable_housing_kept_months
            if s.stable_housing_proposed_on is None and (kept or prog.completed):
                s.stable_housing_proposed_on = on
                await self._emit(StableHousingProposed(
                    because="plan_completed" if prog.completed else "plan_kept",
                    consecutive_kept=prog.consecutive_kept, proposed_on=on))
        if s.status == "stable_housing" and any(
            p.kind == "tranche_2" and p.status == "paid" for p in s.payouts
        ):
            await self._close("completed", {})

    @workflow.update(name="opened")
    async def opened(self) -> StepResult:
        """Answers once ``CaseOpened`` is in the log, so the API's 201 means the case can take its next step."""
        await workflow.wait_condition(lambda: self._opened)
        return StepResult(status=self._state.status, message="Case opened.")

    # ---- agreement -------------------------------------------------------------------------------------

    @workflow.update(name="draft_agreement")
    async def draft_agreement(self, cmd: DraftAgreement) -> StepResult:
        async with self._lock:
            s, rules, on = self._state, self._rules, today()
            assert rules is not None
            previous = s.agreement
            version = previous.version + 1 if previous else 1
            if previous is not None and previous.in_force_on is not None:
                s.previous_agreements.append(previous)
            s.agreement = AgreementVersion(
                version=version,
                landlord_payment=cmd.landlord_payment,
                plan=cmd.plan,
                plan_total=cmd.plan_total,
                drafted_on=on,
                signature_deadline=on + timedelta(days=rules.signature_deadline_days),
            )
            s.status = "awaiting_signatures"
            s.breached_on = None
            drafted = AgreementDrafted if version == 1 else AgreementAmended
            await self._emit(drafted(
                version=version, landlord_payment=cmd.landlord_payment,
                plan=[Instalment(due_on=i.due_on, amount=i.amount) for i in cmd.plan], plan_total=cmd.plan_total,
                drafted_on=on, signature_deadline=s.agreement.signature_deadline))
            self._wake = True
            return StepResult(status=s.status, message=f"Agreement version {version} is ready for three signatures.")

    @draft_agreement.validator
    def _validate_draft(self, cmd: DraftAgreement) -> None:
        s = self._require_open()
        if s.status in ("draft", "awaiting_signatures"):
            pass
        elif s.status in ("in_force", "plan_breached"):
            if self._rules is None or not self._rules.agreement_amendable:
                raise out_of_order(
                    f"Under rule set {s.rule_set_id} a signed agreement cannot be amended (modulable agreements "
                    "exist from rule set fbu-2022)."
                )
        else:
            raise out_of_order(f"The agreement cannot be changed while the case is '{s.status}'.")
        if cmd.landlord_payment + cmd.plan_total != s.arrears_amount:
            raise invalid(
                f"The landlord payment ({cmd.landlord_payment}) plus the repayment plan ({cmd.plan_total}) must "
                f"equal the arrears ({s.arrears_amount})."
            )
        last_due, horizon = cmd.plan[-1].due_on, add_months(today(), 12 * PLAN_HORIZON_YEARS)
        if last_due > horizon:
            raise invalid(f"The last instalment is due {last_due}; a repayment plan must end within "
                          f"{PLAN_HORIZON_YEARS} years, by {horizon}.")

    @workflow.update(name="sign")
    async def sign(self, cmd: SignAgreement) -> StepResult:
        async with self._lock:
            s = self._state
            assert s.agreement is not None
            signed_on = cmd.signed_on or today()
            s.agreement.signatures.append(Signature(party=cmd.party, signed_on=signed_on, evidence=cmd.evidence))
            signed = AgreementSigned(version=s.agreement.version, party=cmd.party, signed_on=signed_on,
                                     evidence=cmd.evidence)
            missing = self._missing_signatures()
            if missing:
                await self._emit(signed)
                return StepResult(status=s.status, message=f"Signed by {cmd.party}; waiting for {', '.join(missing)}.")
            await self._enter_into_force(signed)
            return StepResult(status=self._state.status, message="All three parties signed: the agreement is in force.")

    @sign.validator
    def _validate_sign(self, cmd: SignAgreement) -> None:
        s = self._require_awaiting_signatures()
        assert s.agreement is not None
        if cmd.party not in self._missing_signatures():
            raise out_of_order(f"The {cmd.party} already signed version {s.agreement.version} of the agreement.")
        on = today()
        if cmd.signed_on is not None and cmd.signed_on > on:
            raise invalid(f"The signature date {cmd.signed_on} lies in the future.")
        if cmd.signed_on is not None and cmd.signed_on < s.agreement.drafted_on:
            raise invalid(
                f"The signature date {cmd.signed_on} is before this version was drafted ({s.agreement.drafted_on})."
            )

    @workflow.update(name="refuse")
    async def refuse(self, cmd: RefuseSignature) -> StepResult:
        async with self._lock:
            s, on = self._state, today()
            assert s.agreement is not None
            s.refusal = Refusal(party=cmd.party, reason=cmd.reason, refused_on=on)
            await self._emit(SignatureRefused(version=s.agreement.version, party=cmd.party, reason=cmd.reason,
                                              refused_on=on))
            await self._lapse_agreement("signature_refused", {"party": cmd.party})
            return StepResult(status=s.status, message=f"The {cmd.party} refused to sign.")

    @refuse.validator
    def _validate_refuse(self, cmd: RefuseSignature) -> None:
        self._require_awaiting_signatures()
        if cmd.party not in self._missing_signatures():
            raise out_of_order(f"The {cmd.party} already signed this version; a signature cannot be refused after.")

    async def _lapse_agreement(self, reason: ClosingReason, data: dict[str, Any]) -> None:
        """A version that will not be signed: the case ends, or an amendment falls back to the signed version."""
        s = self._state
        assert s.agreement is not None
        if self._ever_in_force is None:
            await self._close(reason, data)
            return
        lapsed = s.agreement.version
        s.agreement = self._ever_in_force
        if s.previous_agreements and s.previous_agreements[-1].version == s.agreement.version:
            s.previous_agreements.pop()
        s.status = "in_force"
        await self._emit(AgreementAmendmentLapsed(lapsed_version=lapsed, reason=reason,
                                                  version_in_force=s.agreement.version))

    def _missing_signatures(self) -> list[str]:
        agreement = self._state.agreement
        signed = {sig.party for sig in agreement.signatures} if agreement else set()
        return [p for p in PARTIES if p not in signed]

    async def _enter_into_force(self, last_signature: AgreementSigned) -> None:
        """The last signature and the agreement's entry into force are one step: appended together."""
        s = self._state
        assert s.agreement is not None and self._rules is not None
        s.agreement.in_force_on = max(sig.signed_on for sig in s.agreement.signatures)
        self._ever_in_force = s.agreement
        s.status = "in_force"
        await self._emit(last_signature, AgreementInForce(version=s.agreement.version,
                                                          in_force_on=s.agreement.in_force_on))
        if not self._initial_claimed:
            await self._submit_initial_claim()
        self._wake = True

    async def _submit_initial_claim(self) -> None:
        s, on = self._state, today()
        assert s.agreement is not None
        try:
            rules = await self._rule_set_on(on)
        except ActivityError as exc:
            await self._close("ineligible", {"reasons": [_cause(exc)]})
            return
        eligibility = check_eligibility(
            rules, market=s.rental_market, arrears_amount=s.arrears_amount,
            arrears_since=s.arrears_since, monthly_rent=s.monthly_rent,
        )
        if not eligibility.eligible:
            s.eligibility_reasons = list(eligibility.reasons)
            await self._close("ineligible", {"rule_set_id": rules.id, "reasons": list(eligibility.reasons)})
            return
        self._rules = rules
        s.rule_set_id = rules.id
        self._initial_claimed = True
        amounts = compute_payouts(rules, s.arrears_amount)
        landlord_due = await lookup(add_working_days, WorkingDaysQuery(
            start=s.agreement.in_force_on or on, days=rules.landlord_payment_working_days))
        self._landlord_payment_due = landlord_due
        await self._start_claim("initial", [
            ClaimPayout(kind="forfait", amount=amounts.forfait),
            ClaimPayout(kind="tranche_1", amount=amounts.tranche_1),
        ])

    async def _start_claim(self, kind: ClaimKind, payouts: list[ClaimPayout]) -> None:
        s = self._state
        assert s.agreement is not None and s.rule_set_id is not None
        claim_id = f"clm-{workflow.uuid4()}"
        for p in payouts:
            s.payouts.append(Payout(kind=p.kind, amount=p.amount, status="claimed", claim_id=claim_id,
                                    rule_set_id=s.rule_set_id))
        if v2():  # in the log before the step answers, so the case page shows the claim at once
            await self._emit(PayoutsClaimed(
                claim_id=claim_id, claim_kind=kind, payouts=[PayoutLine(kind=p.kind, amount=p.amount) for p in payouts],
                rule_set_id=s.rule_set_id, agreement_in_force_on=s.agreement.in_force_on, claimed_on=today()))
        await workflow.start_child_workflow(
            FbuClaimWorkflow.run,
            FbuClaimInput(
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
            ),
            id=claim_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )

    @workflow.signal(name="claim_status")
    def claim_status(self, change: ClaimStatusChanged) -> None:
        for payout in self._state.payouts:
            if payout.claim_id == change.claim_id:
                payout.status = change.status
                payout.payment_id = change.payment_id
        self._wake = True

    # ---- plan follow-up and endings --------------------------------------------------------------------

    @workflow.update(name="record_repayment")
    async def record_repayment(self, cmd: RecordRepayment) -> StepResult:
        async with self._lock:
            self._repayments.append(Repayment(amount=cmd.amount, paid_on=cmd.paid_on))
            total = sum((r.amount for r in self._repayments), Decimal("0.00"))
            await self._emit(RepaymentRecorded(amount=cmd.amount, paid_on=cmd.paid_on, repaid_total=total))
            self._wake = True
            return StepResult(status=self._state.status, message=f"Repayment recorded; {total} repaid in total.")

    @record_repayment.validator
    def _validate_repayment(self, cmd: RecordRepayment) -> None:
        s = self._require_open()
        if self._ever_in_force is None:
            raise out_of_order("Repayments are followed once the agreement is in force.")
        if cmd.paid_on > today():
            raise invalid(f"The payment date {cmd.paid_on} lies in the future.")
        if cmd.paid_on < s.arrears_since:
            raise invalid(f"The payment date {cmd.paid_on} is before the arrears arose ({s.arrears_since}).")
        assert s.agreement is not None
        repaid = sum((r.amount for r in self._repayments), Decimal("0.00"))
        if repaid + cmd.amount > s.agreement.plan_total:
            raise invalid(
                f"This repayment of {cmd.amount} is more than what remains of the plan "
                f"({s.agreement.plan_total - repaid})."
            )

    @workflow.update(name="declare_stable_housing")
    async def declare_stable_housing(self, cmd: DeclareStableHousing) -> StepResult:
        async with self._lock:
            s = self._state
            s.stable_housing_reason = cmd.reason
            after_breach = s.status == "plan_breached"
            await self._emit(StableHousingDeclared(reason=cmd.reason, declared_on=today(), tranche_2=not after_breach))
            if after_breach:
                await self._close("stable_housing_after_breach", {})
                return StepResult(status=s.status, message="Stable housing recorded after a breach: no tranche 2.")
            s.status = "stable_housing"
            rules = self._rules
            assert rules is not None
            amounts = compute_payouts(rules, s.arrears_amount)
            await self._start_claim("tranche_2", [ClaimPayout(kind="tranche_2", amount=amounts.tranche_2)])
            return StepResult(status=s.status, message="Stable housing declared; tranche 2 claimed.")

    @declare_stable_housing.validator
    def _validate_stable(self, cmd: DeclareStableHousing) -> None:
        s = self._require_open()
        if s.status not in ("in_force", "plan_breached") or not self._initial_claimed:
            raise out_of_order(
                f"Stable housing can be declared once the agreement is in force and claimed; the case is '{s.status}'."
            )

    @workflow.update(name="close")
    async def close(self, cmd: CloseCase) -> StepResult:
        async with self._lock:
            await self._close(cmd.reason, {"note": cmd.note} if cmd.note else {})
            return StepResult(status="closed", message=f"Case closed: {cmd.reason}.")

    @close.validator
    def _validate_close(self, cmd: CloseCase) -> None:
        s = self._require_open()
        if cmd.reason == "plan_breached" and s.status != "plan_breached":
            raise out_of_order("The case can only be closed for a breached plan after a breach was detected.")

    async def _close(self, reason: ClosingReason, data: dict[str, Any]) -> None:
        s = self._state
        s.status = "closed"
        s.closing_reason = reason
        await self._emit(CaseClosed(reason=reason, closed_on=today(), **data))

    # ---- queries and helpers ---------------------------------------------------------------------------

    @workflow.query(name="state")
    def state(self) -> FbuCaseState:
        s = self._state.model_copy(deep=True)
        rules = self._rules
        if s.agreement is not None and rules is not None and self._ever_in_force is not None:
            s.plan_progress = fbu_plan.progress(s.agreement.plan, self._repayments, today(), rules.breach_grace_days)
        s.deadlines = self._deadlines()
        return s

    def _deadlines(self) -> list[Deadline]:
        return fbu_plan.deadlines(self._state, getattr(self, "_landlord_payment_due", None), today())

    def _require_open(self) -> FbuCaseState:
        s = self._state
        if not self._opened:
            raise out_of_order("The case is still being opened; try again in a moment.")
        if s.status == "closed":
            raise out_of_order(f"The case is closed ({s.closing_reason}).")
        return s

    def _require_awaiting_signatures(self) -> FbuCaseState:
        s = self._require_open()
        if s.status != "awaiting_signatures" or s.agreement is None:
            raise out_of_order(f"There is no agreement waiting for signatures; the case is '{s.status}'.")
        return s

    async def _rule_set_on(self, on: date) -> FbuRuleSet:
        return await lookup(fbu_rule_set_on, RuleSetQuery(on=on))

    async def _emit(self, *bodies: EventData) -> None:
        await emit(self._writer, *bodies)


def _cause(exc: ActivityError) -> str:
    cause = exc.cause
    return cause.message if isinstance(cause, ApplicationError) else str(exc)
