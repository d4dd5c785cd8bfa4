"""The workflow sandbox, configured once for the worker, the tests and the replayer.

``zoneinfo.ZoneInfo`` must be usable inside workflows (Brussels calendar dates come from ``workflow.now()``);
the default restrictions wrap it in a proxy that datetime rejects. Our schema and pure-rule modules are passed
through, so they are loaded once and not re-imported for every workflow run. ``structlog`` is passed through
because a workflow's log record (``workflow.logger``, or the SDK's own warning when an update handler refuses) is
formatted by the process's logging handler in the workflow's thread, and structlog imports parts of itself
lazily: without it they were loaded into the sandbox on the first such record ("imported after initial workflow
load").
"""

from __future__ import annotations

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH = ("schemas", "stdnum", "structlog", "zoneinfo")


def workflow_runner() -> SandboxedWorkflowRunner:
    base = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    restrictions = dataclasses.replace(
        base,
        invalid_module_members=base.invalid_module_members.with_child_unrestricted("zoneinfo", "ZoneInfo"),
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)
