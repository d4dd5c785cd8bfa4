"""No orphan workflows: a case workflow that runs without its case (its opening never committed) is ended by the
reconciler, with a ``CaseOpeningAbandoned`` event in its stream, and leaves every list; real cases are untouched,
and running the reconciler again changes nothing. On the real dev server (visibility queries)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowExecutionStatus

from schemas.activities import ReconcileRequest
from schemas.fbu import FbuCaseInput
from tests.conftest import make_stack
from tests.fbu_helpers import Driver
from vangnet.services import reconciler
from workflows.fbu_case import FbuCaseWorkflow
from workflows.reconcile import ReconcileOrphansWorkflow

pytestmark = pytest.mark.integration


async def start_orphan(stack, ocmw_id: str) -> str:
    """What an opening leaves when its transaction rolls back after the start: a workflow, no case row."""
    case_id = "fbu-" + uuid.uuid4().hex
    await stack.env.client.start_workflow(
        FbuCaseWorkflow.run,
        FbuCaseInput(case_id=case_id, ocmw_id=ocmw_id, rental_market="private", municipality_nis="44021",
                     monthly_rent=Decimal("800.00"), arrears_amount=Decimal("2400.00"),
                     arrears_since=date.today() - timedelta(days=60)),
        id=case_id, task_queue=stack.task_queue)
    for _ in range(100):  # it runs: its CaseOpened reaches the log and the lists
        if await stack.pool.fetchval("SELECT 1 FROM proj_fbu_cases WHERE case_id = $1", case_id):
            return case_id
        await asyncio.sleep(0.1)
    raise AssertionError("the orphan never opened")


async def listed(d: Driver) -> set[str]:
    r = await d.api.get("/v1/fbu/cases", params={"page_size": 200}, headers=d.ocmw)
    return {c["case_id"] for c in r.json()["items"]}


async def test_orphans_are_ended_once_with_an_event_and_real_cases_are_left_alone(dev_env, pool, settings) -> None:
    async with make_stack(dev_env, pool, settings) as stack:
        d = Driver(stack)
        real = await d.open()
        orphan = await start_orphan(stack, "ocmw-44021")
        assert orphan in await listed(d)
        assert (await d.api.get(f"/v1/fbu/cases/{orphan}", headers=d.ocmw)).status_code == 404
        print(f"injected: workflow {orphan} without a case row; listed, yet its page answers 404")

        ended = await reconciler.reconcile(dev_env.client, pool, now=datetime.now(UTC), grace=timedelta(0))
        assert orphan in [e.case_id for e in ended] and real not in [e.case_id for e in ended]
        description = await dev_env.client.get_workflow_handle(orphan).describe()
        assert description.status == WorkflowExecutionStatus.TERMINATED
        events = await pool.fetch("SELECT type, data FROM domain_events WHERE stream = $1 ORDER BY stream_version",
                                  orphan)
        assert events[-1]["type"] == "CaseOpeningAbandoned"
        assert orphan not in await listed(d) and real in await listed(d)
        assert await pool.fetchval("SELECT count(*) FROM proj_case_documents WHERE case_id = $1", orphan) == 0
        real_status = (await dev_env.client.get_workflow_handle(real).describe()).status
        assert real_status == WorkflowExecutionStatus.RUNNING
        print(f"verified: {orphan} terminated, CaseOpeningAbandoned appended, gone from the lists; {real} running")

        again = await reconciler.reconcile(dev_env.client, pool, now=datetime.now(UTC), grace=timedelta(0))
        assert orphan not in [e.case_id for e in again]
        count = await pool.fetchval("SELECT count(*) FROM domain_events WHERE stream = $1 AND type = $2",
                                    orphan, "CaseOpeningAbandoned")
        assert count == 1
        print("verified: a second run ends nothing more and records nothing more")


async def test_the_scheduled_workflow_runs_the_reconciler(dev_env, pool, settings) -> None:
    async with make_stack(dev_env, pool, settings) as stack:
        orphan = await start_orphan(stack, "ocmw-44021")
        report = await dev_env.client.execute_workflow(
            ReconcileOrphansWorkflow.run, ReconcileRequest(grace_seconds=0), id=f"reconcile-{uuid.uuid4().hex}",
            task_queue=stack.task_queue)
        assert orphan in report.ended
        print(f"verified: the ReconcileOrphans workflow (what the Schedule starts) ended {report.ended}")
