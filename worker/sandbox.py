"""The workflow sandbox, configured once for the worker, the tests and the replayer.

``zoneinfo.ZoneInfo`` must be usable inside workflows (Brussels calendar dates come from ``workflow.now()``);
the default restrictions wrap it in a proxy that datetime rejects. Our schema and pure-rule modules are passed
through, so they are loaded once and not re-imported for every workflow run.
"""

from __future__ import annotations

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH = ("schemas", "stdnum", "zoneinfo")


def workflow_runner() -> SandboxedWorkflowRunner:
    base = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    restrictions = dataclasses.replace(
        base,
        invalid_module_members=base.invalid_module_members.with_child_unrestricted("zoneinfo", "ZoneInfo"),
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)
