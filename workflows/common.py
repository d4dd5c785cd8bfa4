"""Helpers shared by the case workflows: activity options, appending events, Brussels dates, typed errors.

Imported only by workflow modules; stdlib and temporalio only (schemas come through the passthrough).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.calendar import brussels_date, brussels_midnight
    from schemas.events import AppendEvents, DomainEvent, EventData, StreamWriter

from workflows.contracts import append_events

T = TypeVar("T")
A = TypeVar("A")
# Workflows started on this code append through local activities (no server round trip per append; several events
# of one step in one call) and record TopUpRequested; workflows started before keep the remote activities.
EVENTS_V2 = "events-v2-local-appends"

# A step checks its validator again once it holds the case's lock (``recheck``); histories from before keep applying
# a step that another step or a callback had overtaken.
RECHECK_UNDER_LOCK = "steps-recheck-under-lock"

# A run ends (completes or continues as new) in a workflow task that appended nothing. The server refuses a task
# that ends the run while a signal or update arrived during it, with all the task did; the appends its local
# activities had made would stay in the log for steps the workflow then never took (their callers were told so).
# Runs started before wait for their handlers only.
QUIET_END = "runs-end-in-a-task-without-appends"
NEXT_TASK = timedelta(milliseconds=1)  # the timer of ``next_task``

DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                       maximum_interval=timedelta(minutes=1))
HTTP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=5),
                         non_retryable_error_types=["PaymentRefused", "NetbeheerderRefused"])


def invalid(message: str) -> ApplicationError:
    """Bad input: the API answers 422 with this message."""
    return ApplicationError(message, type="InvalidInput", non_retryable=True)


def recheck(validator: Callable[[A], None], cmd: A) -> None:
    """Run an update's validator again under the lock that serialises the case's steps. Validators run when an
    update arrives; a step accepted while another one (or a callback) was being applied may no longer fit when its
    turn comes (two decisions on one claim, a request on a case just closed): it is refused as its validator would
    refuse it now, with nothing written."""
    try:
        validator(cmd)
    except ApplicationError:
        if workflow.patched(RECHECK_UNDER_LOCK):
            raise


def out_of_order(message: str) -> ApplicationError:
    """A step that does not fit the case's current state: the API answers 409 with this message."""
    return ApplicationError(message, type="StepOutOfOrder", non_retryable=True)


def today() -> date:
    """Today's calendar date in Brussels, from the workflow clock."""
    return brussels_date(workflow.now())


def until(day: date) -> timedelta:
    """Time from now until 00:00 Brussels on ``day`` (never negative)."""
    return max(brussels_midnight(day) - workflow.now(), timedelta(0))


async def emit(writer: StreamWriter, *bodies: EventData, at: datetime | None = None, local: bool = True,
               elsewhere: Sequence[DomainEvent] = ()) -> None:
    """Append the events of one step to the log, in one call (idempotent event ids, so safe to retry).

    ``elsewhere``: events of other streams that go in the same call (a case's step that opens a claim's stream).
    ``local=False`` keeps remote activity tasks (the claims: a payout's record is a task the server tracks, and
    local activities are re-run from scratch by a worker without a workflow cache)."""
    events = [writer.event(body, at or workflow.now()) for body in bodies] + list(elsewhere)
    if elsewhere and not (local and v2()):
        raise ValueError("events of other streams go only in one local append")
    if local and v2():
        await workflow.execute_local_activity(
            append_events, AppendEvents(events=events), start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY)
        writer.appended_in_task = workflow.info().get_current_history_length()
        return
    for event in events:  # the code these workflows started on: one remote activity per event
        await _append_remote(event)


async def handlers_done_in_a_quiet_task(writer: StreamWriter) -> None:
    """Wait until every handler has finished, in a workflow task that appended nothing through ``writer``: the
    run may then end or continue as new (``QUIET_END``)."""
    while True:
        await workflow.wait_condition(workflow.all_handlers_finished)
        if writer.appended_in_task != workflow.info().get_current_history_length() or not workflow.patched(QUIET_END):
            return
        await next_task()  # the task that appended is completed before the run ends


async def next_task() -> None:
    """Let the current workflow task complete: what follows runs in a task of its own (a 1 ms timer)."""
    await workflow.sleep(NEXT_TASK)


async def _append_remote(event: DomainEvent) -> None:
    await workflow.execute_activity(
        append_events, AppendEvents(events=[event]), start_to_close_timeout=timedelta(seconds=30),
        retry_policy=DB_RETRY)


async def lookup(declaration: Callable[[A], Awaitable[T]], arg: A) -> T:
    """A quick read in the worker (rule book, calendar): a local activity, or a remote one on the old path."""
    if v2():
        return await workflow.execute_local_activity(
            declaration, arg, start_to_close_timeout=timedelta(seconds=10), retry_policy=DB_RETRY)
    return await workflow.execute_activity(
        declaration, arg, start_to_close_timeout=timedelta(seconds=10), retry_policy=DB_RETRY)


async def read_book(declaration: Callable[[], Awaitable[T]]) -> T:
    """``lookup`` for a read without an argument (a whole rule book)."""
    if v2():
        return await workflow.execute_local_activity(
            declaration, start_to_close_timeout=timedelta(seconds=10), retry_policy=DB_RETRY)
    return await workflow.execute_activity(
        declaration, start_to_close_timeout=timedelta(seconds=10), retry_policy=DB_RETRY)


def v2() -> bool:
    """Whether this run is on the current code path (see ``EVENTS_V2``)."""
    return workflow.patched(EVENTS_V2)
