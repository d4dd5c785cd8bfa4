"""The Temporal Schedules that run the orphan reconciler and the callback recovery every few minutes, kept in line
with the settings (``vangnet.services.schedules``); overlapping runs are skipped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)

from schemas.activities import ReconcileRequest, RecoverCallbacksRequest
from vangnet.platform.settings import Settings
from vangnet.services import schedules
from vangnet.services.schedules import Ensured
from workflows.reconcile import ReconcileOrphansWorkflow, RecoverCallbacksWorkflow

SCHEDULE_ID = "vangnet-reconcile"
WORKFLOW_ID = "reconcile-orphans"
RECOVERY_SCHEDULE_ID = "vangnet-callback-recovery"
RECOVERY_WORKFLOW_ID = "recover-callbacks"


def _every(every: timedelta, run: Any, request: Any, workflow_id: str, task_queue: str, note: str) -> Schedule:
    """A workflow started every ``every``, a run at a time (one still running skips its turn)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(run, request, id=workflow_id, task_queue=task_queue,
                                           execution_timeout=timedelta(minutes=30)),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note=note),
    )


def build(settings: Settings, task_queue: str) -> Schedule:
    every = timedelta(minutes=settings.reconcile_every_minutes)
    request = ReconcileRequest(grace_seconds=settings.reconcile_grace_seconds)
    return _every(every, ReconcileOrphansWorkflow.run, request, WORKFLOW_ID, task_queue,
                  f"Ends case workflows that run without their case. Managed by the Vangnet worker, edits are "
                  f"overwritten. [every={every}; grace={request.grace_seconds}s; queue={task_queue}]")


async def ensure(client: Client, settings: Settings, task_queue: str) -> Ensured:
    return await schedules.ensure(client, SCHEDULE_ID, build(settings, task_queue),
                                  f"VANGNET_RECONCILE_EVERY_MINUTES={settings.reconcile_every_minutes}")


def build_recovery(settings: Settings, task_queue: str) -> Schedule:
    every = timedelta(seconds=settings.callback_recovery_every_seconds)
    request = RecoverCallbacksRequest(overdue_seconds=settings.callback_overdue_seconds,
                                      lookback_hours=settings.callback_recovery_lookback_hours)
    return _every(every, RecoverCallbacksWorkflow.run, request, RECOVERY_WORKFLOW_ID, task_queue,
                  f"Asks the netbeheerders for callbacks that are overdue. Managed by the Vangnet worker, edits are "
                  f"overwritten. [every={every}; overdue={request.overdue_seconds}s; "
                  f"lookback={request.lookback_hours}h; queue={task_queue}]")


async def ensure_recovery(client: Client, settings: Settings, task_queue: str) -> Ensured:
    return await schedules.ensure(client, RECOVERY_SCHEDULE_ID, build_recovery(settings, task_queue),
                                  f"VANGNET_CALLBACK_RECOVERY_EVERY_SECONDS={settings.callback_recovery_every_seconds}")
