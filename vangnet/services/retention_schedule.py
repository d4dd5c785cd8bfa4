"""The Temporal Schedule that runs the retention job every night, kept in line with the settings.

The worker calls ``ensure`` at start: it creates the Schedule, or updates it when the cron, time zone or task
queue changed, so a deployment never needs a manual step and never ends up with two. Overlapping runs are
skipped (a run that takes longer than a day finishes first), and a missed night is caught up within a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import RetryPolicy
from temporalio.service import RPCError

from schemas.retention import RetentionSweepInput
from vangnet.platform.settings import Settings

SCHEDULE_ID = "vangnet-retention"
WORKFLOW_ID = "retention-sweep"
TIME_ZONE = "Europe/Brussels"


class ScheduleConfigError(RuntimeError):
    """The Schedule the settings describe is refused by the server; reported as one line."""


@dataclass(frozen=True)
class Ensured:
    schedule_id: str
    action: str  # created | updated | unchanged


def _note(settings: Settings, task_queue: str) -> str:
    # Describe returns cron strings translated into calendar specs, so the settings it was made from are kept
    # in the note, where a later worker compares them.
    return (f"Erases personal data whose retention period is over (rulesets/retention.json). Managed by the Vangnet "
            f"worker, edits are overwritten. [cron={settings.retention_cron}; tz={TIME_ZONE}; queue={task_queue}]")


def build(settings: Settings, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "RetentionSweep", RetentionSweepInput(), id=WORKFLOW_ID, task_queue=task_queue,
            execution_timeout=timedelta(hours=12),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(minutes=5))),
        spec=ScheduleSpec(cron_expressions=[settings.retention_cron], time_zone_name=TIME_ZONE),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        state=ScheduleState(note=_note(settings, task_queue)),
    )


async def ensure(client: Client, settings: Settings, task_queue: str) -> Ensured:
    """Create the retention Schedule, or bring an existing one in line with the settings."""
    wanted = build(settings, task_queue)
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        return Ensured(SCHEDULE_ID, "created")
    except ScheduleAlreadyRunningError:
        pass
    except RPCError as exc:
        raise ScheduleConfigError(f"the retention schedule cannot be created ({exc.message}); check "
                                  f"VANGNET_RETENTION_CRON={settings.retention_cron!r}") from exc
    changed = False

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal changed
        have = current.description.schedule
        if have.state.note == wanted.state.note:
            return None
        changed = True
        wanted.state.paused = have.state.paused  # an operator's pause survives a worker restart
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(SCHEDULE_ID).update(update)
    return Ensured(SCHEDULE_ID, "updated" if changed else "unchanged")
