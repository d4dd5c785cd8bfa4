"""A years-long energy case stays small: on the real dev server (which suggests continue-as-new after 50 events
here) the case continues as new, carries its state, and applies every callback exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.client import WorkflowExecutionStatus

from tests.conftest import eventually, make_stack
from tests.energy_helpers import EnergyDriver, callback

pytestmark = pytest.mark.integration


async def test_continue_as_new_carries_state_and_counts_each_callback_once(dev_env, pool, settings) -> None:
    async with make_stack(dev_env, pool, settings) as stack:
        d = EnergyDriver(stack)
        case_id, code = await d.open("gas")
        first_run = (await dev_env.client.get_workflow_handle(case_id).describe()).run_id
        debts = [Decimal("900.00") - Decimal(n) for n in range(40)]
        for n, debt in enumerate(debts):
            body = callback(code, "debt_updated", data={"total_debt": str(debt)}, event_id=f"debt-{code}-{n}")
            assert (await d.post_callback(body)).status_code == 202
            if n % 10 == 0:  # a duplicate now and then: still counted once
                assert (await d.post_callback(body)).status_code == 200
        await d.wait_for(case_id, "DebtUpdated", count=len(debts))

        async def latest() -> str | None:
            description = await dev_env.client.get_workflow_handle(case_id).describe()
            return description.run_id if description.run_id != first_run else None

        new_run = await eventually(latest, within=30)
        assert new_run != first_run
        case = await d.case(case_id)
        assert case["total_debt"] == str(debts[-1])
        assert case["phase"] == "notice_period" and case["rule_set_id"] == "energy-2022-07"
        types = await d.types(case_id)
        assert types.count("DebtUpdated") == len(debts)
        assert types.count("DefaultNoticeSent") == 1 and types.count("NoticePeriodStarted") == 1
        # The first run ended by continuing as new, not by failing.
        old = await dev_env.client.get_workflow_handle(case_id, run_id=first_run).describe()
        assert old.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        # The case still takes steps after the hand-over.
        step = await d.step(case_id, "close", {"reason": "moved"})
        assert step["status"] == "closed"
