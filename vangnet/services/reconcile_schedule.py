"""The Temporal Schedules that run the orphan reconciler and the callback recovery every few minutes, kept in line
with the settings (``vangnet.services.schedules``); overlapping runs are skipped."""

from __future__ import annotations

from datetime import timedelta

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


def build(settings: Settings, task_queue: str) -> Schedule:
    every = timedelta(minutes=settings.reconcile_every_minutes)
    request = ReconcileRequest(grace_seconds=settings.reconcile_grace_seconds)
    return Schedule(
        action=ScheduleActionStartWorkflow(ReconcileOrphansWorkflow.run, request, id=WORKFLOW_ID,
                                           task_queue=task_queue, execution_timeout=timedelta(minutes=30)),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note=(f"Ends case workflows that run without their case. Managed by the Vangnet worker, "
                                  f"edits are overwritten. [every={every}; grace={request.grace_seconds}s; "
                                  f"queue={task_queue}]")),
    )


async def ensure(client: Client, settings: Settings, task_queue: str) -> Ensured:
    return await schedules.ensure(client, SCHEDULE_ID, build(settings, task_queue),
                                  f"VANGNET_RECONCILE_EVERY_MINUTES={settings.reconcile_every_minutes}")


def build_recovery(settings: Settings, task_queue: str) -> Schedule:
    every = timedelta(seconds=settings.callback_recovery_every_seconds)
    request = RecoverCallbacksRequest(overdue_seconds=settings.callback_overdue_seconds,
                                      lookback_hours=settings.callback_recovery_lookback_hours)
    return Schedule(
        action=ScheduleActionStartWorkflow(RecoverCallbacksWorkflow.run, request, id=RECOVERY_WORKFLOW_ID,
                                           task_queue=task_queue, execution_timeout=timedelta(minutes=30)),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note=(f"Asks the netbeheerders for callbacks that are overdue. Managed by the Vangnet "
                                  f"worker, edits are overwritten. [every={every}; overdue={request.overdue_seconds}s;"
                                  f" lookback={request.lookback_hours}h; queue={task_queue}]")),
    )


async def ensure_recovery(client: Client, settings: Settings, task_queue: str) -> Ensured:
    return await schedules.ensure(client, RECOVERY_SCHEDULE_ID, build_recovery(settings, task_queue),
                                  f"VANGNET_CALLBACK_RECOVERY_EVERY_SECONDS={settings.callback_recovery_every_seconds}")
