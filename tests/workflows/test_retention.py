"""Personal data is erased by the retention job when its period is over: never before, never twice, and every
erasure is in the event log with the rule set it applied. Own database, so no other test's cases are swept."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from schemas.retention import RetentionProgress, RetentionSweepInput
from tests.conftest import Stack, make_stack
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver, ok
from tests.recorded_histories import keep_history
from vangnet.platform.settings import Settings

RULES = {"rule_sets": [{"id": "retention-test", "valid_from": "2018-05-25", "source": "test periods",
                        "periods": {"fbu": {"days": 2}, "energy": {"days": 1}}}]}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def rstack(ts_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path: Path = tmp_path_factory.mktemp("retention") / "retention.json"
    path.write_text(json.dumps(RULES))
    async with make_stack(ts_env, pool, settings.model_copy(update={"retention_rules_file": path})) as s:
        yield s


async def sweep(stack: Stack, **kwargs: Any) -> RetentionProgress:
    # Waiting for a result would let the time-skipping server jump the shared clock to the next timer of any
    # workflow (years ahead); the sweep only runs activities, so it needs no skipping.
    workflow_id = f"retention-sweep-{uuid.uuid4().hex[:12]}"
    with stack.env.auto_time_skipping_disabled():
        result: RetentionProgress = await stack.env.client.execute_workflow(
            "RetentionSweep", RetentionSweepInput(**kwargs), id=workflow_id, task_queue=stack.task_queue,
            result_type=RetentionProgress)
    if result.erased:  # a sweep that erased something is worth replaying
        await keep_history(stack.env.client, workflow_id, workflow_id)
    return result


async def erasures(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    rows = await stack.pool.fetch("SELECT data::text AS data FROM domain_events WHERE case_id = $1 "
                                  "AND type = 'PersonalDataErased' ORDER BY position", case_id)
    return [json.loads(r["data"]) for r in rows]


async def test_personal_data_is_erased_when_its_period_is_over_and_not_before(rstack: Stack) -> None:
    d, e = Driver(rstack), EnergyDriver(rstack)
    fbu_closed, fbu_open = await d.open(), await d.open()
    await d.step(fbu_closed, "POST", "close", {"reason": "withdrawn"})
    energy_closed, _ = await e.open("gas")
    await e.step(energy_closed, "close", {"reason": "moved"})
    closed_on = await d.today()

    async def parties(case_id: str) -> dict[str, Any]:
        return await ok(await d.api.get(f"/v1/fbu/cases/{case_id}/parties", headers=d.ocmw))

    async def household() -> dict[str, Any]:
        return await ok(await e.api.get(f"/v1/energy/cases/{energy_closed}/household", headers=e.ocmw))

    # Closing day: nothing is due yet (energy: 1 day, FBU: 2 days).
    first = await sweep(rstack)
    assert (first.as_of, first.found, first.erased, first.done) == (closed_on, 0, 0, True)
    assert (await household())["name"] == "Samira Benali"

    await d.sleep_days(1)  # energy due: the household goes, the FBU parties stay
    second = await sweep(rstack)
    assert (second.found, second.erased, second.rule_sets) == (1, 1, ["retention-test"])
    assert await household() == {"name": "erased", "national_number": "erased", "address": "erased"}
    assert (await parties(fbu_closed))["tenant"]["name"] == "Eloïse Janssens"

    await d.sleep_days(1)  # FBU due: tenant and landlord of the closed case; the open case is never touched
    third = await sweep(rstack)
    assert (third.found, third.erased) == (2, 2)
    closed = await parties(fbu_closed)
    assert closed["tenant"]["name"] == "erased" and closed["landlord"]["name"] == "erased"
    assert (await parties(fbu_open))["tenant"]["name"] == "Eloïse Janssens"

    # The legal record: one event per subject, with the rule set, period and dates it applied; no personal data.
    records = await erasures(rstack, fbu_closed)
    assert sorted(r["party"] for r in records) == ["landlord", "tenant"]
    for r in records:
        assert r["reason"] == "retention" and r["rule_set_id"] == "retention-test" and r["period"] == "2 days"
        assert r["closed_on"] == closed_on.isoformat() and r["due_on"] == (await d.today()).isoformat()
    assert [r["party"] for r in await erasures(rstack, energy_closed)] == ["household"]
    events = await ok(await d.api.get(f"/v1/fbu/cases/{fbu_closed}/events", headers=d.ocmw))
    assert "PersonalDataErased" in json.dumps(events)

    # Once more: nothing left to erase, nothing recorded twice.
    fourth = await sweep(rstack)
    assert (fourth.found, fourth.erased) == (0, 0)
    assert len(await erasures(rstack, fbu_closed)) == 2
    await d.step(fbu_open, "POST", "close", {"reason": "withdrawn"})


async def test_a_dry_run_lists_ids_and_erases_nothing_and_batches_page_through(rstack: Stack) -> None:
    e = EnergyDriver(rstack)
    cases = [(await e.open("electricity"))[0] for _ in range(5)]
    for case_id in cases:
        await e.step(case_id, "close", {"reason": "moved"})
    await Driver(rstack).sleep_days(1)

    dry = await sweep(rstack, dry_run=True, batch_size=5000)
    assert dry.found == 5 and dry.erased == 0
    assert sorted(s.case_id for s in dry.would_erase) == sorted(cases)
    assert all(s.subject_id.startswith("sub-") for s in dry.would_erase)  # ids only, never a name
    assert "Samira" not in dry.model_dump_json()

    real = await sweep(rstack, batch_size=2)
    assert (real.found, real.erased, real.batches) == (5, 5, 3)


async def test_a_sweep_for_a_future_day_is_refused(rstack: Stack) -> None:
    from datetime import timedelta

    future = await Driver(rstack).today() + timedelta(days=1)
    with pytest.raises(WorkflowFailureError) as failed:
        await sweep(rstack, as_of=future)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput"
    assert "future" in str(cause)
