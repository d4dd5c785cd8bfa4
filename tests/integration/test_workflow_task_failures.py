"""A workflow task failure anywhere shows: the worker counts the SDK's ``WorkflowTaskFailure`` records, reports
them to PostgreSQL, and ``/healthz`` turns degraded and says what failed. On the real dev server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.conftest import eventually, make_stack
from worker.task_failures import FailureCounter, report_forever

pytestmark = pytest.mark.integration


@workflow.defn(name="AlwaysFailingTask")
class AlwaysFailingTask:
    """A bug in workflow code: every task fails, so Temporal retries it for ever."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a bug in workflow code")


async def test_a_failing_workflow_task_degrades_healthz(dev_env, pool, settings) -> None:
    async with make_stack(dev_env, pool, settings) as stack:
        counter = FailureCounter().install()
        reporter = asyncio.create_task(report_forever(counter, pool, interval=0.2))
        queue = f"failing-{uuid.uuid4().hex[:8]}"
        try:
            async with Worker(dev_env.client, task_queue=queue, workflows=[AlwaysFailingTask],
                              workflow_runner=UnsandboxedWorkflowRunner()):  # defined in a test module
                await dev_env.client.start_workflow(AlwaysFailingTask.run, id=f"fail-{uuid.uuid4().hex}",
                                                    task_queue=queue)
                print("injected: a workflow whose every task raises")

                async def degraded() -> dict | None:
                    body = (await stack.api.get("/healthz")).json()
                    return body if body.get("workflow_task_failures") else None

                body = await eventually(degraded, within=30)
            assert body["status"] == "degraded"
            failures = body["workflow_task_failures"]
            assert failures["failures_since_worker_start"] >= 1
            assert failures["last_workflow_type"] == "AlwaysFailingTask"
            print(f"verified: /healthz {body}")
        finally:
            reporter.cancel()
            counter.uninstall()
            await pool.execute("DELETE FROM workflow_task_failures")  # the rest of the session starts healthy
