"""The netbeheerder's callbacks applied to an energy case.

Callbacks may come late, twice or out of order: each is applied once (event ids), a callback that implies an
earlier step records that step first, and data the case cannot use is recorded as ``CallbackRejected`` instead of
failing the workflow. The engine's date is the business date (a callback may be delivered late).

A callback that arrives after a later one was applied (patch ``late-callbacks-in-occurrence-order``): a debt report
that happened before the one applied is recorded (``DebtReportSuperseded``) but the newer debt stands; a payment of
an invoice not issued yet is held and applied when the invoice arrives. Runs recorded before keep arrival order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.energy import GasInvoice
    from schemas.energy_events import (
        CallbackRejected,
        DebtReportSuperseded,
        DebtUpdated,
        Disconnected,
        InvoiceIssued,
        InvoicePaid,
        InvoiceUnpaid,
        MinimalSupplyActivated,
        MinimalSupplySwitchedOff,
        TopUpLoaded,
    )
    from schemas.netbeheerder import Callback

from workflows.common import today
from workflows.energy_procedure import EnergyCase, per_effect

# A callback arriving after a later one was applied is handled as of when it happened (see the module's doc).
LATE_CALLBACKS_IN_OCCURRENCE_ORDER = "late-callbacks-in-occurrence-order"


def first_seen(case: EnergyCase, cb: Callback) -> bool:
    """Whether ``cb`` is new to the case; it is remembered as seen from now on."""
    if cb.event_id in case.seen:
        return False
    case.seen.append(cb.event_id)
    return True


async def apply_callback(case: EnergyCase, cb: Callback) -> None:
    """Apply a callback seen for the first time."""
    try:
        handler = HANDLERS.get(cb.type)
        if handler is not None:
            await handler(case, cb, today())
    except (ValueError, ArithmeticError, KeyError) as exc:  # data the signature vouches for but we cannot use
        workflow.logger.warning("callback rejected: %s", type(exc).__name__)
        await case.emit(CallbackRejected(event_id=cb.event_id, callback_type=cb.type, problem=type(exc).__name__))


async def _takeover_confirmed(case: EnergyCase, cb: Callback, on: date) -> None:
    if case.s.took_over_on is None:
        await case.took_over(on, inferred=False)


async def _prepayment_activated(case: EnergyCase, cb: Callback, on: date) -> None:
    if not case.s.prepayment_active:
        await case.prepayment_activated(on)


async def _invoice_issued(case: EnergyCase, cb: Callback, on: date) -> None:
    """An invoice of the social supplier; its gas prepayment term is the rule set's of its due date."""
    s, data = case.s, cb.data
    issued = InvoiceIssued(invoice_id=str(data.get("invoice_id")), due_on=date.fromisoformat(
        str(data["due_on"])), amount=Decimal(str(data["amount"])) if data.get("amount") else None)
    if s.phase in ("notice_period", "awaiting_takeover"):
        await case.took_over(on, inferred=True)
    if all(i.invoice_id != issued.invoice_id for i in s.invoices):
        if per_effect():
            rules = case.rules_for(issued.due_on)
            issued = issued.model_copy(update={"rule_set_id": rules.id,
                                               "prepayment_after_unpaid_days": rules.gas_prepayment_after_unpaid_days})
        invoice = GasInvoice(invoice_id=issued.invoice_id, due_on=issued.due_on, amount=issued.amount,
                             rule_set_id=issued.rule_set_id,
                             prepayment_after_unpaid_days=issued.prepayment_after_unpaid_days)
        s.invoices.append(invoice)
        await case.emit(issued)
        paid_on = case.early_payments.pop(issued.invoice_id, None)  # held only under the patch
        if paid_on is not None:
            invoice.paid = True
            await case.emit(InvoicePaid(invoice_id=invoice.invoice_id, on=paid_on))


async def _invoice_paid(case: EnergyCase, cb: Callback, on: date) -> None:
    invoice_id = str(cb.data.get("invoice_id"))
    for inv in case.s.invoices:
        if inv.invoice_id == invoice_id and not inv.paid:
            inv.paid = True
            await case.emit(InvoicePaid(invoice_id=inv.invoice_id, on=on))
    if all(inv.invoice_id != invoice_id for inv in case.s.invoices) and workflow.patched(
            LATE_CALLBACKS_IN_OCCURRENCE_ORDER):
        case.early_payments[invoice_id] = on  # paid before it was issued: applied when the invoice arrives


async def _invoice_unpaid(case: EnergyCase, cb: Callback, on: date) -> None:
    invoice_id = cb.data.get("invoice_id")
    await case.emit(InvoiceUnpaid(invoice_id=None if invoice_id is None else str(invoice_id), on=on))


async def _debt_updated(case: EnergyCase, cb: Callback, on: date) -> None:
    s = case.s
    newer = case.debt_happened_at
    if newer is not None and cb.occurred_at < newer and workflow.patched(LATE_CALLBACKS_IN_OCCURRENCE_ORDER):
        await case.emit(DebtReportSuperseded(total_debt=Decimal(str(cb.data["total_debt"])), on=on,
                                             happened_at=cb.occurred_at, newer_report_happened_at=newer))
        return
    debt = DebtUpdated(total_debt=Decimal(str(cb.data["total_debt"])), on=on, rule_set_id=case.rules_for(on).id)
    case.debt_happened_at = cb.occurred_at
    s.total_debt, s.debt_reported_on, s.debt_rule_set_id = debt.total_debt, on, debt.rule_set_id
    if s.minimal_supply == "off" and s.debt_at_switch_off is None:
        s.debt_at_switch_off = debt.total_debt  # no report before the switch-off: the first after it is the base
    await case.emit(debt)
    await case.maybe_restore_minimal_supply()
    if s.total_debt == 0 and s.phase != "closed":
        await case.close("debt_paid", "debt_paid", {})


async def _topup_loaded(case: EnergyCase, cb: Callback, on: date) -> None:
    ws = case.s.winter_support
    loaded = TopUpLoaded(amount=Decimal(str(cb.data.get("amount", "0"))), on=on, winter_support=ws is not None)
    if ws is not None:
        ws.loaded_total += loaded.amount
    await case.emit(loaded)


async def _minimal_supply_switched(case: EnergyCase, cb: Callback, on: date) -> None:
    s = case.s
    switched_on = bool(cb.data.get("on"))
    if switched_on and cb.request_key is None and s.minimal_supply != "minimal":
        s.minimal_supply = "minimal"
        reason = cb.data.get("reason")
        await case.emit(MinimalSupplyActivated(on=on, reason=None if reason is None else str(reason)))
    elif not switched_on and s.minimal_supply != "off":
        s.minimal_supply, s.debt_at_switch_off = "off", s.total_debt
        await case.emit(MinimalSupplySwitchedOff(on=on))


async def _disconnection_done(case: EnergyCase, cb: Callback, on: date) -> None:
    case.s.disconnected_on = on
    await case.emit(Disconnected(on=on))


async def _customer_left(case: EnergyCase, cb: Callback, on: date) -> None:
    await case.close("customer_left", "back_to_commercial_supplier", {"reported_by": "netbeheerder"})


async def _nothing(case: EnergyCase, cb: Callback, on: date) -> None:
    """``emergency_credit_granted``: recorded when requested; the confirmation changes nothing."""


HANDLERS: dict[str, Callable[[EnergyCase, Callback, date], Awaitable[None]]] = {
    "takeover_confirmed": _takeover_confirmed,
    "prepayment_activated": _prepayment_activated,
    "invoice_issued": _invoice_issued,
    "invoice_paid": _invoice_paid,
    "invoice_unpaid": _invoice_unpaid,
    "debt_updated": _debt_updated,
    "topup_loaded": _topup_loaded,
    "minimal_supply_switched": _minimal_supply_switched,
    "disconnection_done": _disconnection_done,
    "customer_left": _customer_left,
    "emergency_credit_granted": _nothing,
}
