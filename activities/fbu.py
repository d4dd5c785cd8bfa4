"""FBU activities: the rule set in force, working-day deadlines, and the payment to the OCMW over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import date
from pathlib import Path

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import implements
from schemas.activities import (
    ClaimTerms,
    ClaimTermsQuery,
    PaymentReceipt,
    PaymentRequest,
    RuleSetQuery,
    WorkingDaysQuery,
)
from schemas.common import NoRuleSetError
from schemas.fbu_rules import FbuRuleSet, select_rule_set
from vangnet.rulebooks.rulebook import load_fbu_rule_book
from vangnet.rulebooks.working_days import add_working_days
from workflows import contracts

# How often a slow call says it is still alive; the workflow's heartbeat timeout for pay_claim is 10 s, so a
# worker that dies mid-payment is noticed within those 10 s (the SDK sends at most one heartbeat per 8 s).
HEARTBEAT_EVERY_SECONDS = 2.0


@asynccontextmanager
async def heartbeating(every: float = HEARTBEAT_EVERY_SECONDS) -> AsyncIterator[None]:
    """Heartbeat in the background while the body runs (an HTTP call in flight): the attempt stays alive as long as
    this process does, and a crash is retried after the heartbeat timeout instead of the start-to-close timeout."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


class FbuActivities:
    def __init__(self, http: httpx.AsyncClient, payment_system_url: str, rules_file: Path | None = None) -> None:
        self._http = http
        self._payments_url = payment_system_url.rstrip("/") + "/payments"
        self._rules_file = rules_file

    @implements(contracts.fbu_rule_set_on)
    async def fbu_rule_set_on(self, query: RuleSetQuery) -> FbuRuleSet:
        """The rule set in force on a date, read from the operator's rule file at the moment it is needed."""
        try:
            return select_rule_set(load_fbu_rule_book(self._rules_file), query.on)
        except NoRuleSetError as exc:
            raise ApplicationError(str(exc), type="NoRuleSet", non_retryable=True) from exc

    @implements(contracts.add_working_days)
    async def add_working_days(self, query: WorkingDaysQuery) -> date:
        return add_working_days(query.start, query.days)

    @implements(contracts.fbu_claim_terms)
    async def fbu_claim_terms(self, query: ClaimTermsQuery) -> ClaimTerms:
        """One local activity instead of two in the step that claims (docs/performance.md)."""
        rules = await self.fbu_rule_set_on(RuleSetQuery(on=query.on))
        due = add_working_days(query.counted_from, rules.landlord_payment_working_days)
        return ClaimTerms(rules=rules, landlord_payment_due=due)

    @implements(contracts.pay_claim)
    async def pay_claim(self, request: PaymentRequest) -> PaymentReceipt:
        """Book the payment with the payment system; the idempotency key makes every retry the same payment, so a
        retry after a crash (noticed by the missing heartbeat) books nothing twice."""
        body = {
            "idempotency_key": request.idempotency_key,
            "amount": str(request.amount),
            "currency": "EUR",
            "beneficiary": request.beneficiary,
            "reference": request.reference,
        }
        try:
            async with heartbeating():
                response = await self._http.post(self._payments_url, json=body, timeout=20)
        except httpx.HTTPError as exc:
            raise ApplicationError(
                f"payment system unreachable: {type(exc).__name__}", type="PaymentUnavailable"
            ) from exc
        if response.status_code in (200, 201):
            data = response.json()
            activity.logger.info("payment booked: %s (replayed: %s)", data["payment_id"], data.get("replayed"))
            return PaymentReceipt(payment_id=data["payment_id"], replayed=bool(data.get("replayed")))
        if response.status_code in (400, 409, 422):
            raise ApplicationError(
                f"payment refused by the payment system ({response.status_code})",
                type="PaymentRefused",
                non_retryable=True,
            )
        raise ApplicationError(f"payment system answered {response.status_code}", type="PaymentUnavailable")
