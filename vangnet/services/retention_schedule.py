"""The Temporal Schedule that runs the retention job every night, kept in line with the settings
(``vangnet.services.schedules``). Overlapping runs are skipped (a run that takes longer than a day finishes
first), and a missed night is caught up within a day.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import RetryPolicy

from schemas.retention import RetentionSweepInput
from vangnet.platform.settings import Settings
from vangnet.services import schedules
from vangnet.services.schedules import Ensured
from workflows.retention_sweep import RetentionSweepWorkflow

SCHEDULE_ID = "vangnet-retention"
WORKFLOW_ID = "retention-sweep"
TIME_ZONE = "Europe/Brussels"


def _note(settings: Settings, task_queue: str) -> str:
    # Describe returns cron strings translated into calendar specs, so the settings it was made from are kept
    # in the note, where a later worker compares them.
    return (f"Erases personal data whose retention period is over (rulesets/retention.json). Managed by the Vangnet "
            f"worker, edits are overwritten. [cron={settings.retention_cron}; tz={TIME_ZONE}; queue={task_queue}]")


def build(settings: Settings, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionSweepWorkflow.run, RetentionSweepInput(), id=WORKFLOW_ID, task_queue=task_queue,
            execution_timeout=timedelta(hours=12),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(minutes=5))),
        spec=ScheduleSpec(cron_expressions=[settings.retention_cron], time_zone_name=TIME_ZONE),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        state=ScheduleState(note=_note(settings, task_queue)),
    )


async def ensure(client: Client, settings: Settings, task_queue: str) -> Ensured:
    """Create the retention Schedule, or bring an existing one in line with the settings."""
    return await schedules.ensure(client, SCHEDULE_ID, build(settings, task_queue),
                                  f"VANGNET_RETENTION_CRON={settings.retention_cron!r}")
