"""The workflow sandbox, configured once for the worker, the tests and the replayer.

``zoneinfo.ZoneInfo`` must be usable inside workflows (Brussels calendar dates come from ``workflow.now()``);
the default restrictions wrap it in a proxy that datetime rejects. Our schema and pure-rule modules are passed
through, so they are loaded once and not re-imported for every workflow run. ``structlog`` is passed through
because a workflow's log record (``workflow.logger``, or the SDK's own warning when an update handler refuses) is
formatted by the process's logging handler in the workflow's thread, and structlog imports parts of itself
lazily: without it they were loaded into the sandbox on the first such record ("imported after initial workflow
load").

The workflow modules that define no workflow class (the procedures' steps, calendars, phase tables: everything
the five workflow classes are built from) are passed through as well. The sandbox re-imports every module that is
not passed through for each workflow run, and re-running theirs cost about 90 ms of CPU per run (a replay of a
recorded case took 170 ms of CPU instead of 75): that is every energy case opened and every case a worker loads
into its cache. The modules that define the workflow classes stay in the sandbox. What the sandbox no longer checks
in the helpers (a call to the clock, randomness or I/O) a test checks in their source
(``tests/unit/test_workflow_determinism.py``), and their module-level values are constants that no run changes.

The SDK asks a workflow for the serialization context of every payload sequence it encodes or decodes (to give the
codec the activity's or workflow's identity), and the sandbox answers each question by ``exec``-ing a code string
with its importer applied: 0.1-0.2 ms a question, about 1 ms of the worker's CPU per activation, as much as the
workflow code itself (``docs/performance.md``). The answer reads a few fields of the workflow instance and needs no
sandbox, so ``DirectContextRunner`` asks the instance directly. It leans on the SDK's runner internals: if they
change, it falls back to the SDK's own path, and ``tests/workflows/test_sandbox_contexts.py`` fails so that we notice.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import structlog
import temporalio.converter
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance

WORKFLOW_HELPERS = tuple(f"workflows.{name}" for name in (
    "common", "contracts", "energy_calendar", "energy_callbacks", "energy_deadlines", "energy_minimal_supply",
    "energy_ocmw", "energy_phases", "energy_procedure", "fbu_agreement", "fbu_base", "fbu_follow_up",
    "fbu_payouts", "fbu_plan", "fbu_status",
))
PASSTHROUGH = ("schemas", "stdnum", "structlog", "zoneinfo", *WORKFLOW_HELPERS)

log = structlog.get_logger(__name__)


def workflow_runner() -> SandboxedWorkflowRunner:
    base = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    restrictions = dataclasses.replace(
        base,
        invalid_module_members=base.invalid_module_members.with_child_unrestricted("zoneinfo", "ZoneInfo"),
    )
    return DirectContextRunner(restrictions=restrictions)


class DirectContextRunner(SandboxedWorkflowRunner):
    """The SDK's sandboxed runner, whose instances answer serialization-context questions without the sandbox."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return DirectContextInstance(det, self.runner_class, self.restrictions)


class DirectContextInstance(_Instance):
    """A sandboxed workflow instance that reads its serialization contexts from the instance inside the sandbox."""

    def __init__(self, details: WorkflowInstanceDetails, runner_class: type[WorkflowRunner],
                 restrictions: SandboxRestrictions) -> None:
        super().__init__(details, runner_class, restrictions)
        inner = getattr(self.globals_and_locals.get("__temporal_in_sandbox"), "instance", None)
        # the instance in the sandbox answers both questions (``WorkflowInstance`` declares them); None: the SDK
        # changed, take its own path
        self.inner = inner if isinstance(inner, WorkflowInstance) else None
        if self.inner is None:
            _warn_once()

    def get_serialization_context(self, command_info: Any) -> temporalio.converter.SerializationContext | None:
        if self.inner is None:
            return super().get_serialization_context(command_info)
        return self.inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> StorageDriverStoreContext:
        if self.inner is None:
            return super().get_external_store_context(command_info)
        return self.inner.get_external_store_context(command_info)


@functools.cache
def _warn_once() -> None:
    log.warning("the SDK's sandbox runner changed: serialization contexts are asked through the sandbox again "
                "(correct, but about 1 ms more CPU per activation); see worker/sandbox.py")
