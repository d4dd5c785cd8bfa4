"""The agreement: drafting a version (or amending a signed one), three signatures, a refusal or a lapsed version.

The last signature and the entry into force are one step; the first entry into force submits the initial claim.
A version that will not be signed ends the case, or, for an amendment, leaves the version signed before in force.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.calendar import add_months
    from schemas.common import StepResult
    from schemas.fbu import (
        AgreementVersion,
        ClosingReason,
        DraftAgreement,
        Refusal,
        RefuseSignature,
        SignAgreement,
        Signature,
    )
    from schemas.fbu_events import (
        AgreementAmended,
        AgreementAmendmentLapsed,
        AgreementDrafted,
        AgreementInForce,
        AgreementSigned,
        Instalment,
        SignatureRefused,
    )

from workflows import fbu_status
from workflows.common import invalid, out_of_order, today
from workflows.fbu_payouts import PayoutSteps

# Runs on this code append the last signature, the entry into force and the initial claim in one append (one local
# activity, one turn of the log's append lock) instead of two.
ONE_APPEND_INTO_FORCE = "fbu-one-append-into-force"

# An input sanity bound, not a rule of the fund: a plan has at most 120 instalments (monthly, 10 years), so a last
# due date further out is a typing error, and one near 9999-12-31 cannot even be followed (its grace period
# overflows the date type).
PLAN_HORIZON_YEARS = 15


class AgreementSteps(PayoutSteps):
    def _check_draft(self, cmd: DraftAgreement) -> None:
        s = self._require_open()
        if not fbu_status.allows(s.status, "draft_agreement"):
            raise out_of_order(f"The agreement cannot be changed while the case is '{s.status}'.")
        rules = self._data.rules
        if s.status in ("in_force", "plan_breached") and (rules is None or not rules.agreement_amendable):
            raise out_of_order(
                f"Under rule set {s.rule_set_id} a signed agreement cannot be amended (modulable agreements "
                "exist from rule set fbu-2022)."
            )
        if cmd.landlord_payment + cmd.plan_total != s.arrears_amount:
            raise invalid(
                f"The landlord payment ({cmd.landlord_payment}) plus the repayment plan ({cmd.plan_total}) must "
                f"equal the arrears ({s.arrears_amount})."
            )
        last_due, horizon = cmd.plan[-1].due_on, add_months(today(), 12 * PLAN_HORIZON_YEARS)
        if last_due > horizon:
            raise invalid(f"The last instalment is due {last_due}; a repayment plan must end within "
                          f"{PLAN_HORIZON_YEARS} years, by {horizon}.")

    async def _draft(self, cmd: DraftAgreement) -> StepResult:
        s, rules, on = self._case, self._data.rules, today()
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
        self._move("draft_agreement", "awaiting_signatures")
        s.breached_on = None
        drafted = AgreementDrafted if version == 1 else AgreementAmended
        await self._emit(drafted(
            version=version, landlord_payment=cmd.landlord_payment,
            plan=[Instalment(due_on=i.due_on, amount=i.amount) for i in cmd.plan], plan_total=cmd.plan_total,
            drafted_on=on, signature_deadline=s.agreement.signature_deadline))
        self._wake = True
        return StepResult(status=s.status, message=f"Agreement version {version} is ready for three signatures.")

    def _check_sign(self, cmd: SignAgreement) -> None:
        s = self._require_awaiting_signatures("sign")
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

    async def _sign(self, cmd: SignAgreement) -> StepResult:
        s = self._case
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
        if s.status == "closed":  # re-judged under the submission day's rule set: the fund refuses the claim
            return StepResult(status=s.status, message="All three parties signed, but the claim is refused: "
                              + " ".join(s.eligibility_reasons))
        return StepResult(status=s.status, message="All three parties signed: the agreement is in force.")

    async def _enter_into_force(self, last_signature: AgreementSigned) -> None:
        """The last signature and the agreement's entry into force are one step: appended together."""
        s = self._case
        assert s.agreement is not None and self._data.rules is not None
        s.agreement.in_force_on = max(sig.signed_on for sig in s.agreement.signatures)
        self._data.ever_in_force = s.agreement
        self._move("sign", "in_force")
        together = self._one_append() if workflow.patched(ONE_APPEND_INTO_FORCE) else contextlib.nullcontext()
        async with together:
            await self._emit(last_signature, AgreementInForce(version=s.agreement.version,
                                                              in_force_on=s.agreement.in_force_on))
            if not self._data.initial_claimed:
                await self._submit_initial_claim()
        self._wake = True

    def _check_refuse(self, cmd: RefuseSignature) -> None:
        self._require_awaiting_signatures("refuse")
        if cmd.party not in self._missing_signatures():
            raise out_of_order(f"The {cmd.party} already signed this version; a signature cannot be refused after.")

    async def _refuse(self, cmd: RefuseSignature) -> StepResult:
        s, on = self._case, today()
        assert s.agreement is not None
        s.refusal = Refusal(party=cmd.party, reason=cmd.reason, refused_on=on)
        await self._emit(SignatureRefused(version=s.agreement.version, party=cmd.party, reason=cmd.reason,
                                          refused_on=on))
        await self._lapse_agreement("refuse", "signature_refused", {"party": cmd.party})
        return StepResult(status=s.status, message=f"The {cmd.party} refused to sign.")

    async def _lapse_agreement(self, step: str, reason: ClosingReason, data: dict[str, Any]) -> None:
        """A version that will not be signed: the case ends, or an amendment falls back to the signed version."""
        s = self._case
        assert s.agreement is not None
        if self._data.ever_in_force is None:
            await self._close(step, reason, data)
            return
        lapsed = s.agreement.version
        s.agreement = self._data.ever_in_force
        if s.previous_agreements and s.previous_agreements[-1].version == s.agreement.version:
            s.previous_agreements.pop()
        self._move(step, "in_force")
        await self._emit(AgreementAmendmentLapsed(lapsed_version=lapsed, reason=reason,
                                                  version_in_force=s.agreement.version))
