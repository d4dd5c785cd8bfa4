"""Which energy rule applies: each effect by the day of its fact (domain.md §2), and the repaid share of the old
restore rule. Pure functions: rule selection, the gas prepayment term per invoice, the deadlines, the case document
and the checks of the OCMW's request to restore minimal supply."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError

from schemas.energy import EnergyCaseState, GasInvoice, MinimalSupplyRestoreRequest
from schemas.energy_events import (
    DebtUpdated,
    DefaultNoticeSent,
    InvoiceIssued,
    MinimalSupplyActivated,
    MinimalSupplyRestored,
    MinimalSupplySwitchedOff,
    SocialSupplierTookOver,
)
from schemas.energy_rules import (
    EnergyRuleBook,
    NoEnergyRuleSetError,
    energy_rule_set_by_id,
    repaid_share,
    select_energy_rule_set,
)
from schemas.events import EventData, StoredEvent, StreamWriter
from tests.energy_helpers import shifted_energy_book
from vangnet.rulebooks.rulebook import load_energy_rule_book
from vangnet.storage.energy_document import EnergyCaseDocument, fold
from workflows.energy_deadlines import due_dates, prepayment_term
from workflows.energy_minimal_supply import RESTORE_IS_AUTOMATIC, check_restore_request

D = Decimal
OLD, NEW = "energy-pre-2022-07", "energy-2022-07"


@pytest.fixture(scope="module")
def book() -> EnergyRuleBook:
    return load_energy_rule_book()


def state(**changes: object) -> EnergyCaseState:
    base = EnergyCaseState(case_id="c", ocmw_id="ocmw-44021", ean="e", energy="electricity", supplier="Engie",
                           netbeheerder="fluvius", municipality_nis="44021", phase="social_supplier",
                           rule_set_id=OLD, notice_of_default_on=date(2022, 6, 15),
                           notice_period_ends_on=date(2022, 8, 14))
    return base.model_copy(update=changes)


# ---- selection per fact ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fact", "on", "expected"), [
    ("a notice of default", date(2022, 6, 30), OLD),
    ("a takeover", date(2022, 7, 1), NEW),
    ("an invoice due", date(2022, 6, 30), OLD),
    ("an invoice due", date(2022, 7, 1), NEW),
    ("a debt report", date(2026, 11, 30), NEW),
])
def test_the_rule_set_of_the_day_of_each_fact(book: EnergyRuleBook, fact: str, on: date, expected: str) -> None:
    chosen = select_energy_rule_set(book, on, fact)
    assert chosen.id == expected
    assert chosen.restores_automatically is (expected == NEW)


def test_a_day_no_set_covers_names_its_fact(book: EnergyRuleBook) -> None:
    with pytest.raises(NoEnergyRuleSetError, match="a debt report on 2001-01-01"):
        select_energy_rule_set(book, date(2001, 1, 1), "a debt report")
    with pytest.raises(NoEnergyRuleSetError, match="a notice of default on 2001-01-01"):
        select_energy_rule_set(book, date(2001, 1, 1))
    assert energy_rule_set_by_id(book, OLD).notice_period_days == 60
    with pytest.raises(NoEnergyRuleSetError, match="no rule set 'energy-1999'"):
        energy_rule_set_by_id(book, "energy-1999")


def test_gas_prepayment_term_follows_the_invoice_not_the_notice(book: EnergyRuleBook) -> None:
    recorded = GasInvoice(invoice_id="new", due_on=date(2026, 12, 1), rule_set_id=NEW, prepayment_after_unpaid_days=20)
    earlier = GasInvoice(invoice_id="old", due_on=date(2026, 12, 1))  # recorded before the term followed the due date
    s = state(energy="gas", invoices=[recorded, earlier])
    assert prepayment_term(s, book, recorded) == 20
    assert prepayment_term(s, book, earlier) == 60  # the notice's (2022-06-15) rule set
    deadlines = [d.due_on for d in due_dates(s, book, date(2026, 11, 30)) if d.kind == "prepayment_activation"]
    assert deadlines == [date(2026, 12, 22), date(2027, 1, 31)]  # the day after 20 resp. 60 days unpaid


def test_shifted_book_moves_the_change_and_the_euro_credit(book: EnergyRuleBook) -> None:
    shifted = EnergyRuleBook.model_validate(shifted_energy_book(date(2027, 5, 1)))
    assert select_energy_rule_set(shifted, date(2027, 4, 30)).id == OLD
    assert select_energy_rule_set(shifted, date(2027, 5, 1)).id == NEW
    assert shifted.emergency_credit_periods[0].valid_from == date(2027, 5, 1)


# ---- the repaid share ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("at_switch_off", "now", "share"), [
    (D("400.00"), D("200.00"), D("0.5000")),
    (D("400.00"), D("200.01"), D("0.4999")),  # rounded down: never more than is repaid
    (D("300.00"), D("100.00"), D("0.6666")),
    (D("400.00"), D("450.00"), D("0")),  # the debt grew
    (D("400.00"), D("0.00"), D("1")),
])
def test_repaid_share(at_switch_off: Decimal, now: Decimal, share: Decimal) -> None:
    assert repaid_share(at_switch_off, now) == share


def test_repaid_share_needs_a_base() -> None:
    with pytest.raises(ValueError, match="positive"):
        repaid_share(D("0.00"), D("0.00"))
    with pytest.raises(ValueError, match="negative"):
        repaid_share(D("10.00"), D("-1.00"))


# ---- the OCMW's request to restore minimal supply -----------------------------------------------------------


def off(**changes: object) -> EnergyCaseState:
    return state(minimal_supply="off", total_debt=D("190.00"), debt_reported_on=date(2022, 6, 28),
                 debt_rule_set_id=OLD, debt_at_switch_off=D("400.00")).model_copy(update=changes)


def refusal(s: EnergyCaseState, book: EnergyRuleBook) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        check_restore_request(s, book, MinimalSupplyRestoreRequest())
    return refused.value


def test_request_accepted_once_half_the_debt_at_switch_off_is_repaid(book: EnergyRuleBook) -> None:
    check_restore_request(off(), book, MinimalSupplyRestoreRequest())  # 52.5% repaid
    check_restore_request(off(total_debt=D("200.00")), book, MinimalSupplyRestoreRequest())  # exactly 50%
    short = refusal(off(total_debt=D("200.01")), book)
    assert short.type == "InvalidInput" and "49.99%" in short.message and "50%" in short.message


def test_request_under_the_automatic_rule_is_refused_with_its_own_type(book: EnergyRuleBook) -> None:
    refused = refusal(off(debt_reported_on=date(2022, 7, 1), debt_rule_set_id=NEW), book)
    assert refused.type == RESTORE_IS_AUTOMATIC
    assert "automatisch" in refused.message and "automatically" in refused.message
    assert "150.00" in refused.message and NEW in refused.message


def test_request_out_of_order_or_without_facts(book: EnergyRuleBook) -> None:
    assert refusal(off(minimal_supply="normal"), book).type == "StepOutOfOrder"
    assert refusal(off(phase="notice_period"), book).type == "StepOutOfOrder"
    assert refusal(off(disconnected_on=date(2022, 6, 1)), book).type == "StepOutOfOrder"
    assert refusal(off(total_debt=None, debt_reported_on=None), book).type == "InvalidInput"
    assert refusal(off(debt_at_switch_off=None), book).type == "InvalidInput"
    # a run that never recorded the debt report's rule set: the notice's applies
    check_restore_request(off(debt_rule_set_id=None), book, MinimalSupplyRestoreRequest())


# ---- the case document shows the rule sets applied ----------------------------------------------------------


def fold_all(*bodies: EventData) -> EnergyCaseDocument:
    writer = StreamWriter("c", "c", "energy", "ocmw-44021")
    doc = None
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    for n, body in enumerate(bodies):
        event = writer.event(body, at + timedelta(minutes=n))
        doc = fold(doc, StoredEvent(**event.model_dump(), position=n + 1, recorded_at=event.occurred_at), body)
    assert doc is not None
    return doc


def test_document_folds_the_rule_sets_and_the_debt_at_switch_off() -> None:
    doc = fold_all(
        DefaultNoticeSent(energy="electricity", supplier="Engie", netbeheerder="fluvius", municipality_nis="44021",
                          notice_of_default_on=date(2022, 6, 15), registered_letter_required=True, rule_set_id=OLD),
        SocialSupplierTookOver(on=date(2026, 11, 30), inferred=False, rule_set_id=NEW),
        InvoiceIssued(invoice_id="I-1", due_on=date(2026, 12, 14), amount=D("10.00"), rule_set_id=NEW,
                      prepayment_after_unpaid_days=20),
        MinimalSupplyActivated(on=date(2026, 11, 30), reason=None),
        MinimalSupplySwitchedOff(on=date(2026, 11, 30)),
        DebtUpdated(total_debt=D("412.60"), on=date(2026, 11, 30), rule_set_id=NEW),
        DebtUpdated(total_debt=D("149.99"), on=date(2026, 12, 2), rule_set_id=NEW),
    )
    assert doc.rule_set_id == OLD
    assert (doc.invoices[0].rule_set_id, doc.invoices[0].prepayment_after_unpaid_days) == (NEW, 20)
    assert doc.debt_at_switch_off == D("412.60")  # no report before the switch-off: the first after it
    assert (doc.total_debt, doc.debt_reported_on, doc.debt_rule_set_id) == (D("149.99"), date(2026, 12, 2), NEW)
    restored = fold_all(
        DefaultNoticeSent(energy="electricity", supplier="Engie", netbeheerder="fluvius", municipality_nis="44021",
                          notice_of_default_on=date(2022, 6, 15), registered_letter_required=True, rule_set_id=OLD),
        DebtUpdated(total_debt=D("300.00"), on=date(2022, 6, 20), rule_set_id=OLD),
        MinimalSupplySwitchedOff(on=date(2022, 6, 21)),
        DebtUpdated(total_debt=D("120.00"), on=date(2022, 6, 25), rule_set_id=OLD),
        MinimalSupplyRestored(total_debt=D("120.00"), on=date(2022, 6, 26), rule_set_id=OLD, on_request=True,
                              debt_at_switch_off=D("300.00"), repaid_share=D("0.6000")),
    )
    assert restored.debt_at_switch_off == D("300.00") and restored.minimal_supply == "normal"
