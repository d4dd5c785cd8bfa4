"""The worker's runner answers the SDK's serialization-context questions outside the sandbox
(``worker/sandbox.py``): a codec must get exactly the contexts the SDK's own runner gives it, and the direct path
must really be taken (if an SDK upgrade changes the runner's internals, the fallback keeps workflows running but
this test fails)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from temporalio import workflow
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.worker import Worker, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _fake_info, _Instance

from tests.workflows.context_probe import ContextProbe, echo
from worker.sandbox import DirectContextInstance, DirectContextRunner, workflow_runner


class RecordingCodec(PayloadCodec, WithSerializationContext):
    """Records, per payload sequence, the direction and the context it was given (passes payloads unchanged)."""

    def __init__(self, seen: list[tuple[str, SerializationContext | None]],
                 context: SerializationContext | None = None) -> None:
        self.seen, self.context = seen, context

    def with_context(self, context: SerializationContext) -> RecordingCodec:
        return RecordingCodec(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.append(("encode", self.context))
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.append(("decode", self.context))
        return list(payloads)


async def contexts_seen(ts_env, runner: SandboxedWorkflowRunner) -> list[tuple[str, str, str | None, bool | None]]:
    """Run the probe once with ``runner``; the codec's contexts, with the run's own ids made comparable."""
    seen: list[tuple[str, SerializationContext | None]] = []
    client = Client(**{**ts_env.client.config(), "data_converter": DataConverter(payload_codec=RecordingCodec(seen))})
    queue, workflow_id = f"contexts-{uuid.uuid4().hex[:8]}", f"probe-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[ContextProbe], activities=[echo], workflow_runner=runner):
        result = await client.execute_workflow(ContextProbe.run, "x", id=workflow_id, task_queue=queue)
    assert result == "x-remote+x-local"

    def comparable(direction: str, context: SerializationContext | None) -> tuple[str, str, str | None, bool | None]:
        if isinstance(context, ActivitySerializationContext):
            assert context.workflow_id == workflow_id and context.workflow_type == "ContextProbe"
            return direction, "activity", context.activity_type, context.is_local
        if isinstance(context, WorkflowSerializationContext):
            assert context.workflow_id == workflow_id
            return direction, "workflow", None, None
        return direction, type(context).__name__, None, None

    return [comparable(direction, context) for direction, context in seen]


async def test_the_codec_gets_the_same_contexts_as_with_the_sdks_runner(ts_env) -> None:
    ours = workflow_runner()
    assert isinstance(ours, DirectContextRunner)
    stock = SandboxedWorkflowRunner(restrictions=ours.restrictions)
    direct, sdk = await contexts_seen(ts_env, ours), await contexts_seen(ts_env, stock)
    print(f"verified: {len(direct)} payload sequences, the same contexts as the SDK's runner: {sorted(set(direct))}")
    assert direct == sdk
    kinds = {(kind, activity_type, is_local) for _, kind, activity_type, is_local in direct}
    assert {("activity", "echo", False), ("activity", "echo", True), ("workflow", None, None)} <= kinds


async def test_the_direct_path_is_taken() -> None:
    """Without the SDK internals it relies on, the instance falls back (correct, but slow again): fail loudly."""
    details = WorkflowInstanceDetails(
        payload_converter_factory=DataConverter.default._new_payload_converter,
        failure_converter_class=DataConverter.default.failure_converter_class, interceptor_classes=[],
        defn=workflow._Definition.must_from_class(ContextProbe), info=_fake_info, randomness_seed=-1,
        extern_functions={}, disable_eager_activity_execution=False, worker_level_failure_exception_types=[],
        patch_activation_callback=None, last_completion_result=Payloads(), last_failure=Failure())
    instance = workflow_runner().create_instance(details)
    assert isinstance(instance, DirectContextInstance)
    assert instance.inner is not None, "the SDK's runner changed: serialization contexts go through the sandbox again"
    direct = instance.get_serialization_context(None)
    assert direct == _Instance.get_serialization_context(instance, None)
    assert instance.get_external_store_context(None) == _Instance.get_external_store_context(instance, None)
    instance.inner = None  # what an SDK with other internals gives: the SDK's own path, the same answer
    assert instance.get_serialization_context(None) == direct
