"""The activities the workflows call, declared once: name, input and result.

Workflows sit below the activities in the layer order (docs/architecture.md), so they call these declarations,
never the implementations: ``workflow.execute_activity(pay_claim, request, …)`` is typed end to end and spells
each name in one place. The worker registers the implementations in ``activities/`` under the same names;
``tests/workflows/test_contracts.py`` checks that every implementation matches its declaration.
"""

from __future__ import annotations

from datetime import date

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from schemas.activities import (
        ClaimTerms,
        ClaimTermsQuery,
        PaymentReceipt,
        PaymentRequest,
        ReconcileReport,
        ReconcileRequest,
        RecoverCallbacksReport,
        RecoverCallbacksRequest,
        RuleSetQuery,
        WorkingDaysQuery,
    )
    from schemas.energy_rules import EnergyRuleBook
    from schemas.events import AppendEvents
    from schemas.fbu_rules import FbuRuleSet
    from schemas.netbeheerder import NetbeheerderRequest
    from schemas.retention import EraseExpired, ExpiredSubject, FindExpired


@activity.defn(name="append_events")
async def append_events(request: AppendEvents) -> int:
    """Append a step's events to the log (idempotent event ids); the number newly written."""
    raise NotImplementedError("declaration: activities.events.EventActivities implements it")


@activity.defn(name="fbu_rule_set_on")
async def fbu_rule_set_on(query: RuleSetQuery) -> FbuRuleSet:
    """The FBU rule set in force on a date, from the operator's rule book."""
    raise NotImplementedError("declaration: activities.fbu.FbuActivities implements it")


@activity.defn(name="add_working_days")
async def add_working_days(query: WorkingDaysQuery) -> date:
    """A date some Belgian working days after another."""
    raise NotImplementedError("declaration: activities.fbu.FbuActivities implements it")


@activity.defn(name="fbu_claim_terms")
async def fbu_claim_terms(query: ClaimTermsQuery) -> ClaimTerms:
    """``fbu_rule_set_on`` and ``add_working_days`` for a claim's submission, in one call."""
    raise NotImplementedError("declaration: activities.fbu.FbuActivities implements it")


@activity.defn(name="pay_claim")
async def pay_claim(request: PaymentRequest) -> PaymentReceipt:
    """Book a payment with the payment system; the idempotency key makes every retry the same payment."""
    raise NotImplementedError("declaration: activities.fbu.FbuActivities implements it")


@activity.defn(name="load_energy_rule_book")
async def load_energy_rule_book() -> EnergyRuleBook:
    """The operator's whole energy rule book (a case picks the rule for each fact's day from it)."""
    raise NotImplementedError("declaration: activities.energy.EnergyActivities implements it")


@activity.defn(name="netbeheerder_request")
async def netbeheerder_request(request: NetbeheerderRequest) -> None:
    """Ask the netbeheerder to act; the idempotency key makes retries one request."""
    raise NotImplementedError("declaration: activities.energy.EnergyActivities implements it")


@activity.defn(name="find_expired_personal_data")
async def find_expired_personal_data(request: FindExpired) -> list[ExpiredSubject]:
    """A page of data subjects whose retention period is over."""
    raise NotImplementedError("declaration: activities.retention.RetentionActivities implements it")


@activity.defn(name="erase_expired_personal_data")
async def erase_expired_personal_data(request: EraseExpired) -> int:
    """Erase those subjects (checked again); the number erased."""
    raise NotImplementedError("declaration: activities.retention.RetentionActivities implements it")


@activity.defn(name="reconcile_orphans")
async def reconcile_orphans(request: ReconcileRequest) -> ReconcileReport:
    """End the case workflows that run without their case, recording each in its stream."""
    raise NotImplementedError("declaration: activities.reconcile.ReconcileActivities implements it")


@activity.defn(name="recover_overdue_callbacks")
async def recover_overdue_callbacks(request: RecoverCallbacksRequest) -> RecoverCallbacksReport:
    """Ask the netbeheerder for the outcome of requests whose callback is overdue and take it in once."""
    raise NotImplementedError("declaration: activities.reconcile.ReconcileActivities implements it")
