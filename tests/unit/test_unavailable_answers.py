"""A step whose confirmation ran out, or a database connection cut under a route, answers a retryable 503 problem
(with ``Retry-After``), never a bare 500: clients retry 503 with the same Idempotency-Key and lose nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from api import problems
from api.problems import ErrorCode, Refusal
from api.updates import run_update
from schemas.fbu import SignAgreement
from workflows.fbu_case import FbuCaseWorkflow


class _Handle:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def execute_update(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


class _Client:
    def __init__(self, error: BaseException) -> None:
        self.handle = _Handle(error)

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


@pytest.mark.parametrize("error", [asyncpg.InterfaceError("connection is closed"),
                                   asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
                                   asyncpg.exceptions.CannotConnectNowError("starting up"),
                                   ConnectionResetError("reset")])
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
