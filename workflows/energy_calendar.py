"""What the calendar moves in an energy case, in the order of the procedure: the end of the notice period, an
unpaid invoice that calls for prepayment, the end of the winter ban for a deferred LAC advice, and the heating
support's top-up days and reimbursement claim. The dates themselves come from ``energy_deadlines``.
"""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.common import Deadline
    from schemas.energy_events import DisconnectionDeferralMoved
    from schemas.energy_rules import winter_ban_ends, winter_ban_in_force

from workflows import energy_deadlines
from workflows.common import read_book, today
from workflows.contracts import load_energy_rule_book
from workflows.energy_procedure import EnergyCase

# A deferred disconnection reads the operator's rule book again when its day comes, and waits on if the winter ban
# was extended meanwhile (an extension is often published late in the winter). Runs that deferred before this rule
# carry out the disconnection on the old end as they did (the patch marker), so their histories replay.
WINTER_BAN_REREAD = "winter-ban-reread"


def due_dates(case: EnergyCase) -> list[Deadline]:
    if case.book is None:
        return []
    return energy_deadlines.due_dates(case.s, case.book, today())


def next_deadline(case: EnergyCase) -> date | None:
    """The next day the case has something to do by itself (the LAC hearing waits for the OCMW)."""
    actionable = [d.due_on for d in due_dates(case) if d.kind != "lac_hearing"]
    return min(actionable, default=None)


async def on_time(case: EnergyCase) -> None:
    """Take every step that is due today, phase by phase."""
    on = today()
    if case.s.phase == "closed":
        return
    await _notice_period(case, on)
    await _prepayment_for_unpaid_invoice(case, on)
    await _disconnection_after_winter_ban(case, on)
    await _heating_support(case, on)


async def _notice_period(case: EnergyCase, on: date) -> None:
    s = case.s
    if s.phase == "notice_period" and on > s.notice_period_ends_on:
        await case.contract_ended(s.notice_period_ends_on, "notice_period_expired")


async def _prepayment_for_unpaid_invoice(case: EnergyCase, on: date) -> None:
    """Each unpaid invoice has its own term: the rule set's of its due date (recorded with the invoice)."""
    s = case.s
    if s.phase == "social_supplier" and not s.prepayment_active and s.prepayment_requested_on is None:
        overdue = [(i, energy_deadlines.prepayment_term(s, case.b, i)) for i in s.invoices if not i.paid]
        overdue = [(i, days) for i, days in overdue if on > i.due_on + timedelta(days=days)]
        if overdue:
            invoice, days = overdue[0]
            await case.request_prepayment("invoice_unpaid", invoice_id=invoice.invoice_id, due_on=invoice.due_on,
                                          days=days, rule_set_id=invoice.rule_set_id or s.rule_set_id)


async def _disconnection_after_winter_ban(case: EnergyCase, on: date) -> None:
    """On the day the ban was to end, the book is read again: a ban extended since moves the deferral (recorded
    with the extension's rule and source) and the case waits on; otherwise the disconnection is carried out. The
    case keeps the fresh book, so its deadlines and later rules follow the operator's current data."""
    d = case.s.disconnection
    if d is None or d.deferred_until is None or d.scheduled_on is not None or on < d.deferred_until:
        return
    if workflow.patched(WINTER_BAN_REREAD):
        case.book = await read_book(load_energy_rule_book)
        ban = winter_ban_in_force(case.book, on)
        if ban is not None:
            previous, d.deferred_until = d.deferred_until, winter_ban_ends(case.book, on)
            await case.emit(DisconnectionDeferralMoved(kind=d.kind, previous_until=previous, until=d.deferred_until,
                                                       window_id=ban.id, source=ban.source))
            return
    await case.schedule_disconnection(on)


async def _heating_support(case: EnergyCase, on: date) -> None:
    ws = case.s.winter_support
    if ws is not None and ws.status == "approved" and ws.ends_on is not None:
        if on > ws.ends_on:
            await case.claim_reimbursement()
        elif on.day in case.b.winter_support.topup_days_of_month and on not in ws.topups:
            await case.load_topup(on)
