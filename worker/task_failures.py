"""Workflow task failures, counted where they happen and reported where operators look.

A workflow task that fails (a bug, or data a handler did not expect) is retried by Temporal for ever and the case
stands still, with nothing but a log line to show for it. The SDK logs each failure with the identifier
``WorkflowTaskFailure``; ``FailureCounter`` counts those records in the worker process, and ``report_forever``
writes the count to PostgreSQL, where the API's ``/healthz`` reads it (the SDK's own Prometheus counter
``temporal_workflow_task_execution_failed`` carries the same news to the alerts).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime

import asyncpg
import structlog

SDK_LOGGER = "temporalio.worker._workflow_instance"
log = structlog.get_logger(__name__)


class FailureCounter(logging.Handler):
    """Counts the SDK's ``WorkflowTaskFailure`` log records (no personal data: only the workflow type is kept)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.failures = 0
        self.last_at: datetime | None = None
        self.last_type = ""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "__temporal_error_identifier", None) != "WorkflowTaskFailure":
            return
        self.failures += 1
        self.last_at = datetime.now(UTC)
        details = getattr(record, "temporal_workflow", None)
        self.last_type = str(details.get("workflow_type", "")) if isinstance(details, dict) else ""

    def install(self) -> FailureCounter:
        logging.getLogger(SDK_LOGGER).addHandler(self)
        return self

    def uninstall(self) -> None:
        logging.getLogger(SDK_LOGGER).removeHandler(self)


async def report_forever(counter: FailureCounter, pool: asyncpg.Pool, interval: float = 5.0) -> None:
    """Write this worker's count whenever it changed."""
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    reported = 0
    while True:
        if counter.failures != reported and counter.last_at is not None:
            try:
                await pool.execute(
                    """INSERT INTO workflow_task_failures VALUES ($1, $2, $3, $4)
                       ON CONFLICT (worker_id) DO UPDATE SET failures = EXCLUDED.failures,
                           last_failure_at = EXCLUDED.last_failure_at,
                           last_workflow_type = EXCLUDED.last_workflow_type""",
                    worker_id, counter.failures, counter.last_at, counter.last_type)
                reported = counter.failures
                log.warning("workflow task failures", total=reported, last_workflow_type=counter.last_type)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("task failure report not written", error=type(exc).__name__)
        await asyncio.sleep(interval)
