"""A step whose confirmation ran out, or a database connection cut under a route, answers a retryable 503 problem
(with ``Retry-After``), never a bare 500: clients retry 503 with the same Idempotency-Key and lose nothing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api import problems
from api.problems import ErrorCode, Refusal
from api.updates import run_update
from schemas.fbu import SignAgreement
from workflows.fbu_case import FbuCaseWorkflow


class _Handle:
    def __init__(self, error: BaseException, status: WorkflowExecutionStatus) -> None:
        self.error = error
        self.status = status

    async def execute_update(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error

    async def describe(self) -> Any:
        return SimpleNamespace(status=self.status)


class _Client:
    def __init__(self, error: BaseException, status: WorkflowExecutionStatus = WorkflowExecutionStatus.RUNNING) -> None:
        self.handle = _Handle(error, status)

    def get_workflow_handle(self, workflow_id: str) -> _Handle:
        return self.handle


async def test_an_update_not_confirmed_in_time_is_a_retryable_503() -> None:
    client: Any = _Client(WorkflowUpdateRPCTimeoutOrCancelledError())
    command = SignAgreement.model_validate({"party": "ocmw", "evidence": "getekend op papier"})
    with pytest.raises(Refusal) as refused:
        await run_update(client, "fbu-x", FbuCaseWorkflow.sign, command, "key-1")
    assert refused.value.status_code == 503
    assert refused.value.code == ErrorCode.ENGINE_UNAVAILABLE
    assert refused.value.headers == {"Retry-After": "2"}
    assert "same Idempotency-Key" in refused.value.detail


TASK_FAILED = "Unable to perform workflow execution update due to unexpected workflow task failure."


@pytest.mark.parametrize(("status", "answer", "code"),
                         [(WorkflowExecutionStatus.RUNNING, 503, ErrorCode.ENGINE_UNAVAILABLE),
                          (WorkflowExecutionStatus.COMPLETED, 409, ErrorCode.CASE_ENDED)])
async def test_a_step_dropped_with_a_refused_workflow_task_is_retryable_while_the_case_runs(
        status: WorkflowExecutionStatus, answer: int, code: ErrorCode) -> None:
    """The server drops an update delivered with a workflow task it did not accept; on a case that still runs
    that is a 503 to retry with the same key, not "case ended" (it was, before: one CI run failed on it)."""
    client: Any = _Client(RPCError(TASK_FAILED, RPCStatusCode.FAILED_PRECONDITION, b""), status)
    command = SignAgreement.model_validate({"party": "ocmw", "evidence": "getekend op papier"})
    with pytest.raises(Refusal) as refused:
        await run_update(client, "fbu-x", FbuCaseWorkflow.sign, command, "key-1")
    assert refused.value.status_code == answer
    assert refused.value.code == code


@pytest.mark.parametrize("error", [asyncpg.InterfaceError("connection is closed"),
                                   asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
                                   asyncpg.exceptions.CannotConnectNowError("starting up"),
                                   ConnectionResetError("reset"),
                                   asyncpg.InternalClientError("cannot switch to state 11; another operation (2) "
                                                               "is in progress")])
async def test_a_database_connection_cut_under_a_route_is_a_503_problem(error: Exception) -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        r = await http.get("/boom")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "2"
    assert r.json()["code"] == ErrorCode.DATABASE_UNAVAILABLE


async def test_another_internal_client_error_stays_a_500() -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise asyncpg.InternalClientError("an asyncpg bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        r = await http.get("/boom")
    assert r.status_code == 500
