"""The agreement in force: repayments, breach of the plan, stable housing and tranche 2, and what time decides.

Time-driven steps (signature deadline, late instalments, the stable-housing proposal) are evaluated when the next
relevant Brussels midnight arrives, or right after a step (``_wake``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.calendar import add_months
    from schemas.common import StepResult
    from schemas.fbu import DeclareStableHousing, RecordRepayment, Repayment
    from schemas.fbu_events import PlanBreached, RepaymentRecorded, StableHousingDeclared, StableHousingProposed

from workflows import fbu_plan, fbu_status
from workflows.common import invalid, out_of_order, today
from workflows.fbu_agreement import AgreementSteps

# Runs started before this code proposed stable housing after 6 kept instalments; from it, after 6 calendar months
# of a kept plan (domain.md §1), and the case wakes on the day the months are full.
STABLE_CALENDAR_MONTHS = "fbu-stable-housing-calendar-months"


class FollowUp(AgreementSteps):
    # ---- the days the case wakes on by itself ---------------------------------------------------------

    def _signature_deadline_passes(self) -> date | None:
        agreement = self._case.agreement
        return agreement.signature_deadline + timedelta(days=1) if agreement is not None else None

    def _next_plan_check(self) -> date | None:
        """A plan in force is looked at when a due date or a grace period passes; a breached one waits for the OCMW."""
        s, rules = self._case, self._data.rules
        if s.status != "in_force" or s.agreement is None or rules is None:
            return None
        on = today()
        check = fbu_plan.next_check(s.agreement.plan, on, rules.breach_grace_days)
        since = self._plan_kept_since(on)
        due = add_months(since, rules.stable_housing_kept_months) if since is not None else None
        if s.stable_housing_proposed_on is None and due is not None and due > on:
            check = due if check is None else min(check, due)
        return check

    def _plan_kept_since(self, on: date) -> date | None:
        """Since when the plan in force has been kept (None: an instalment is still late, or a run started before
        the calendar-month count). The count starts when the version in force came into force."""
        s, rules = self._case, self._data.rules
        if s.agreement is None or s.agreement.in_force_on is None or rules is None:
            return None
        if not workflow.patched(STABLE_CALENDAR_MONTHS):
            return None
        return fbu_plan.kept_since(s.agreement.plan, self._data.repayments, s.agreement.in_force_on, on,
                                   rules.stable_housing_kept_months)

    async def _on_time(self) -> None:
        """Apply whatever the passing of time (or a step that just happened) has decided."""
        s, rules, on = self._case, self._data.rules, today()
        if s.status == "closed" or rules is None:
            return
        if s.status == "awaiting_signatures" and s.agreement is not None and on > s.agreement.signature_deadline:
            await self._lapse_agreement("signature_deadline", "signature_deadline_passed",
                                        {"deadline": s.agreement.signature_deadline})
            return
        if s.status == "in_force" and s.agreement is not None:
            breach = fbu_plan.first_breach(s.agreement.plan, self._data.repayments, on, rules.breach_grace_days)
            if breach is not None:
                self._move("plan_check", "plan_breached")
                s.breached_on = on
                await self._emit(PlanBreached(agreement_version=s.agreement.version, instalment_due_on=breach,
                                              grace_days=rules.breach_grace_days, detected_on=on))
                return
            prog = fbu_plan.progress(s.agreement.plan, self._data.repayments, on, rules.breach_grace_days)
            months = rules.stable_housing_kept_months
            if workflow.patched(STABLE_CALENDAR_MONTHS):
                since = self._plan_kept_since(on)
                kept = since is not None and on >= add_months(since, months)
            else:  # the instalment count of the code these runs started on
                since, kept = None, prog.consecutive_kept >= months
            if s.stable_housing_proposed_on is None and (kept or prog.completed):
                s.stable_housing_proposed_on = on
                await self._emit(StableHousingProposed(
                    because="plan_completed" if prog.completed else "plan_kept",
                    consecutive_kept=prog.consecutive_kept, proposed_on=on, kept_since=since,
                    kept_months=months if since is not None else None))
        if s.status == "stable_housing" and any(p.kind == "tranche_2" and p.status == "paid" for p in s.payouts):
            await self._close("tranche_2_paid", "completed", {})

    # ---- the OCMW's steps -----------------------------------------------------------------------------

    def _check_repayment(self, cmd: RecordRepayment) -> None:
        s = self._require_open()
        if self._data.ever_in_force is None or not fbu_status.allows(s.status, "record_repayment"):
            raise out_of_order("Repayments are followed once the agreement is in force.")
        if cmd.paid_on > today():
            raise invalid(f"The payment date {cmd.paid_on} lies in the future.")
        if cmd.paid_on < s.arrears_since:
            raise invalid(f"The payment date {cmd.paid_on} is before the arrears arose ({s.arrears_since}).")
        assert s.agreement is not None
        repaid = sum((r.amount for r in self._data.repayments), Decimal("0.00"))
        if repaid + cmd.amount > s.agreement.plan_total:
            raise invalid(
                f"This repayment of {cmd.amount} is more than what remains of the plan "
                f"({s.agreement.plan_total - repaid})."
            )

    async def _record_repayment(self, cmd: RecordRepayment) -> StepResult:
        self._data.repayments.append(Repayment(amount=cmd.amount, paid_on=cmd.paid_on))
        total = sum((r.amount for r in self._data.repayments), Decimal("0.00"))
        await self._emit(RepaymentRecorded(amount=cmd.amount, paid_on=cmd.paid_on, repaid_total=total))
        self._wake = True
        return StepResult(status=self._case.status, message=f"Repayment recorded; {total} repaid in total.")

    def _check_stable_housing(self, cmd: DeclareStableHousing) -> None:
        s = self._require_open()
        if not fbu_status.allows(s.status, "declare_stable_housing") or not self._data.initial_claimed:
            raise out_of_order(
                f"Stable housing can be declared once the agreement is in force and claimed; the case is '{s.status}'."
            )

    async def _declare_stable_housing(self, cmd: DeclareStableHousing) -> StepResult:
        s = self._case
        s.stable_housing_reason = cmd.reason
        after_breach = s.status == "plan_breached"
        await self._emit(StableHousingDeclared(reason=cmd.reason, declared_on=today(), tranche_2=not after_breach))
        if after_breach:
            await self._close("declare_stable_housing", "stable_housing_after_breach", {})
            return StepResult(status=s.status, message="Stable housing recorded after a breach: no tranche 2.")
        self._move("declare_stable_housing", "stable_housing")
        await self._claim_tranche_2()
        return StepResult(status=s.status, message="Stable housing declared; tranche 2 claimed.")
