"""The limit's workflows for ``scripts/bench.py``, in a module of their own.

The workflow sandbox re-imports the module that defines a workflow for every run; keeping it to ``temporalio``
and the standard library means the limit measures the server and the SDK, not the import of the benchmark.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@workflow.defn(name="BenchNoop")
class Noop:
    """Returns at once: started, one workflow task, completed (5 history events)."""

    @workflow.run
    async def run(self) -> None:
        return None


@activity.defn(name="bench_nothing")
async def nothing() -> None:
    """Does nothing: what remains of a step is the SDK's and the server's share."""


@workflow.defn(name="BenchSteps")
class Steps:
    """``steps`` activities one after the other: every step is two persisted server calls (activity completed,
    workflow task completed) and six history events, as a product step that appends through an activity.
    (Timers of zero were tried: the dev server fires them about a second late, which measures its timer queue,
    not its throughput; local activities all land in one workflow task, which measures nothing per step.)"""

    @workflow.run
    async def run(self, steps: int) -> None:
        for _ in range(steps):
            await workflow.execute_activity(nothing, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(name="BenchSteppedCase")
class SteppedCase:
    """A case with nothing in it: three updates, each running ``nothing`` as a local activity, then it ends. An
    update is accepted, runs one local activity and answers in one workflow task, as a product step (a signature)
    does when it appends through a local activity; what the product adds (HTTP, the rules, the append) is not
    here, so its latency is the floor a step cannot go under on this server and machine."""

    def __init__(self) -> None:
        self.steps = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.steps >= 3)

    @workflow.update(name="step")
    async def step(self) -> int:
        await workflow.execute_local_activity(nothing, start_to_close_timeout=timedelta(seconds=30))
        self.steps += 1
        return self.steps
