"""The worker process: hosts the workflows and activities on the task queue, with SDK metrics for Prometheus."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from contextlib import AsyncExitStack, suppress
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pydantic
import structlog
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.energy import EnergyActivities
from activities.events import EventActivities
from activities.fbu import FbuActivities
from activities.reconcile import ReconcileActivities
from activities.retention import RetentionActivities
from schemas.calendar import brussels_date
from schemas.energy_rules import credit_index_years_not_set
from vangnet.platform.settings import Settings
from vangnet.platform.temporal_client import connect
from vangnet.rulebooks import working_days
from vangnet.rulebooks.rulebook import RuleBookError, load_energy_rule_book
from vangnet.services import reconcile_schedule, reconciler, retention_schedule
from vangnet.services.callbacks import run_forwarder
from vangnet.storage.db import create_pool
from worker.gc_pauses import GcPauses
from worker.sandbox import workflow_runner
from worker.task_failures import FailureCounter, report_forever
from workflows.energy_case import EnergyCaseWorkflow
from workflows.fbu_case import FbuCaseWorkflow
from workflows.fbu_claim import FbuClaimWorkflow
from workflows.reconcile import ReconcileOrphansWorkflow, RecoverCallbacksWorkflow
from workflows.retention_sweep import RetentionSweepWorkflow

log = structlog.get_logger(__name__)

WORKFLOWS: Sequence[type] = (FbuCaseWorkflow, FbuClaimWorkflow, EnergyCaseWorkflow, RetentionSweepWorkflow,
                              ReconcileOrphansWorkflow, RecoverCallbacksWorkflow)


def activities_for(client: Client | None, pool: Any, http: httpx.AsyncClient, settings: Settings) -> list[Any]:
    events = EventActivities(pool)
    fbu = FbuActivities(http, settings.payment_system_url, settings.fbu_rules_file)
    energy = EnergyActivities(http, settings.netbeheerder_urls, settings.energy_rules_file, pool)
    retention = RetentionActivities(pool, settings.retention_rules_file)
    reconcile = ReconcileActivities(client, pool, http, settings.netbeheerder_urls)
    return [events.append_events, fbu.fbu_rule_set_on, fbu.add_working_days, fbu.fbu_claim_terms, fbu.pay_claim,
            energy.load_energy_rule_book, energy.netbeheerder_request,
            retention.find_expired_personal_data, retention.erase_expired_personal_data,
            reconcile.reconcile_orphans, reconcile.recover_overdue_callbacks]


def tuning(settings: Settings) -> dict[str, Any]:
    """The worker's concurrency, pollers and sticky cache, from settings (``VANGNET_WORKER_*``)."""
    return {
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "max_concurrent_local_activities": settings.worker_max_concurrent_local_activities,
        "max_concurrent_workflow_task_polls": settings.worker_workflow_task_pollers,
        "max_concurrent_activity_task_polls": settings.worker_activity_task_pollers,
        "max_cached_workflows": settings.worker_max_cached_workflows,
    }


def build_worker(client: Client, task_queue: str, activities: list[Any], settings: Settings,
                 **kwargs: Any) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=activities,
        workflow_runner=workflow_runner(),
        workflow_failure_exception_types=[pydantic.ValidationError],
        **{**tuning(settings), **kwargs},
    )


def freeze_start_up_heap() -> int:
    """Put what start-up built (modules, the SDK, the workflow sandbox's passed-through imports, the calendar) out of
    the cyclic garbage collector's reach, and return how many objects that is. It lives as long as the process, and
    every full collection walked it again: about 200,000 objects, in pauses of 180-420 ms that stalled every
    workflow task and activity of the worker (docs/performance.md). Garbage is collected first, so none is kept."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def metrics_runtime(port: int, host: str = "127.0.0.1") -> Runtime | None:
    if not port:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
        bind_address=f"{host}:{port}", durations_as_seconds=True)))


async def run_worker(settings: Settings, database_url: str) -> None:
    runtime = metrics_runtime(settings.worker_metrics_port, settings.worker_metrics_host)
    client = await connect(settings, runtime=runtime)
    async with AsyncExitStack() as stack:
        pool = await create_pool(database_url, min_size=settings.database_pool_min, max_size=settings.database_pool_max)
        stack.push_async_callback(pool.close)
        http = await stack.enter_async_context(httpx.AsyncClient())
        worker = build_worker(client, settings.temporal_task_queue, activities_for(client, pool, http, settings),
                              settings)
        log.info("worker started", task_queue=settings.temporal_task_queue, metrics_port=settings.worker_metrics_port)
        warn_credit_index_not_set(settings, brussels_date(datetime.now(UTC)))
        working_days.warm(brussels_date(datetime.now(UTC)))
        log.info("start-up heap frozen", objects=freeze_start_up_heap())
        if settings.retention_schedule:
            ensured = await retention_schedule.ensure(client, settings, settings.temporal_task_queue)
            log.info("retention schedule " + ensured.action, schedule_id=ensured.schedule_id,
                     cron=settings.retention_cron)
        ensured = await reconcile_schedule.ensure(client, settings, settings.temporal_task_queue)
        log.info("reconcile schedule " + ensured.action, schedule_id=ensured.schedule_id)
        ensured = await reconcile_schedule.ensure_recovery(client, settings, settings.temporal_task_queue)
        log.info("callback recovery schedule " + ensured.action, schedule_id=ensured.schedule_id,
                 every_seconds=settings.callback_recovery_every_seconds,
                 overdue_seconds=settings.callback_overdue_seconds)
        forwarder = asyncio.create_task(run_forwarder(client, pool))
        failures = FailureCounter().install()
        pauses = GcPauses(runtime.metric_meter).install() if runtime else None
        reporter = asyncio.create_task(report_forever(failures, pool))
        first_reconcile = asyncio.create_task(_reconcile_at_start(client, pool, settings))
        try:
            with suppress(asyncio.CancelledError):
                await worker.run()
        finally:
            forwarder.cancel()
            first_reconcile.cancel()
            reporter.cancel()
            failures.uninstall()
            if pauses:
                pauses.uninstall()


def warn_credit_index_not_set(settings: Settings, today: date) -> list[int]:
    """Say once at start which years' emergency credit index the operator has not set (up to this year): cases
    granted credit in those years get the unindexed base, flagged "index not set"."""
    try:
        book = load_energy_rule_book(settings.energy_rules_file)
    except RuleBookError as exc:  # the activities that read the book report it where it matters
        log.warning("energy rule book unreadable at start", error=str(exc))
        return []
    years = credit_index_years_not_set(book, today.year)
    if years:
        log.warning("emergency credit index not set", years=years, this_year_not_set=today.year in years,
                    granted="the unindexed base amount, flagged index_set=false",
                    fix="vangnet rules set-credit-index --year YEAR --factor F --source TEXT")
    return years


async def _reconcile_at_start(client: Client, pool: Any, settings: Settings) -> None:
    """Orphans left while no worker ran are ended now, not at the Schedule's next turn."""
    try:
        ended = await reconciler.reconcile(client, pool, now=datetime.now(UTC),
                                           grace=timedelta(seconds=settings.reconcile_grace_seconds))
    except (OSError, RPCError, asyncpg.PostgresError) as exc:
        log.warning("reconciler at start failed; the schedule runs it again", error=type(exc).__name__)
        return
    if ended:
        log.warning("orphan case workflows ended at start", count=len(ended))
