"""A workflow that gives the SDK a payload of every kind whose serialization context matters to a codec: its
input and result, a remote and a local activity's input and result (imported by the sandbox, so only pure
imports here; used by ``test_sandbox_contexts``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def echo(text: str) -> str:
    return text


@workflow.defn
class ContextProbe:
    @workflow.run
    async def run(self, text: str) -> str:
        remote = await workflow.execute_activity(echo, f"{text}-remote", start_to_close_timeout=timedelta(seconds=10))
        local = await workflow.execute_local_activity(echo, f"{text}-local",
                                                      start_to_close_timeout=timedelta(seconds=10))
        return f"{remote}+{local}"
