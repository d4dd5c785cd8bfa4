"""Inputs and outputs of activities (one model each, so fields can be added without breaking histories)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from schemas.fbu_rules import FbuRuleSet


class RuleSetQuery(BaseModel):
    on: date


class WorkingDaysQuery(BaseModel):
    start: date
    days: int


class ClaimTermsQuery(BaseModel):
    """The terms of a claim submitted ``on`` for an agreement in force from ``counted_from``."""

    on: date
    counted_from: date


class ClaimTerms(BaseModel):
    """The rule set in force on the submission day, and the day the OCMW must have paid the landlord by (that
    set's number of working days after ``counted_from``)."""

    rules: FbuRuleSet
    landlord_payment_due: date


class PaymentRequest(BaseModel):
    idempotency_key: str
    amount: Decimal
    beneficiary: str
    reference: str


class PaymentReceipt(BaseModel):
    payment_id: str
    replayed: bool


class ReconcileRequest(BaseModel):
    """End case workflows that have run for longer than ``grace_seconds`` without their case (started within
    the last ``lookback_hours``)."""

    grace_seconds: int = 300
    lookback_hours: int = 48


class ReconcileReport(BaseModel):
    ended: list[str]


class RecoverCallbacksRequest(BaseModel):
    """Look up at the netbeheerder the requests sent between ``lookback_hours`` and ``overdue_seconds`` ago whose
    callback never came, and take in what it reports (``vangnet.services.callback_recovery``)."""

    overdue_seconds: int = 900
    lookback_hours: int = 336


class RecoverCallbacksReport(BaseModel):
    recovered: list[str]  # event ids of the callbacks taken in
    still_missing: int
