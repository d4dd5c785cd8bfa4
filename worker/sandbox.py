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
"""

from __future__ import annotations

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

WORKFLOW_HELPERS = tuple(f"workflows.{name}" for name in (
    "common", "contracts", "energy_calendar", "energy_callbacks", "energy_deadlines", "energy_minimal_supply",
    "energy_ocmw", "energy_phases", "energy_procedure", "fbu_agreement", "fbu_base", "fbu_follow_up",
    "fbu_payouts", "fbu_plan", "fbu_status",
))
PASSTHROUGH = ("schemas", "stdnum", "structlog", "zoneinfo", *WORKFLOW_HELPERS)


def workflow_runner() -> SandboxedWorkflowRunner:
    base = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    restrictions = dataclasses.replace(
        base,
        invalid_module_members=base.invalid_module_members.with_child_unrestricted("zoneinfo", "ZoneInfo"),
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)
