"""The FBU case document: everything the case page shows, folded from the case's events and its claims' events.

``fold`` is a pure function of the events in log order (no clock, no rule book), so a rebuild reproduces the stored
document exactly. What depends on the day of reading (plan progress, upcoming deadlines) is added by ``view`` from
the document, the rule book and today's date: the same functions the workflow uses, never a workflow query.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from schemas.events import CaseClosed, EventData, StoredEvent
from schemas.fbu import AgreementVersion, FbuCaseState, Payout, PlanItem, Refusal, Repayment, Signature
from schemas.fbu_events import (
    AgreementAmended,
    AgreementAmendmentLapsed,
    AgreementDrafted,
    AgreementInForce,
    AgreementSigned,
    CaseOpened,
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
    PayoutPaid,
    PayoutsClaimed,
    PlanBreached,
    RepaymentRecorded,
    SignatureRefused,
    StableHousingDeclared,
    StableHousingProposed,
)
from schemas.fbu_rules import FbuRuleBook, FbuRuleSet
from vangnet.rulebooks.working_days import add_working_days
from workflows import fbu_plan


class FbuCaseDocument(FbuCaseState):
    """The case state as the log tells it, plus what the read-time parts need."""

    opening_rule_set_id: str | None = None
    agreement_in_force: AgreementVersion | None = None  # the version last signed by all three
    repayments: list[Repayment] = Field(default_factory=list)
    landlord_payment_counted_from: date | None = None  # working days run from here (initial claim)


def fold(doc: FbuCaseDocument | None, event: StoredEvent, body: EventData) -> FbuCaseDocument | None:
    """The document after one more event of the case (``None`` before ``CaseOpened``)."""
    if isinstance(body, CaseOpened):
        return FbuCaseDocument(
            case_id=event.case_id, ocmw_id=event.ocmw_id, status="draft", opened_on=body.opened_on,
            rental_market=body.rental_market, municipality_nis=body.municipality_nis,
            monthly_rent=body.monthly_rent, arrears_amount=body.arrears_amount, arrears_since=body.arrears_since,
            eligibility_reasons=body.eligibility_reasons, opening_rule_set_id=body.rule_set_id,
            eligibility_rule_set_id=body.rule_set_id,
            # an opening refused for good is final; before the field existed, an ineligible opening was refused
            eligibility_provisional=body.provisional if body.provisional is not None else body.eligible,
        )
    if doc is None:
        return None
    doc = doc.model_copy(deep=True)
    _apply(doc, body)
    return doc


def _apply(doc: FbuCaseDocument, body: EventData) -> None:
    agreement = doc.agreement
    if isinstance(body, AgreementDrafted | AgreementAmended):
        if agreement is not None and agreement.in_force_on is not None:
            doc.previous_agreements.append(agreement)
        doc.agreement = AgreementVersion(
            version=body.version, landlord_payment=body.landlord_payment,
            plan=[PlanItem(due_on=i.due_on, amount=i.amount) for i in body.plan], plan_total=body.plan_total,
            drafted_on=body.drafted_on, signature_deadline=body.signature_deadline)
        doc.status, doc.breached_on = "awaiting_signatures", None
    elif isinstance(body, AgreementSigned) and agreement is not None:
        agreement.signatures.append(Signature(party=body.party, signed_on=body.signed_on, evidence=body.evidence))
    elif isinstance(body, AgreementInForce) and agreement is not None:
        agreement.in_force_on = body.in_force_on
        doc.agreement_in_force = agreement.model_copy(deep=True)
        doc.status = "in_force"
    elif isinstance(body, SignatureRefused):
        doc.refusal = Refusal(party=body.party, reason=body.reason, refused_on=body.refused_on)
    elif isinstance(body, AgreementAmendmentLapsed) and doc.agreement_in_force is not None:
        doc.agreement = doc.agreement_in_force.model_copy(deep=True)
        if doc.previous_agreements and doc.previous_agreements[-1].version == doc.agreement.version:
            doc.previous_agreements.pop()
        doc.status = "in_force"
    elif isinstance(body, PayoutsClaimed | ClaimSubmitted):
        _claimed(doc, body)
    elif isinstance(body, ClaimApproved | ClaimRejected):
        _claim_status(doc, body.claim_id, "approved" if isinstance(body, ClaimApproved) else "rejected", None)
    elif isinstance(body, PayoutPaid):
        _claim_status(doc, body.claim_id, "paid", body.payment_id)
    elif isinstance(body, RepaymentRecorded):
        doc.repayments.append(Repayment(amount=body.amount, paid_on=body.paid_on))
    elif isinstance(body, PlanBreached):
        doc.status, doc.breached_on = "plan_breached", body.detected_on
    elif isinstance(body, StableHousingProposed):
        doc.stable_housing_proposed_on = body.proposed_on
    elif isinstance(body, StableHousingDeclared):
        doc.stable_housing_reason = body.reason
        if body.tranche_2:
            doc.status = "stable_housing"
    elif isinstance(body, CaseClosed):
        doc.status, doc.closing_reason = "closed", body.reason  # type: ignore[assignment]
        if body.reason == "ineligible":  # refused at opening, or under the rule set of the submission day
            doc.eligibility_provisional = False
            doc.eligibility_reasons = body.reasons if body.reasons is not None else doc.eligibility_reasons
            doc.eligibility_rule_set_id = body.rule_set_id or doc.eligibility_rule_set_id


def _claimed(doc: FbuCaseDocument, body: PayoutsClaimed | ClaimSubmitted) -> None:
    """The case claimed payouts (``PayoutsClaimed``, cases started on the current code) or the claim was submitted
    (every case; again after a rejection)."""
    if any(p.claim_id == body.claim_id for p in doc.payouts):
        _claim_status(doc, body.claim_id, "claimed", None)
        return
    doc.payouts.extend(Payout(kind=p.kind, amount=p.amount, status="claimed", claim_id=body.claim_id,
                              rule_set_id=body.rule_set_id) for p in body.payouts)
    if body.claim_kind == "initial":  # judged eligible under the submission day's set
        doc.eligibility_provisional, doc.eligibility_rule_set_id, doc.eligibility_reasons = False, body.rule_set_id, []
        claimed_on = body.claimed_on if isinstance(body, PayoutsClaimed) else body.submitted_on
        doc.rule_set_id = body.rule_set_id
        doc.landlord_payment_counted_from = body.agreement_in_force_on or claimed_on


def _claim_status(doc: FbuCaseDocument, claim_id: str, status: str, payment_id: str | None) -> None:
    for payout in doc.payouts:
        if payout.claim_id == claim_id:
            payout.status = status  # type: ignore[assignment]
            payout.payment_id = payment_id


def _rule_set(book: FbuRuleBook, rule_set_id: str | None) -> FbuRuleSet | None:
    return next((r for r in book.rule_sets if r.id == rule_set_id), None)


def view(doc: FbuCaseDocument, book: FbuRuleBook, on: date) -> FbuCaseState:
    """What ``GET /v1/fbu/cases/{id}`` answers on day ``on``: the document with plan progress and deadlines."""
    state = FbuCaseState.model_validate(doc.model_dump(include=set(FbuCaseState.model_fields)))
    rules = _rule_set(book, doc.rule_set_id or doc.opening_rule_set_id)
    if doc.agreement is not None and rules is not None and doc.agreement_in_force is not None:
        state.plan_progress = fbu_plan.progress(doc.agreement.plan, doc.repayments, on, rules.breach_grace_days)
    landlord_due = None
    submitted = _rule_set(book, doc.rule_set_id)
    if doc.landlord_payment_counted_from is not None and submitted is not None:
        landlord_due = add_working_days(doc.landlord_payment_counted_from, submitted.landlord_payment_working_days)
    state.deadlines = fbu_plan.deadlines(state, landlord_due, on)
    return state
