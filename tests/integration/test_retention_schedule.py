"""The retention job as a Temporal Schedule, on the real dev server (the time-skipping server has no schedules):
the worker keeps one Schedule in line with the settings, and a run it starts erases what is due."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import ScheduleActionExecutionStartWorkflow, ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from schemas.retention import RetentionProgress
from tests.conftest import eventually, make_stack
from tests.fbu_helpers import Driver, ok
from vangnet.platform.settings import Settings
from vangnet.services import retention_schedule
from vangnet.services.schedules import ScheduleConfigError

pytestmark = pytest.mark.integration

RULES = {"rule_sets": [{"id": "retention-same-day", "valid_from": "2018-05-25", "source": "test",
                        "periods": {"fbu": {"days": 0}, "energy": {"days": 0}}}]}


async def test_the_schedule_is_kept_in_line_and_its_run_erases_what_is_due(
        dev_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, tmp_path: Path) -> None:
    rules = tmp_path / "retention.json"
    rules.write_text(json.dumps(RULES))
    settings = settings.model_copy(update={"retention_rules_file": rules, "retention_cron": "0 3 1 1 *"})
    client = dev_env.client
    # The dev server is shared: a `vangnet dev` test in external mode ran a worker that made its Schedule already.
    with contextlib.suppress(RPCError):
        await client.get_schedule_handle(retention_schedule.SCHEDULE_ID).delete()
    async with make_stack(dev_env, pool, settings) as stack:
        d = Driver(stack)
        case_id = await d.open()
        await d.step(case_id, "POST", "close", {"reason": "withdrawn"})
        try:
            assert (await retention_schedule.ensure(client, settings, stack.task_queue)).action == "created"
            assert (await retention_schedule.ensure(client, settings, stack.task_queue)).action == "unchanged"
            handle = client.get_schedule_handle(retention_schedule.SCHEDULE_ID)
            described = await handle.describe()
            action = described.schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow) and action.task_queue == stack.task_queue
            assert described.schedule.spec.time_zone_name == "Europe/Brussels"
            assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
            assert described.info.next_action_times[0].month == 1  # "0 3 1 1 *": next 1 January

            # An operator paused it; a worker restarted with another cron updates it and keeps the pause.
            await handle.pause(note="paused by the operator")
            moved = settings.model_copy(update={"retention_cron": "30 2 * * *"})
            assert (await retention_schedule.ensure(client, moved, stack.task_queue)).action == "updated"
            described = await handle.describe()
            assert described.schedule.state.paused and "cron=30 2 * * *" in (described.schedule.state.note or "")
            await handle.unpause()

            # A run started by the Schedule (triggered now instead of waiting for 02:30) erases the closed case.
            await handle.trigger()

            async def erased() -> dict[str, Any] | None:
                parties = await ok(await d.api.get(f"/v1/fbu/cases/{case_id}/parties", headers=d.ocmw))
                # each party's data is erased on its own (one data subject at a time): wait for both
                names = (parties["tenant"]["name"], parties["landlord"]["name"])
                return parties if names == ("erased", "erased") else None

            await eventually(erased, within=60)
            recent = (await handle.describe()).info.recent_actions
            assert len(recent) == 1
            started = recent[0].action
            assert isinstance(started, ScheduleActionExecutionStartWorkflow)
            run = client.get_workflow_handle(started.workflow_id, result_type=RetentionProgress)
            assert run.id.startswith(retention_schedule.WORKFLOW_ID)
            result = await run.result()
            assert (result.erased, result.rule_sets) == (2, ["retention-same-day"])
            count = await pool.fetchval("SELECT count(*) FROM domain_events WHERE case_id = $1 "
                                        "AND type = 'PersonalDataErased'", case_id)
            assert count == 2
        finally:
            await client.get_schedule_handle(retention_schedule.SCHEDULE_ID).delete()


async def test_a_cron_the_server_refuses_is_one_clear_error(dev_env: WorkflowEnvironment, settings: Settings
                                                             ) -> None:
    bad = settings.model_copy(update={"retention_cron": "every night please"})
    with pytest.raises(ScheduleConfigError, match="VANGNET_RETENTION_CRON='every night please'"):
        await retention_schedule.ensure(dev_env.client, bad, "vangnet-test")


async def test_a_long_sweep_continues_as_new_and_counts_the_whole_run(
        dev_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, tmp_path: Path) -> None:
    """This dev server suggests continue-as-new after 50 events: a sweep of one subject per batch hands over to
    new runs, carries its counts, and erases every subject once."""
    from temporalio.client import WorkflowExecutionStatus

    from schemas.retention import RetentionSweepInput
    from tests.energy_helpers import EnergyDriver

    rules = tmp_path / "retention.json"
    rules.write_text(json.dumps(RULES))
    async with make_stack(dev_env, pool, settings.model_copy(update={"retention_rules_file": rules})) as stack:
        e = EnergyDriver(stack)
        cases = [(await e.open("electricity"))[0] for _ in range(12)]
        for case_id in cases:
            await e.step(case_id, "close", {"reason": "moved"})
        handle = await dev_env.client.start_workflow(
            "RetentionSweep", RetentionSweepInput(batch_size=1), id=f"retention-can-{cases[0]}",
            task_queue=stack.task_queue, result_type=RetentionProgress)
        result = await dev_env.client.get_workflow_handle(handle.id, result_type=RetentionProgress).result()
        assert (result.erased, result.found) == (12, 12) and result.batches == 12
        first = await dev_env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id).describe()
        assert first.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        erased = await pool.fetchval("SELECT count(*) FROM domain_events WHERE type = 'PersonalDataErased' "
                                     "AND case_id = ANY($1::text[])", cases)
        assert erased == 12
