"""A closed case stays readable for its whole retention period, long after Temporal has forgotten its workflow.

On the real dev server: close cases, delete their workflows (what namespace retention does by itself after 24 h
here, days or weeks in production), and read every URL of each case again: the same answers, byte for byte.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.conftest import eventually, make_stack
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver

pytestmark = pytest.mark.integration


async def delete_workflow(client: Client, workflow_id: str) -> None:
    await client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id)))

    async def gone() -> bool:
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            return exc.status == RPCStatusCode.NOT_FOUND
        return False

    await eventually(gone, within=30)


async def test_every_case_url_answers_the_same_after_the_workflow_is_deleted(dev_env, pool, settings) -> None:
    async with make_stack(dev_env, pool, settings) as stack:
        d, e = Driver(stack), EnergyDriver(stack)
        signed_case, _ = await d.in_force_case()
        await d.step(signed_case, "POST", "close", {"reason": "tenant_moved"})
        refused_case = await d.open()
        await d.draft(refused_case, {"landlord_payment": "400.00", "plan": [
            {"due_on": str(await d.today() + timedelta(days=20)), "amount": "2000.00"}]})
        await d.step(refused_case, "POST", "refusals", {"party": "landlord", "reason": "Naar de vrederechter"})
        energy_case, _ = await e.open("electricity")
        await e.step(energy_case, "close", {"reason": "moved"})

        urls = {
            signed_case: ["", "/events", "/parties", "/documents/agreement"],
            refused_case: ["", "/events", "/parties", "/documents/agreement", "/documents/vredegerecht-letter"],
        }
        pages = [(f"/v1/fbu/cases/{case}{suffix}", d.ocmw) for case, suffixes in urls.items() for suffix in suffixes]
        pages += [(f"/v1/energy/cases/{energy_case}{suffix}", e.ocmw)
                  for suffix in ("", "/events", "/timeline", "/household")]

        async def read_all() -> list[tuple[int, bytes]]:
            answers = [await stack.api.get(url, headers=headers) for url, headers in pages]
            return [(r.status_code, r.content) for r in answers]

        before = await read_all()
        assert [status for status, _ in before] == [200] * len(pages), before
        for workflow_id in (signed_case, refused_case, energy_case):
            await delete_workflow(dev_env.client, workflow_id)
        await asyncio.sleep(0.2)
        after = await read_all()
        for (url, _), old, new in zip(pages, before, after, strict=True):
            assert new == old, url
