"""The energy-arrears procedure's domain events (domain.md §2), on the case's stream.

Events that applied a rule carry the id of the rule set they applied: each effect applies the rule set in force on
the day of the fact that triggers it (the notice of default, the takeover, an invoice's due date, the day credit is
granted, the day debt is reported). The ``rule_set_id`` fields added for that are optional, so events written
before (and by runs that started before the rule applied per effect) still read; amounts are exact decimals, dates
Brussels calendar dates.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from schemas.events import EventData

Energy = Literal["electricity", "gas"]


class DefaultNoticeSent(EventData):
    TYPE = "DefaultNoticeSent"
    energy: Energy
    supplier: str
    netbeheerder: str
    municipality_nis: str
    notice_of_default_on: date
    registered_letter_required: bool
    rule_set_id: str


class NoticePeriodStarted(EventData):
    TYPE = "NoticePeriodStarted"
    days: int
    ends_on: date
    rule_set_id: str


class ContractEnded(EventData):
    TYPE = "ContractEnded"
    on: date
    because: str


class SocialSupplierTookOver(EventData):
    """``rule_set_id`` (electricity): the rule set of the takeover date, which says whether prepayment starts now."""

    TYPE = "SocialSupplierTookOver"
    on: date
    inferred: bool
    rule_set_id: str | None = None


class PrepaymentActivationRequested(EventData):
    """Version 2 records the day of the request; version 1 left it to the envelope's time (see the upcaster)."""

    TYPE = "PrepaymentActivationRequested"
    VERSION = 2
    reason: str
    requested_on: date
    invoice_id: str | None = None
    due_on: date | None = None
    days: int | None = None
    note: str | None = None
    rule_set_id: str | None = None  # the rule applied: of the takeover date, or of the unpaid invoice's due date


class PrepaymentActivated(EventData):
    TYPE = "PrepaymentActivated"
    on: date


class EmergencyCreditGranted(EventData):
    """Version 2 records how the yearly index was applied. ``index_set`` false: the period is indexed but the
    operator had not set the year's factor, so the unindexed base was granted ("index not set"); ``None`` with
    ``indexed`` false: a fixed amount; all three ``None``: recorded by version 1, which did not say."""

    TYPE = "EmergencyCreditGranted"
    VERSION = 2
    amount: Decimal
    unit: str
    on: date
    indexed: bool | None
    index_set: bool | None
    index_factor: Decimal | None
    rule_set_id: str | None = None  # the rule set in force on the day the credit is granted


class InvoiceIssued(EventData):
    """``prepayment_after_unpaid_days``: the gas prepayment term of the rule set in force on the due date
    (``rule_set_id``); None on invoices recorded before the term followed the due date (the notice's term)."""

    TYPE = "InvoiceIssued"
    invoice_id: str
    due_on: date
    amount: Decimal | None
    rule_set_id: str | None = None
    prepayment_after_unpaid_days: int | None = None


class InvoicePaid(EventData):
    TYPE = "InvoicePaid"
    invoice_id: str
    on: date


class InvoiceUnpaid(EventData):
    TYPE = "InvoiceUnpaid"
    invoice_id: str | None
    on: date


class DebtUpdated(EventData):
    """``rule_set_id``: the rule set in force on the day of the report; its restore rule decides whether minimal
    supply switched off on LAC advice comes back (automatically, or on request)."""

    TYPE = "DebtUpdated"
    total_debt: Decimal
    on: date
    rule_set_id: str | None = None


class DebtReportSuperseded(EventData):
    """A debt report that happened before the one applied already, arriving late: recorded, not applied (the newer
    debt stands)."""

    TYPE = "DebtReportSuperseded"
    total_debt: Decimal
    on: date
    happened_at: datetime
    newer_report_happened_at: datetime


class TopUpRequested(EventData):
    """A half-monthly heating top-up asked of the netbeheerder (``TopUpLoaded`` confirms it)."""

    TYPE = "TopUpRequested"
    on: date
    amount: Decimal


class TopUpLoaded(EventData):
    TYPE = "TopUpLoaded"
    amount: Decimal
    on: date
    winter_support: bool


class MinimalSupplyActivated(EventData):
    TYPE = "MinimalSupplyActivated"
    on: date
    reason: str | None


class MinimalSupplySwitchedOff(EventData):
    TYPE = "MinimalSupplySwitchedOff"
    on: date


class MinimalSupplyRestored(EventData):
    """Automatically (``threshold``: the debt fell below it) or on the OCMW's request (``on_request``; the
    ``repaid_share`` of ``debt_at_switch_off`` reached the rule's share) under the rule set ``rule_set_id``."""

    TYPE = "MinimalSupplyRestored"
    total_debt: Decimal
    on: date
    threshold: Decimal | None = None
    rule_set_id: str | None = None
    on_request: bool = False
    debt_at_switch_off: Decimal | None = None
    repaid_share: Decimal | None = None


class Disconnected(EventData):
    TYPE = "Disconnected"
    on: date


class SupplierEventRecorded(EventData):
    TYPE = "SupplierEventRecorded"
    type: str
    on: date


class LacRequested(EventData):
    TYPE = "LacRequested"
    requested_on: date
    hearing_on: date


class LacAdviceGiven(EventData):
    TYPE = "LacAdviceGiven"
    advice: Literal["disconnect", "switch_off_minimal_supply", "refuse"]
    on: date


class DisconnectionDeferred(EventData):
    """``window_id`` names the ban's rule (``winter_ban/2016-2017`` or ``winter_ban@2010-11-19``); older events
    lack it."""

    TYPE = "DisconnectionDeferred"
    kind: Literal["disconnect", "switch_off_minimal_supply"]
    until: date
    reason: str
    window_id: str | None = None
    source: str | None = None


class DisconnectionDeferralMoved(EventData):
    """The ban was extended while the disconnection waited: it now waits until ``until`` (was ``previous_until``)."""

    TYPE = "DisconnectionDeferralMoved"
    kind: Literal["disconnect", "switch_off_minimal_supply"]
    previous_until: date
    until: date
    window_id: str
    source: str


class DisconnectionScheduled(EventData):
    TYPE = "DisconnectionScheduled"
    kind: Literal["disconnect", "switch_off_minimal_supply"]
    on: date


class WinterSupportApplied(EventData):
    """Version 2 names the amount for what it is, the average monthly winter consumption (v1:
    ``average_winter_consumption_eur``, the same amount; see the upcaster)."""

    TYPE = "WinterSupportApplied"
    VERSION = 2
    heating: str
    on: date
    average_monthly_winter_consumption_eur: Decimal


class WinterSupportRejected(EventData):
    TYPE = "WinterSupportRejected"
    on: date
    reason: str | None


class WinterSupportApproved(EventData):
    TYPE = "WinterSupportApproved"
    on: date
    topup_amount: Decimal
    until: date


class CallbackRejected(EventData):
    """A signed callback whose data could not be applied (e.g. an amount that is no number): the case goes on."""

    TYPE = "CallbackRejected"
    event_id: str
    callback_type: str
    problem: str


class ReimbursementClaimed(EventData):
    TYPE = "ReimbursementClaimed"
    winter: str
    loaded_total: Decimal
    rate: Decimal
    amount: Decimal


ENERGY_EVENTS: tuple[type[EventData], ...] = (
    DefaultNoticeSent, NoticePeriodStarted, ContractEnded, SocialSupplierTookOver, PrepaymentActivationRequested,
    PrepaymentActivated, EmergencyCreditGranted, InvoiceIssued, InvoicePaid, InvoiceUnpaid, DebtUpdated,
    DebtReportSuperseded,
    TopUpRequested, TopUpLoaded, MinimalSupplyActivated, MinimalSupplySwitchedOff, MinimalSupplyRestored,
    Disconnected, SupplierEventRecorded, LacRequested, LacAdviceGiven, DisconnectionDeferred, DisconnectionScheduled,
    DisconnectionDeferralMoved,
    WinterSupportApplied, WinterSupportRejected, WinterSupportApproved, ReimbursementClaimed, CallbackRejected,
)
