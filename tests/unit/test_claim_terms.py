"""The claim's terms in one lookup: the same rule set and landlord payment day as the two lookups it replaces."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.fbu import FbuActivities
from schemas.activities import ClaimTermsQuery, RuleSetQuery, WorkingDaysQuery


@pytest.fixture
def fbu() -> FbuActivities:
    return FbuActivities(httpx.AsyncClient(), "http://payments.invalid")


@pytest.mark.parametrize(("on", "counted_from"), [
    (date(2021, 12, 23), date(2021, 12, 20)),  # Christmas and a weekend inside the ten working days
    (date(2022, 9, 1), date(2022, 8, 31)),  # the first day of a new rule set
    (date(2026, 4, 3), date(2026, 4, 3)),  # Easter Monday moves every year
])
async def test_terms_are_the_two_lookups_at_once(fbu: FbuActivities, on: date, counted_from: date) -> None:
    env = ActivityEnvironment()
    terms = await env.run(fbu.fbu_claim_terms, ClaimTermsQuery(on=on, counted_from=counted_from))
    rules = await env.run(fbu.fbu_rule_set_on, RuleSetQuery(on=on))
    due = await env.run(fbu.add_working_days, WorkingDaysQuery(start=counted_from,
                                                                 days=rules.landlord_payment_working_days))
    assert terms.rules == rules and terms.landlord_payment_due == due
    assert terms.landlord_payment_due > counted_from


async def test_a_day_without_rule_set_is_a_business_error(fbu: FbuActivities) -> None:
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(fbu.fbu_claim_terms, ClaimTermsQuery(on=date(2019, 1, 2),
                                                                             counted_from=date(2019, 1, 2)))
    assert raised.value.type == "NoRuleSet" and raised.value.non_retryable
