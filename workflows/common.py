"""Helpers shared by the case workflows: activity options, appending events, Brussels dates, typed errors.

Imported only by workflow modules; stdlib and temporalio only (schemas come through the passthrough).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.calendar import brussels_date, brussels_midnight
    from schemas.events import AppendEvents, StreamWriter

DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                       maximum_interval=timedelta(minutes=1))
HTTP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=5),
                         non_retryable_error_types=["PaymentRefused", "NetbeheerderRefused"])


def invalid(message: str) -> ApplicationError:
    """Bad input: the API answers 422 with this message."""
    return ApplicationError(message, type="InvalidInput", non_retryable=True)


def out_of_order(message: str) -> ApplicationError:
    """A step that does not fit the case's current state: the API answers 409 with this message."""
    return ApplicationError(message, type="StepOutOfOrder", non_retryable=True)


def today() -> date:
    """Today's calendar date in Brussels, from the workflow clock."""
    return brussels_date(workflow.now())


def until(day: date) -> timedelta:
    """Time from now until 00:00 Brussels on ``day`` (never negative)."""
    return max(brussels_midnight(day) - workflow.now(), timedelta(0))


async def emit(writer: StreamWriter, type_: str, data: dict[str, Any], at: datetime | None = None) -> None:
    """Append one event to the log through the activity (idempotent, so safe to retry)."""
    event = writer.event(type_, data, at or workflow.now())
    await workflow.execute_activity(
        "append_events",
        AppendEvents(events=[event]),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=DB_RETRY,
    )
