"""Turning an HTTP step into a Temporal update, and Temporal's answers into HTTP statuses.

The client's ``Idempotency-Key`` becomes the update id, so a retried request returns the first answer and adds
nothing to the case. Validator refusals map to 409 with the code ``step_out_of_order`` or ``invalid_for_case`` and their
message (``api/problems.py``); a step may have a refusal of its own (the energy minimal-supply restore request's
``minimal_supply_restore_automatic``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

import structlog
from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from api.problems import ErrorCode, Refusal
from workflows.energy_minimal_supply import RESTORE_IS_AUTOMATIC

Update = UpdateMethodMultiParam[[Any, Any], Any]  # a workflow's ``@workflow.update`` method, one command
log = structlog.get_logger(__name__)

CODE_FOR_TYPE = {"InvalidInput": ErrorCode.INVALID_FOR_CASE, "StepOutOfOrder": ErrorCode.STEP_OUT_OF_ORDER,
                 RESTORE_IS_AUTOMATIC: ErrorCode.MINIMAL_SUPPLY_RESTORE_AUTOMATIC}
ENDED = "This case or claim has ended; no further steps are possible."
NOT_CONFIRMED = ("The engine did not confirm the step in time (it may be waiting for the database or a worker); it may "
                 "still be applied. Repeat the request with the same Idempotency-Key to get its answer.")


def step_name(update: Update) -> str:
    """The update's name: every workflow update is registered under its method's name (a test checks it)."""
    return cast("Callable[..., Any]", update).__name__


def update_id(name: str, idempotency_key: str | None) -> str:
    return f"{name}:{idempotency_key}" if idempotency_key else f"{name}:{uuid.uuid4()}"


async def run_update(client: Client, workflow_id: str, update: Update, arg: BaseModel,
                     idempotency_key: str | None) -> Any:
    """Run ``update`` (the workflow's method: its name and result type come from it) with ``arg``."""
    name = step_name(update)
    handle = client.get_workflow_handle(workflow_id)
    structlog.contextvars.bind_contextvars(workflow_id=workflow_id)
    try:
        result: Any = await handle.execute_update(update, arg, id=update_id(name, idempotency_key))
        log.info("step applied", step=name, status=getattr(result, "status", None))
        return result
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        log.info("step refused", step=name, reason=getattr(cause, "type", None))
        if isinstance(cause, ApplicationError) and cause.type in CODE_FOR_TYPE:
            raise Refusal(CODE_FOR_TYPE[cause.type], cause.message) from exc
        raise Refusal(ErrorCode.ENGINE_FAILED, "The step failed inside the engine; it was not applied.") from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        # The server's wait for the update ran out (no worker took it in time, or its activity waits for
        # PostgreSQL): retryable, and a retry with the same key returns the step's first answer.
        log.warning("step not confirmed in time", step=name)
        raise Refusal(ErrorCode.ENGINE_UNAVAILABLE, NOT_CONFIRMED, headers={"Retry-After": "2"}) from exc
    except RPCError as exc:
        log.info("step not taken by the engine", step=name, rpc_status=exc.status.name, rpc_message=exc.message)
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION) and await _has_ended(handle):
            raise Refusal(ErrorCode.CASE_ENDED, ENDED) from exc
        if exc.status == RPCStatusCode.FAILED_PRECONDITION:
            # The server dropped the step with a workflow task it did not accept (the case is still running):
            # a retry with the same key applies it, or returns its answer.
            raise Refusal(ErrorCode.ENGINE_UNAVAILABLE, NOT_CONFIRMED, headers={"Retry-After": "2"}) from exc
        raise rpc_to_http(exc) from exc


async def _has_ended(handle: WorkflowHandle[Any, Any]) -> bool:
    """Servers word an update to a finished workflow differently; the workflow's own status is the truth."""
    try:
        description = await handle.describe()
    except RPCError:
        return False
    return description.status is not None and description.status != WorkflowExecutionStatus.RUNNING


def rpc_to_http(exc: RPCError) -> Refusal:
    if exc.status == RPCStatusCode.NOT_FOUND:
        if "completed" in exc.message.lower():
            return Refusal(ErrorCode.CASE_ENDED, ENDED)
        return Refusal(ErrorCode.NOT_FOUND, "Not found.")
    if exc.status == RPCStatusCode.FAILED_PRECONDITION or "already completed" in exc.message.lower():
        return Refusal(ErrorCode.CASE_ENDED, ENDED)
    return Refusal(ErrorCode.ENGINE_UNAVAILABLE, "The workflow engine is unavailable; nothing was changed. Try again.")
