"""A long FBU case on the real dev server (which suggests continue-as-new after 50 events here) continues as new
under the production class, records the patch ``fbu-continue-as-new`` and goes on taking steps. With
``VANGNET_RECORD_HISTORIES`` (a directory) the first run's history is kept for tests/workflows/test_replay.py."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowExecutionStatus

from tests.conftest import eventually, make_stack
from tests.fbu_helpers import Driver
from tests.history_checks import appends_in_the_ending_task
from tests.recorded_histories import keep_history

pytestmark = pytest.mark.integration


async def test_a_case_past_the_suggestion_continues_as_new_and_takes_its_next_steps(dev_env, pool, settings) -> None:
    async with make_stack(dev_env, pool, settings) as stack:
        d = Driver(stack)
        case_id, _ = await d.in_force_case()
        handle = dev_env.client.get_workflow_handle(case_id)
        first_run = (await handle.describe()).run_id
        today = str(await d.today())
        paid = 0

        async def latest() -> str | None:
            run_id = (await handle.describe()).run_id
            return run_id if run_id != first_run else None

        while await latest() is None and paid < 30:  # each repayment adds a handful of history events
            await d.step(case_id, "POST", "repayments", {"amount": "10.00", "paid_on": today})
            paid += 1
        await eventually(latest, within=30)
        old = await dev_env.client.get_workflow_handle(case_id, run_id=first_run).describe()
        assert old.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        history = await dev_env.client.get_workflow_handle(case_id, run_id=first_run).fetch_history()
        patches = [json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
                   for e in history.events if e.marker_recorded_event_attributes.marker_name == "core_patch"]
        assert "fbu-continue-as-new" in patches, patches  # recorded on the run that continued
        assert appends_in_the_ending_task(history) == 0  # its last repayment went out in an earlier task

        # The new run carries the plan's progress and takes the next step; one stream across both runs.
        await d.step(case_id, "POST", "repayments", {"amount": "10.00", "paid_on": today})
        case = await d.case(case_id)
        assert case["status"] == "in_force"
        assert case["plan_progress"]["repaid_total"] == f"{10 * (paid + 1)}.00", case["plan_progress"]
        types = await d.event_types(case_id)
        assert types.count("RepaymentRecorded") == paid + 1 and types.count("CaseOpened") == 1
        rows = await pool.fetch("SELECT stream_version FROM domain_events WHERE stream = $1 ORDER BY 1", case_id)
        assert [r["stream_version"] for r in rows] == list(range(1, len(rows) + 1))

        await keep_history(dev_env.client, case_id, f"fbu-case-{case_id.removeprefix('fbu-')[:12]}", first_run)
