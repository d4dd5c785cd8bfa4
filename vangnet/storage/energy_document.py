"""The energy case document: phase, invoices, debt, credit, LAC, winter support, folded from the case's events.

Besides the notice's rule set (``rule_set_id``) it shows the rule sets applied per effect that later steps depend
on: each invoice's (its due date's: the gas prepayment term) and the latest debt report's (the restore rule).

``fold`` is a pure function of the events in log order, so a rebuild reproduces the stored document exactly; ``view``
adds the deadlines as seen on the day of reading, with the same function the workflow's timers use. The connection
point (EAN) is not in the log: ``view`` takes it from the case registry.
"""

from __future__ import annotations

from datetime import date

from schemas.energy import Disconnection, EnergyCaseState, GasInvoice, Lac, WinterSupport
from schemas.energy_events import (
    ContractEnded,
    DebtUpdated,
    DefaultNoticeSent,
    Disconnected,
    DisconnectionDeferralMoved,
    DisconnectionDeferred,
    DisconnectionScheduled,
    EmergencyCreditGranted,
    InvoiceIssued,
    InvoicePaid,
    LacAdviceGiven,
    LacRequested,
    MinimalSupplyActivated,
    MinimalSupplyRestored,
    MinimalSupplySwitchedOff,
    NoticePeriodStarted,
    PrepaymentActivated,
    PrepaymentActivationRequested,
    ReimbursementClaimed,
    SocialSupplierTookOver,
    TopUpLoaded,
    TopUpRequested,
    WinterSupportApplied,
    WinterSupportApproved,
    WinterSupportRejected,
)
from schemas.energy_rules import EnergyRuleBook, index_not_set_note
from schemas.events import CaseClosed, EventData, StoredEvent
from workflows import energy_deadlines


class EnergyCaseDocument(EnergyCaseState):
    """The case state as the log tells it (``ean`` is filled in by ``view``)."""

    ean: str = ""


def fold(doc: EnergyCaseDocument | None, event: StoredEvent, body: EventData) -> EnergyCaseDocument | None:
    """The document after one more event of the case (``None`` before ``DefaultNoticeSent``)."""
    if isinstance(body, DefaultNoticeSent):
        return EnergyCaseDocument(
            case_id=event.case_id, ocmw_id=event.ocmw_id, energy=body.energy, supplier=body.supplier,
            netbeheerder=body.netbeheerder, municipality_nis=body.municipality_nis, phase="notice_period",
            rule_set_id=body.rule_set_id, notice_of_default_on=body.notice_of_default_on,
            notice_period_ends_on=body.notice_of_default_on)
    if doc is None:
        return None
    doc = doc.model_copy(deep=True)
    _apply(doc, body)
    return doc


def _apply(doc: EnergyCaseDocument, body: EventData) -> None:
    ws, dis = doc.winter_support, doc.disconnection
    if isinstance(body, NoticePeriodStarted):
        doc.notice_period_ends_on = body.ends_on
    elif isinstance(body, ContractEnded):
        doc.contract_ended_on, doc.phase = body.on, "awaiting_takeover"
    elif isinstance(body, SocialSupplierTookOver):
        doc.took_over_on, doc.phase = body.on, "social_supplier"
    elif isinstance(body, PrepaymentActivationRequested):
        doc.prepayment_requested_on = body.requested_on
    elif isinstance(body, PrepaymentActivated):
        doc.prepayment_requested_on = doc.prepayment_requested_on or body.on
        doc.prepayment_active, doc.phase = True, "prepayment"
        doc.minimal_supply = "normal" if doc.energy == "electricity" else None
    elif isinstance(body, EmergencyCreditGranted):
        doc.emergency_credit, doc.emergency_credit_index_set = body.amount, body.index_set
        doc.emergency_credit_note = index_not_set_note(body.on.year) if body.index_set is False else None
    elif isinstance(body, InvoiceIssued):
        doc.invoices.append(GasInvoice(invoice_id=body.invoice_id, due_on=body.due_on, amount=body.amount,
                                       rule_set_id=body.rule_set_id,
                                       prepayment_after_unpaid_days=body.prepayment_after_unpaid_days))
    elif isinstance(body, InvoicePaid):
        for invoice in doc.invoices:
            if invoice.invoice_id == body.invoice_id:
                invoice.paid = True
    elif isinstance(body, DebtUpdated):
        doc.total_debt, doc.debt_reported_on, doc.debt_rule_set_id = body.total_debt, body.on, body.rule_set_id
        if doc.minimal_supply == "off" and doc.debt_at_switch_off is None:
            doc.debt_at_switch_off = body.total_debt
    elif isinstance(body, MinimalSupplyActivated):
        doc.minimal_supply = "minimal"
    elif isinstance(body, MinimalSupplySwitchedOff):
        doc.minimal_supply, doc.debt_at_switch_off = "off", doc.total_debt
    elif isinstance(body, MinimalSupplyRestored):
        doc.minimal_supply = "normal"
    elif isinstance(body, Disconnected):
        doc.disconnected_on = body.on
    elif isinstance(body, LacRequested):
        doc.lac, doc.disconnection = Lac(requested_on=body.requested_on, hearing_on=body.hearing_on), None
    elif isinstance(body, LacAdviceGiven) and doc.lac is not None:
        doc.lac.advice, doc.lac.advice_on = body.advice, body.on
        if body.advice != "refuse":
            doc.disconnection = Disconnection(kind=body.advice)
    elif isinstance(body, DisconnectionDeferred | DisconnectionDeferralMoved) and dis is not None:
        dis.deferred_until = body.until
    elif isinstance(body, DisconnectionScheduled) and dis is not None:
        dis.scheduled_on = body.on
    elif isinstance(body, WinterSupportApplied):
        doc.winter_support = WinterSupport(
            status="applied", applied_on=body.on, heating=body.heating,
            winter_start_year=body.on.year if body.on.month >= 7 else body.on.year - 1,
            average_monthly_winter_consumption_eur=body.average_monthly_winter_consumption_eur)
    elif isinstance(body, WinterSupportRejected) and ws is not None:
        ws.status = "rejected"
    elif isinstance(body, WinterSupportApproved) and ws is not None:
        ws.status, ws.topup_amount, ws.ends_on = "approved", body.topup_amount, body.until
    elif isinstance(body, TopUpRequested) and ws is not None:
        ws.topups.append(body.on)
    elif isinstance(body, TopUpLoaded) and ws is not None and body.winter_support:
        ws.loaded_total += body.amount
    elif isinstance(body, ReimbursementClaimed) and ws is not None:
        ws.reimbursement_claimed, ws.status = body.amount, "ended"
    elif isinstance(body, CaseClosed):
        doc.phase, doc.closing_reason = "closed", body.reason  # type: ignore[assignment]


def view(doc: EnergyCaseDocument, ean: str, book: EnergyRuleBook, on: date) -> EnergyCaseState:
    """What ``GET /v1/energy/cases/{id}`` answers on day ``on``: the document with its EAN and deadlines."""
    state = EnergyCaseState.model_validate(doc.model_dump() | {"ean": ean})
    state.deadlines = energy_deadlines.due_dates(state, book, on)
    return state
