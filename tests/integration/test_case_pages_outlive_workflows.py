"""A closed case stays readable for its whole retention period, long after Temporal has forgotten its workflow.

On the real dev server: close cases, ask Temporal to delete their workflows (what namespace retention does by itself
after 24 h here, days or weeks in production), and read every URL of each case again through an API whose Temporal
cannot be reached at all: the same answers, byte for byte. (The dev server deletes asynchronously and late, so the
test does not wait for the deletion: a Temporal that answers nothing is the stronger proof.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client

from api.app import create_app
from api.context import ApiContext
from tests.conftest import TEST_CODEC, Stack, eventually, free_port, make_stack
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver
from vangnet.platform.converter import data_converter
from vangnet.security.tokens import TokenVerifier, jwks, load_or_create_key

pytestmark = pytest.mark.integration


async def delete_workflow(client: Client, workflow_id: str) -> None:
    await client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id)))


@asynccontextmanager
async def api_without_temporal(stack: Stack) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """The same API and database, with a Temporal client pointed at a port where nothing listens."""
    unreachable = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True, data_converter=data_converter(TEST_CODEC))
    ctx = ApiContext(settings=stack.settings, client=unreachable, pool=stack.pool, task_queue=stack.task_queue,
                     verifier=TokenVerifier(issuer=stack.settings.token_issuer, audience=stack.settings.token_audience,
                                            key=load_or_create_key(stack.settings.key_file)))
    app = create_app(jwks=jwks(load_or_create_key(stack.settings.key_file)))
    app.state.ctx = ctx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vangnet.test") as api:
        yield api, unreachable


async def test_every_case_url_answers_the_same_after_the_workflow_is_deleted(dev_env, pool, settings) -> None:
    async with make_stack(dev_env, pool, settings) as stack:
        d, e = Driver(stack), EnergyDriver(stack)
        signed_case, _ = await d.in_force_case()
        await d.step(signed_case, "POST", "close", {"reason": "tenant_moved"})

        async def claim_submitted() -> bool:  # at once on this code; a claim workflow appended it after the answer
            return "ClaimSubmitted" in await d.event_types(signed_case)

        await eventually(claim_submitted, within=30)
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

        async def read_all(api: httpx.AsyncClient) -> list[tuple[int, bytes]]:
            answers = [await api.get(url, headers=headers) for url, headers in pages]
            return [(r.status_code, r.content) for r in answers]

        before = await read_all(stack.api)
        assert [status for status, _ in before] == [200] * len(pages), before
        for workflow_id in (signed_case, refused_case, energy_case):
            await delete_workflow(dev_env.client, workflow_id)
        async with api_without_temporal(stack) as (api, its_temporal):
            after = await read_all(api)
            for (url, _), old, new in zip(pages, before, after, strict=True):
                assert new == old, url
            # And that API really has no Temporal: nothing answers where its client points.
            with pytest.raises(RuntimeError, match="connect"):
                await its_temporal.get_workflow_handle(energy_case).describe()
