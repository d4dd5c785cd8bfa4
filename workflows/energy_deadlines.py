"""The dates an energy case waits for: contract end, prepayment activation, a deferred disconnection, the LAC
hearing, the next heating top-up and the reimbursement claim.

Pure functions of the case state, the rule book and a day, shared by the workflow (its timers) and the read side
(the deadlines the API shows), so both always agree.
"""

from __future__ import annotations

from datetime import date, timedelta

from schemas.common import Deadline
from schemas.energy import EnergyCaseState, GasInvoice
from schemas.energy_rules import EnergyRuleBook, select_energy_rule_set


def prepayment_term(state: EnergyCaseState, book: EnergyRuleBook, invoice: GasInvoice) -> int:
    """Days an invoice may stay unpaid after its due date before gas prepayment: the term of the rule set in force
    on its due date, recorded with the invoice; invoices recorded before the term followed the due date keep the
    notice's rule set's term."""
    if invoice.prepayment_after_unpaid_days is not None:
        return invoice.prepayment_after_unpaid_days
    return select_energy_rule_set(book, state.notice_of_default_on).gas_prepayment_after_unpaid_days


def next_topup_day(book: EnergyRuleBook, after: date) -> date:
    """The first top-up day of the month (e.g. the 1st or the 16th) after ``after``."""
    days = sorted(book.winter_support.topup_days_of_month)
    d = after + timedelta(days=1)
    while d.day not in days:
        d += timedelta(days=1)
    return d


def due_dates(state: EnergyCaseState, book: EnergyRuleBook, on: date) -> list[Deadline]:
    """Every date the case waits for, seen on day ``on``, earliest first."""
    s, out = state, []
    if s.phase == "closed":
        return []
    if s.phase == "notice_period":
        out.append(Deadline(kind="contract_ends", due_on=s.notice_period_ends_on + timedelta(days=1)))
    if not s.prepayment_active and s.prepayment_requested_on is None:
        for inv in s.invoices:
            if not inv.paid:
                days = prepayment_term(s, book, inv)
                out.append(Deadline(kind="prepayment_activation", due_on=inv.due_on + timedelta(days=days + 1)))
    if s.disconnection is not None and s.disconnection.deferred_until and s.disconnection.scheduled_on is None:
        out.append(Deadline(kind="deferred_disconnection", due_on=s.disconnection.deferred_until))
    if s.lac is not None and s.lac.advice is None:
        out.append(Deadline(kind="lac_hearing", due_on=s.lac.hearing_on))
    ws = s.winter_support
    if ws is not None and ws.status == "approved" and ws.ends_on is not None:
        out.append(Deadline(kind="next_topup", due_on=next_topup_day(book, on)))
        out.append(Deadline(kind="reimbursement_claim", due_on=ws.ends_on + timedelta(days=1)))
    return sorted(out, key=lambda d: d.due_on)
